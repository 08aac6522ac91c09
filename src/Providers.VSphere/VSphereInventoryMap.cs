using VmEcosystem.Cluster;
using VmEcosystem.Providers.VSphere.Soap;

namespace VmEcosystem.Providers.VSphere;

/// <summary>
/// Turns property-collector objects into the contract's hosts, VMs and host sets. Ids are managed object ids
/// (<c>host-34</c>, <c>vm-117</c>): vCenter keeps them for an object's life, while names can be changed and repeat.
/// </summary>
internal static class VSphereInventoryMap
{
    public const string ClusterLabel = "vsphere/cluster";
    public const string ResourcePoolLabel = "vsphere/resource-pool";

    public static readonly string[] HostPaths =
    [
        "name", "parent", "summary.hardware.numCpuCores", "summary.hardware.numCpuThreads", "summary.hardware.cpuMhz",
        "summary.hardware.memorySize", "runtime.inMaintenanceMode", "runtime.connectionState",
    ];

    public static readonly string[] VmPaths =
    [
        "name", "runtime.host", "runtime.powerState", "config.hardware.numCPU", "config.hardware.memoryMB", "config.cpuHotAddEnabled",
        "config.memoryHotAddEnabled", "config.hotPlugMemoryLimit", "config.template", "resourcePool",
    ];

    public static readonly string[] ClusterPaths = ["name", "resourcePool"];

    public static readonly string[] PoolPaths = ["name"];

    /// <summary>A host; null when the object lacks the hardware summary (a host still being added).</summary>
    public static HostInfo? Host(VimObject host, string? cluster, double networkMbps)
    {
        long cores = host.Long("summary.hardware.numCpuCores") ?? 0;
        long mhz = host.Long("summary.hardware.cpuMhz") ?? 0;
        long bytes = host.Long("summary.hardware.memorySize") ?? 0;
        if (cores < 1 || mhz <= 0 || bytes <= 0)
        {
            return null;
        }

        var state = host.Text("runtime.connectionState") is "connected" or null
            ? host.Bool("runtime.inMaintenanceMode") == true ? HostState.Maintenance : HostState.Online
            : HostState.Offline;
        return new HostInfo(new HostId(host.Obj.Value), new ResourceVector(cores, cores * (double)mhz, bytes / 1048576.0, networkMbps))
        {
            Name = host.Text("name") ?? host.Obj.Value,
            HostSet = cluster is null ? null : new HostSetId(cluster),
            Labels = HostLabels(host, cluster),
            State = state,
        };
    }

    /// <summary>
    /// A VM on <paramref name="host"/>; null for templates and VMs without hardware. The most it can be hot-plugged to
    /// is its size unless hot-add is on: then the host's threads and the VM's hot-plug memory limit (or the host's memory).
    /// </summary>
    public static VmInfo? Vm(VimObject vm, HostInfo host, string? pool)
    {
        long cpus = vm.Long("config.hardware.numCPU") ?? 0;
        long memory = vm.Long("config.hardware.memoryMB") ?? 0;
        if (cpus < 1 || memory <= 0 || vm.Bool("config.template") == true)
        {
            return null;
        }

        double coreMhz = host.CoreMhz;
        double maxCpus = vm.Bool("config.cpuHotAddEnabled") == true ? Math.Max(cpus, ThreadsOf(host)) : cpus;
        double maxMemory = vm.Bool("config.memoryHotAddEnabled") == true
            ? Math.Max(memory, vm.Long("config.hotPlugMemoryLimit") is > 0 and var limit ? limit : (long)host.Capacity.MemoryMiB)
            : memory;
        var labels = new Dictionary<string, string>();
        if (pool is not null)
        {
            labels[ResourcePoolLabel] = pool;
        }

        if (host.Labels.TryGetValue(ClusterLabel, out var cluster))
        {
            labels[ClusterLabel] = cluster;
        }

        return new VmInfo(new VmId(vm.Obj.Value), new ResourceVector(cpus, cpus * coreMhz, memory))
        {
            Name = vm.Text("name") ?? vm.Obj.Value,
            MaxAllocation = new ResourceVector(maxCpus, maxCpus * coreMhz, maxMemory),
            Labels = labels,
            State = vm.Text("runtime.powerState") switch
            {
                "poweredOn" => VmPowerState.Running,
                "suspended" => VmPowerState.Paused,
                _ => VmPowerState.Stopped,
            },
        };
    }

    /// <summary>Hardware threads are not part of <see cref="HostInfo"/>; the label keeps them for hot-add maxima.</summary>
    private static double ThreadsOf(HostInfo host) =>
        host.Labels.TryGetValue("vsphere/threads", out var t) && double.TryParse(t, System.Globalization.CultureInfo.InvariantCulture, out double n)
            ? n
            : host.Capacity.CpuCores;

    private static Dictionary<string, string> HostLabels(VimObject host, string? cluster)
    {
        var labels = new Dictionary<string, string>();
        if (cluster is not null)
        {
            labels[ClusterLabel] = cluster;
        }

        if (host.Long("summary.hardware.numCpuThreads") is { } threads)
        {
            labels["vsphere/threads"] = threads.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }

        return labels;
    }
}
