#!/bin/bash
# setup-libvirt.sh - the project's copy of the validated recipe in the team's shared tools
# (tools/libvirt/setup.sh, same licence as this repository). CI setup (Debian 12, root, no systemd needed, no KVM needed) for
# libvirt integration tests: two isolated libvirtd "hosts" (hosta, hostb) on
# one machine, running QEMU/TCG guests that boot a tiny Debian kernel +
# busybox initramfs, so vCPU hot-plug, balloon, stats and live migration can
# be exercised for real. The libvirt test driver (test:///...) needs only
# the first apt line (libvirt0 [+ libvirt-clients for virsh]).
#
#   bash setup-libvirt.sh            # install + build guest + start both daemons + define vm1 on hosta
#   bash setup-libvirt.sh packages   # only the packages (idempotent)
#   bash setup-libvirt.sh stop       # destroy VMs, stop both daemons (by PID), remove cgroups
# Idempotent: packages already installed are not fetched again, and daemons already running are kept.
#
# URIs afterwards:
#   qemu+unix:///system?socket=$BASE/hosta/run/libvirt-sock
#   qemu+unix:///system?socket=$BASE/hostb/run/libvirt-sock
set -euo pipefail
BASE=${BASE:-/tmp/vmeco-libvirt}
HOSTS="hosta hostb"
uri() { echo "qemu+unix:///system?socket=$BASE/$1/run/libvirt-sock"; }

stop_all() {
  for h in $HOSTS; do
    [ -f $BASE/$h/libvirtd.pid ] || continue
    pid=$(cat $BASE/$h/libvirtd.pid)
    if kill -0 $pid 2>/dev/null; then
      for d in $(virsh -c "$(uri $h)" list --name 2>/dev/null); do virsh -c "$(uri $h)" destroy $d >/dev/null || true; done
      kill $pid; for i in $(seq 50); do kill -0 $pid 2>/dev/null || break; sleep 0.1; done
    fi
    rm -f $BASE/$h/libvirtd.pid
    # remove the host's cgroup sub-trees (deepest first)
    for c in /sys/fs/cgroup/*/$h; do [ -d $c ] && find $c -depth -type d -exec rmdir {} \; 2>/dev/null || true; done
  done
}
if [ "${1:-}" = stop ]; then stop_all; exit 0; fi

running() { [ -f $BASE/$1/libvirtd.pid ] && kill -0 "$(cat $BASE/$1/libvirtd.pid)" 2>/dev/null && [ -S $BASE/$1/run/libvirt-sock ]; }

t0=$(date +%s)
# 1. packages (about 15 s here; ~35 packages), skipped when already installed
PKGS="libvirt0 libvirt-clients libvirt-daemon libvirt-daemon-driver-qemu qemu-system-x86 qemu-utils"
# (two test projects may ask at once on a fresh machine: one apt run at a time)
exec 9>/tmp/vmeco-libvirt-apt.lock
flock 9
if ! dpkg -s $PKGS >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq -o DPkg::Lock::Timeout=600 --no-install-recommends $PKGS >/dev/null
fi
flock -u 9
if [ "${1:-}" = packages ]; then exit 0; fi
# libvirt's QEMU driver refuses to initialise unless its build-time user exists
# (libvirt-daemon-system would create it, but also tries to start services).
getent group libvirt-qemu >/dev/null || groupadd -r libvirt-qemu
getent passwd libvirt-qemu >/dev/null || useradd -r -g libvirt-qemu -d /var/lib/libvirt -s /usr/sbin/nologin libvirt-qemu
t1=$(date +%s)

# 2. guest: Debian cloud kernel + busybox initramfs that loads virtio_balloon/virtio_blk,
#    onlines hot-plugged CPUs and reads the disk every 2 s (no network driver: guest sends nothing).
G=$BASE/guest; mkdir -p $G
if [ ! -f $G/initrd.gz ]; then
  KPKG=$(apt-cache depends linux-image-cloud-amd64 | awk '/Depends: linux-image-[0-9]/{print $2; exit}')
  (cd $G && apt-get download -q "$KPKG" busybox-static 2>/dev/null)
  dpkg-deb -x $G/linux-image-*.deb $G/k; dpkg-deb -x $G/busybox-static_*.deb $G/bb
  cp $G/k/boot/vmlinuz-* $G/vmlinuz
  M=$(echo $G/k/lib/modules/*/kernel)
  R=$G/initrd; rm -rf $R; mkdir -p $R/bin $R/proc $R/sys $R/dev $R/lib/modules
  cp $G/bb/bin/busybox $R/bin/
  for m in drivers/virtio/virtio_ring drivers/virtio/virtio drivers/virtio/virtio_pci_modern_dev \
           drivers/virtio/virtio_pci_legacy_dev drivers/virtio/virtio_pci drivers/virtio/virtio_balloon drivers/block/virtio_blk; do
    cp $M/$m.ko $R/lib/modules/
  done
  cat > $R/init <<'EOF'
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t devtmpfs dev /dev
for m in virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci virtio_balloon virtio_blk; do insmod /lib/modules/$m.ko; done
echo "GUEST-UP cpus=$(ls -d /sys/devices/system/cpu/cpu[0-9]* | wc -l)"
n=0
while true; do
  for c in /sys/devices/system/cpu/cpu*/online; do [ -e $c ] && [ "$(cat $c)" = 0 ] && echo 1 > $c && echo "onlined $c"; done
  [ -b /dev/vda ] && dd if=/dev/vda of=/dev/null bs=64k count=8 skip=$((n % 128)) iflag=direct 2>/dev/null
  n=$((n+1)); [ $((n % 15)) = 0 ] && echo "tick $n online=$(cat /sys/devices/system/cpu/online) $(grep MemTotal /proc/meminfo)"
  sleep 2
