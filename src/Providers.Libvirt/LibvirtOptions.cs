using VmEcosystem.Cluster;

namespace VmEcosystem.Providers.Libvirt;

/// <summary>Settings of the libvirt provider (<c>builder.UseLibvirt(o => ...)</c>), validated at start.</summary>
public sealed class LibvirtOptions
{
    /// <summary>The hosts to manage, one libvirt connection each. At least one; names unique.</summary>
    public IList<LibvirtHostOptions> Hosts { get; set; } = [];

    /// <summary>Keep-alive probe interval of each connection (<c>virConnectSetKeepAlive</c>); zero turns probes off.</summary>
    public TimeSpan KeepAliveInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Unanswered keep-alive probes after which libvirt closes the connection (then it is reopened on the next call).</summary>
    public int KeepAliveCount { get; set; } = 3;

    /// <summary>
    /// Longest wait for one libvirt call (inventory, metrics, a lookup; not a running migration). A native call cannot
    /// be interrupted: one that overruns is abandoned and keeps its slot (<see cref="MaxCallsPerHost"/>) until it returns.
    /// </summary>
    public TimeSpan CallTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Longest wait for a connection to open (<c>virConnectOpen</c>); one open per host runs at a time.</summary>
    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>Most native calls running at once on one host: calls that hang never tie up more threads than this.</summary>
    public int MaxCallsPerHost { get; set; } = 8;

    /// <summary>Lifecycle events waiting to be handled; beyond it events are dropped and a resync is requested.</summary>
    public int EventQueueCapacity { get; set; } = 10_000;

    /// <summary>How often a running migration's job statistics are read for progress reports.</summary>
    public TimeSpan MigrationProgressInterval { get; set; } = TimeSpan.FromMilliseconds(250);

    /// <summary>
    /// CPU, disk and network figures are rates of libvirt's cumulative counters. A VM seen for the first time (or
    /// whose counters restarted, as CPU time does after a migration) is read twice this far apart.
    /// </summary>
    public TimeSpan FirstSampleInterval { get; set; } = TimeSpan.FromMilliseconds(250);

    /// <summary>
    /// Measure each running VM's dirty-page rate (<c>virDomainStartDirtyRateCalc</c>, QEMU's page sampling): every
    /// metrics read starts a measurement of <see cref="DirtyRatePeriod"/> whose result the next read reports. Off, or
    /// on a driver without it, samples carry no rate and the runtime estimates one from the workload class.
    /// </summary>
    public bool MeasureDirtyRate { get; set; } = true;

    /// <summary>How long one dirty-rate measurement samples the guest's pages (1 to 60 s).</summary>
    public TimeSpan DirtyRatePeriod { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// Pass <c>VIR_MIGRATE_UNSAFE</c>: needed when disks are not on storage libvirt recognises as shared
    /// (for example a local file both hosts see) and the disk cache mode is not <c>none</c>.
    /// </summary>
    public bool AllowUnsafeMigration { get; set; }

    /// <summary>
    /// Migrate peer-to-peer (<c>VIR_MIGRATE_PEER2PEER</c>): the source host's daemon connects to the destination's
    /// URI itself, so the destination's <see cref="LibvirtHostOptions.Uri"/> must be reachable from the source host.
    /// Off: the library drives both ends through its own connections (<c>virDomainMigrate3</c>).
    /// </summary>
    public bool PeerToPeerMigration { get; set; }

    /// <summary>
    /// Allow removing vCPUs from running VMs. Off by default: QEMU needs guest cooperation, and a timed-out unplug
    /// leaves the VM in a state that can break its next migration.
    /// </summary>
    public bool AllowVcpuUnplug { get; set; }

    /// <summary>
    /// Priority, SLO class and labels for VMs whose domain XML carries no <c>vmeco:vm</c> metadata element
    /// (<see cref="LibvirtVmClassification.Namespace"/>), by name pattern; the first matching entry applies.
    /// </summary>
    public IList<LibvirtVmDefaults> VmDefaults { get; set; } = [];
}

/// <summary>One libvirt host.</summary>
public sealed class LibvirtHostOptions
{
    /// <summary>The host's name in the inventory (its <c>HostId</c>).</summary>
    public string Name { get; set; } = string.Empty;

    /// <summary>
    /// libvirt connection URI: <c>qemu:///system</c>, <c>qemu+ssh://user@host/system</c>,
    /// <c>qemu+unix:///system?socket=/path</c>, or <c>test:///path/node.xml</c> for libvirt's test driver.
    /// Never logged (it may carry a user name).
    /// </summary>
    public string Uri { get; set; } = string.Empty;

    /// <summary>
    /// Where the migration stream to this host goes (<c>VIR_MIGRATE_PARAM_URI</c>, for example
    /// <c>tcp://10.0.0.12</c>); null lets libvirt use the host's name.
    /// </summary>
    public string? MigrationUri { get; set; }

    /// <summary>Address this host listens on for incoming migrations (<c>VIR_MIGRATE_PARAM_LISTEN_ADDRESS</c>); null: libvirt's default.</summary>
    public string? MigrationListenAddress { get; set; }

    /// <summary>Network capacity of the host, Mbit/s (libvirt does not report it).</summary>
    public double NetworkMbps { get; set; } = 10_000;

    /// <summary>Disk capacity of the host, IOPS (libvirt does not report it).</summary>
    public double DiskIops { get; set; } = 100_000;

    /// <summary>The host set (pool, cluster) the host belongs to, for per-set forecasts and headroom; null: none.</summary>
    public string? HostSet { get; set; }

    /// <summary>Free-form labels of the host (placement constraints can match them).</summary>
    public IDictionary<string, string> Labels { get; set; } = new Dictionary<string, string>(StringComparer.Ordinal);

    /// <summary>Availability zone, for topology-aware placement.</summary>
    public string Zone { get; set; } = "default";

    /// <summary>Rack, for topology-aware placement.</summary>
    public string Rack { get; set; } = "default";
}

/// <summary>Classification of the VMs whose names match a pattern (used where a domain has no metadata of its own).</summary>
public sealed class LibvirtVmDefaults
{
    /// <summary>Name pattern: <c>*</c> matches any run of characters, <c>?</c> one character (case-sensitive).</summary>
    public string NamePattern { get; set; } = "*";

    /// <summary>Relative importance within the SLO class (higher first).</summary>
    public int Priority { get; set; }

    /// <summary>Service level.</summary>
    public SloClass Slo { get; set; } = SloClass.Standard;

    /// <summary>Labels.</summary>
    public IDictionary<string, string> Labels { get; set; } = new Dictionary<string, string>(StringComparer.Ordinal);
}
