#!/usr/bin/env bash
# setup-vcsim.sh - the project's copy of the validated recipe in the team's shared tools (tools/vcsim/setup.sh,
# same licence as this repository; notes in VCSIM-NOTES.md beside it), made idempotent for CI:
#
#   bash setup-vcsim.sh          # build vcsim + govc 0.24.2 once (Debian source package, offline, ~1 min), self-test
#   bash setup-vcsim.sh start    # ...and start one vcsim on 127.0.0.1:18989 (pid in $PREFIX/vcsim.pid)
#   bash setup-vcsim.sh stop     # stop that vcsim by PID
#
# The tests start their own vcsim per provider (a fresh inventory each, on a free loopback port, stopped by PID);
# they only need the binaries, which they build with this script when missing.
set -euo pipefail

PREFIX=${PREFIX:-/tmp/vmeco-vcsim}
PORT_SHARED=${VCSIM_PORT:-18989}
mode=${1:-build}
if [ "$mode" = stop ]; then
  if [ -f "$PREFIX/vcsim.pid" ]; then
    pid=$(cat "$PREFIX/vcsim.pid")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    rm -f "$PREFIX/vcsim.pid"
  fi
  exit 0
fi
start_shared() {
  if [ -f "$PREFIX/vcsim.pid" ] && kill -0 "$(cat "$PREFIX/vcsim.pid")" 2>/dev/null; then return 0; fi
  "$PREFIX/bin/vcsim" -l "127.0.0.1:$PORT_SHARED" >"$PREFIX/vcsim.log" 2>&1 &
  echo $! > "$PREFIX/vcsim.pid"
  echo "vcsim on https://127.0.0.1:$PORT_SHARED/sdk (pid $(cat "$PREFIX/vcsim.pid"))"
}
if [ -x "$PREFIX/bin/vcsim" ] && [ -x "$PREFIX/bin/govc" ]; then
  echo "vcsim and govc already built in $PREFIX/bin"
  [ "$mode" = start ] && start_shared
  exit 0
fi
VERSION=0.24.2
SRCPKG=golang-github-vmware-govmomi
GOPATH_DIR=$PREFIX/gopath
TREE=$GOPATH_DIR/src/github.com/vmware/govmomi
export DEBIAN_FRONTEND=noninteractive

t0=$(date +%s)
mkdir -p "$PREFIX"/{bin,src,apt-src/etc,apt-src/lists/partial,apt-src/cache/archives/partial}

# 1. Toolchain + Go library deps from the binary archive ----------------------
if [ -z "${SKIP_APT_UPDATE:-}" ]; then
  apt-get -o DPkg::Lock::Timeout=600 update
fi
# golang-github-vmware-govmomi-dev pulls golang-github-google-uuid-dev (needed by vcsim);
# kr-pretty / davecgh-go-xdr / vmw-guestinfo are only needed for govc.
apt-get -o DPkg::Lock::Timeout=600 install -y --no-install-recommends \
  golang-go golang-github-vmware-govmomi-dev golang-github-google-uuid-dev \
  golang-github-kr-pretty-dev golang-github-davecgh-go-xdr-dev \
  golang-github-vmware-vmw-guestinfo-dev \
  xz-utils patch ca-certificates curl
t1=$(date +%s)

# 2. Source package (orig tarball contains vcsim/ and govc/) ------------------
# deb-src entries derived from the machine's own Debian sources (deb822 format), nothing else is named here
mkdir -p "$PREFIX/apt-src/parts"
sed 's/^Types: deb$/Types: deb-src/' /etc/apt/sources.list.d/debian.sources > "$PREFIX/apt-src/parts/debian-src.sources"
APTSRC=(-o Dir::Etc::SourceList=/dev/null
        -o Dir::Etc::SourceParts="$PREFIX/apt-src/parts"
        -o Dir::State::Lists="$PREFIX/apt-src/lists"
        -o Dir::Cache="$PREFIX/apt-src/cache"
        -o APT::Sandbox::User=root)
apt-get "${APTSRC[@]}" update
( cd "$PREFIX/src" && apt-get "${APTSRC[@]}" source --download-only "$SRCPKG=$VERSION-3" )

rm -rf "$TREE"
mkdir -p "$(dirname "$TREE")"
tar xJf "$PREFIX/src/${SRCPKG}_${VERSION}.orig.tar.xz" -C "$(dirname "$TREE")"
mv "$(dirname "$TREE")/govmomi-$VERSION" "$TREE"
# Apply Debian's patches (mostly test skips + an x509 error-detection fix) so the
# tree matches what Debian ships.
tar xJf "$PREFIX/src/${SRCPKG}_${VERSION}-3.debian.tar.xz" -C "$TREE"
( cd "$TREE" && while read -r p; do [ -n "$p" ] && patch -p1 --quiet < "debian/patches/$p"; done < debian/patches/series )
t2=$(date +%s)

# 3. Build in GOPATH mode (no modules, no network) ----------------------------
export GO111MODULE=off GOFLAGS= GOPROXY=off
export GOPATH="$GOPATH_DIR:/usr/share/gocode"
export GOCACHE="$PREFIX/gocache"
go version
go build -o "$PREFIX/bin/vcsim" github.com/vmware/govmomi/vcsim
t3=$(date +%s)
if [ -z "${SKIP_GOVC:-}" ]; then
  go build -o "$PREFIX/bin/govc" github.com/vmware/govmomi/govc
fi
t4=$(date +%s)

# 4. Self-test: start on loopback, RetrieveServiceContent, stop by PID ---------
if [ -z "${SKIP_SELFTEST:-}" ]; then
  PORT=${SELFTEST_PORT:-18989}
  "$PREFIX/bin/vcsim" -l "127.0.0.1:$PORT" >"$PREFIX/selftest-vcsim.log" 2>&1 &
  pid=$!
  ok=""
  for _ in $(seq 1 50); do
    if curl -sk -H 'Content-Type: text/xml' -H 'SOAPAction: "urn:vim25/6.5"' \
         --data-binary '<?xml version="1.0"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns="urn:vim25"><soapenv:Body><RetrieveServiceContent><_this type="ServiceInstance">ServiceInstance</_this></RetrieveServiceContent></soapenv:Body></soapenv:Envelope>' \
         "https://127.0.0.1:$PORT/sdk" 2>/dev/null | grep -q '<apiType>VirtualCenter</apiType>'; then ok=1; break; fi
    sleep 0.2
  done
  kill "$pid"; wait "$pid" 2>/dev/null || true
  [ -n "$ok" ] || { echo "SELFTEST FAILED (see $PREFIX/selftest-vcsim.log)"; exit 1; }
  echo "selftest: vcsim answered RetrieveServiceContent on 127.0.0.1:$PORT"
fi

echo "apt install: $((t1-t0))s  source fetch+extract: $((t2-t1))s  vcsim build: $((t3-t2))s  govc build: $((t4-t3))s  total: $((t4-t0))s"
ls -l "$PREFIX/bin"
[ "$mode" = start ] && start_shared
exit 0