done
EOF
  chmod +x $R/init
  (cd $R && find . | $G/bb/bin/busybox cpio -o -H newc 2>/dev/null | gzip -1) > $G/initrd.gz
  rm -rf $G/k $G/bb $G/*.deb
fi
[ -f $G/disk.qcow2 ] || qemu-img create -q -f qcow2 $G/disk.qcow2 64M
t2=$(date +%s)

# 3. two isolated privileged libvirtd "hosts".
#  - state in $BASE/<host>/{etc,run,lib,log,cache}, bind-mounted over /etc/libvirt, /run/libvirt, ...
#    inside a private mount namespace (nothing under the real /etc/libvirt is touched)
#  - own UTS namespace -> own hostname, plus own host_uuid: libvirt accepts migrating between them
#  - own cgroup sub-tree + cgroup namespace with re-mounted cgroupfs: VMs go to /<host>/machine/...,
#    so identical domain IDs on the two daemons never collide during migration
#  - shared network namespace: migration data flows over 127.0.0.1 only
start_host() {
  local N=$1 UUID=$2 PORT_MIN=$3 D=$BASE/$1
  mkdir -p $D/etc $D/run $D/lib $D/log $D/cache
  # a socket left by an earlier daemon (killed, or a machine reused between runs) would end the wait below before
  # the new daemon listens: remove it so the wait is for this daemon's socket
  rm -f $D/run/libvirt-sock $D/run/libvirt-sock-ro $D/run/libvirt-admin-sock
  mkdir -p /etc/libvirt /run/libvirt /var/lib/libvirt /var/log/libvirt /var/cache/libvirt
  cat > $D/etc/libvirtd.conf <<EOC
host_uuid = "$UUID"
unix_sock_group = "root"
unix_sock_rw_perms = "0770"
auth_unix_rw = "none"
auth_unix_ro = "none"
listen_tls = 0
listen_tcp = 0
log_outputs = "3:file:/var/log/libvirt/libvirtd.log"
EOC
  # migration_address/migration_host may not be 127.0.0.1 (libvirt rejects it):
  # pass --migrateuri tcp://127.0.0.1:PORT --listen-address 127.0.0.1 on each migration instead.
  cat > $D/etc/qemu.conf <<EOC
user = "root"
group = "root"
dynamic_ownership = 0
remember_owner = 0
security_driver = "none"
stdio_handler = "file"
namespaces = [ ]
migration_port_min = $PORT_MIN
migration_port_max = $((PORT_MIN + 63))
EOC
  local CTRLS="" h
  for h in /sys/fs/cgroup/*/; do
    h=${h%/}; [ -e $h/cgroup.procs ] || continue
    mkdir -p $h/$N
    if [ -e $h/cpuset.cpus ]; then cat $h/cpuset.cpus > $h/$N/cpuset.cpus; cat $h/cpuset.mems > $h/$N/cpuset.mems; fi
    CTRLS="$CTRLS $(basename $h)"
  done
  /bin/sh -c "
    for c in $CTRLS; do echo \$\$ > /sys/fs/cgroup/\$c/$N/cgroup.procs; done
    exec unshare -m -u -C --propagation private /bin/sh -c '
      set -e
      hostname $N
      mount -t tmpfs cgroup_root /sys/fs/cgroup
      for c in $CTRLS; do
        mkdir -p /sys/fs/cgroup/\$c
        case \$c in
          unified) mount -t cgroup2 cgroup2 /sys/fs/cgroup/unified ;;
          systemd) mount -t cgroup -o none,name=systemd cgroup /sys/fs/cgroup/systemd ;;
          *) mount -t cgroup -o \$c cgroup /sys/fs/cgroup/\$c ;;
        esac
      done
      mount --bind $D/etc /etc/libvirt
      mount --bind $D/run /run/libvirt
      mount --bind $D/lib /var/lib/libvirt
      mount --bind $D/log /var/log/libvirt
      mount --bind $D/cache /var/cache/libvirt
      exec /usr/sbin/libvirtd -f /etc/libvirt/libvirtd.conf -p /run/libvirt/libvirtd.pid
    '
  " > $D/stdout.log 2>&1 &
  echo $! > $D/libvirtd.pid
  for i in $(seq 300); do [ -S $D/run/libvirt-sock ] && break; kill -0 $(cat $D/libvirtd.pid) 2>/dev/null || break; sleep 0.1; done
  # first connect probes QEMU capabilities (~7 s, cached after); retried while the daemon starts listening
  local ok=0
  for i in $(seq 30); do
    if virsh -q -c "$(uri $N)" version >/dev/null 2>&1; then ok=1; break; fi
    kill -0 $(cat $D/libvirtd.pid) 2>/dev/null || break
    sleep 1
  done
  if [ $ok = 0 ]; then
    echo "libvirtd $N did not start; its output and log:" >&2
    tail -n 30 $D/stdout.log $D/log/libvirtd.log >&2 2>/dev/null || true
    virsh -q -c "$(uri $N)" version >&2 || true
    exit 1
  fi
  echo "libvirtd $N pid $(cat $D/libvirtd.pid) uri $(uri $N)"
}
uuid_of() { case $1 in hosta) echo 11111111-1111-1111-1111-aaaaaaaaaaaa;; *) echo 22222222-2222-2222-2222-bbbbbbbbbbbb;; esac; }
port_of() { case $1 in hosta) echo 49152;; *) echo 49300;; esac; }
# `setup-libvirt.sh restart HOST`: stop that host's daemon (its guests keep running, as on a real host) and start
# it again on the same state; used by the test of the event stream across a daemon restart.
if [ "${1:-}" = restart ]; then
  h=${2:?restart needs a host name}
  pid=$(cat $BASE/$h/libvirtd.pid)
  kill $pid; for i in $(seq 100); do kill -0 $pid 2>/dev/null || break; sleep 0.1; done
  rm -f $BASE/$h/run/libvirt-sock
  start_host $h $(uuid_of $h) $(port_of $h)
  exit 0
fi
if running hosta && running hostb; then
  echo "libvirtd hosta and hostb already running"
else
  stop_all
  start_host hosta 11111111-1111-1111-1111-aaaaaaaaaaaa 49152
  start_host hostb 22222222-2222-2222-2222-bbbbbbbbbbbb 49300
fi
t3=$(date +%s)

# 4. the test VM (TCG; 1 of max 4 vCPUs; 256 MiB with balloon; qcow2 disk; tap NIC with no IP)
cat > $BASE/vm1.xml <<EOF
<domain type='qemu'>
  <name>vm1</name>
  <memory unit='MiB'>256</memory>
  <currentMemory unit='MiB'>256</currentMemory>
  <vcpu placement='static' current='1'>4</vcpu>
  <os>
    <type arch='x86_64' machine='pc'>hvm</type>
    <kernel>$G/vmlinuz</kernel>
    <initrd>$G/initrd.gz</initrd>
    <cmdline>console=ttyS0 quiet</cmdline>
  </os>
  <features><acpi/><apic/></features>
  <cpu mode='custom' match='exact'><model fallback='allow'>qemu64</model></cpu>
  <cputune><shares>1024</shares></cputune>
  <on_reboot>destroy</on_reboot>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2' cache='none'/>
      <source file='$G/disk.qcow2'/>
      <target dev='vda' bus='virtio'/>
    </disk>
    <interface type='ethernet'><model type='virtio'/></interface>
    <serial type='file'><source path='$BASE/vm1-console.log' append='on'/></serial>
    <memballoon model='virtio'><stats period='2'/></memballoon>
  </devices>
</domain>
EOF
# vm1 is defined on hosta unless it already exists on either host (tests reset it themselves).
if ! virsh -q -c "$(uri hosta)" dominfo vm1 >/dev/null 2>&1 && ! virsh -q -c "$(uri hostb)" dominfo vm1 >/dev/null 2>&1; then
  virsh -q -c "$(uri hosta)" define $BASE/vm1.xml >/dev/null
fi
echo "setup: packages $((t1-t0))s, guest build $((t2-t1))s, daemons $((t3-t2))s, total $(( $(date +%s) - t0 ))s"
