using VmEcosystem.Cluster;

namespace VmEcosystem.Planning;

/// <summary>
/// The working copy of a cluster that one planning pass reads and tentatively changes: struct-of-arrays over
/// hosts and VMs (indexes, not ids, on the hot path), each host's VM list in scheduler order, a model of the
/// hosts' CPU schedulers (time-shared with over-subscription, as CloudSim's), and per-VM utilisation histories.
/// Tentative placements made while planning never touch the real cluster; a new state is captured for every pass.
/// </summary>
public sealed partial class PlanningState
{
    private double[] _hostHistorySum = [];
    private Dictionary<VmId, int>? _vmIndex;
    private int[] _hostHistoryLength = [];
    private bool[] _hostHistoryValid = [];

    /// <summary>Creates an empty state; call <see cref="Reset"/> to size it.</summary>
    public PlanningState()
    {
    }

    /// <summary>Simulated or wall time of the pass, seconds.</summary>
    public double Time { get; set; }

    /// <summary>Number of hosts.</summary>
    public int HostCount { get; private set; }

    /// <summary>Number of VMs (including ones that left the cluster; see <see cref="VmActive"/>).</summary>
    public int VmCount { get; private set; }

    /// <summary>Length of the VM histories.</summary>
    public int HistoryLength { get; private set; } = 30;

    /// <summary>Share of a migrating VM's request the target carries (CloudSim: 0.1).</summary>
    public double MigrationTargetShare { get; set; } = 0.1;

    /// <summary>Share of a migrating VM's CPU lost on the source (CloudSim: 0.1).</summary>
    public double MigrationDegradation { get; set; } = 0.1;

    // ---- hosts -------------------------------------------------------------------------------------------
    internal HostId[] HostIds = [];
    internal double[] HostTotalMips = [];
    internal double[] HostPeMips = [];
    internal int[] HostPes = [];
    internal double[] HostMemoryMiB = [];
    internal double[] HostBandwidthMbps = [];
    internal IPowerModel?[] HostPower = [];
    internal TopologyLocation[] HostLocation = [];
    internal double[] HostUtilization = [];
    internal bool[] HostAcceptsVms = [];
    internal List<int>[] HostVms = [];
    internal double[] HostAvailableMips = [];
    internal bool[] HostOversubscribed = [];

    // ---- VMs ---------------------------------------------------------------------------------------------
    internal VmId[] VmIds = [];
    internal double[] VmTotalMips = [];
    internal int[] VmPes = [];
    internal double[] VmMemoryMiB = [];
    internal double[] VmRequestedMips = [];
    internal double[] VmAllocatedMips = [];
    internal int[] VmHost = [];
    internal int[] VmMigratingTo = [];
    internal bool[] VmActive = [];
    internal double[] VmHistory = [];
    internal int[] VmHistoryCount = [];
    internal int[] VmPriority = [];

    /// <summary>The identifier of host <paramref name="host"/>.</summary>
    public HostId HostId(int host) => HostIds[host];

    /// <summary>The identifier of VM <paramref name="vm"/>.</summary>
    public VmId VmId(int vm) => VmIds[vm];

    /// <summary>Total MIPS (MHz) of a host.</summary>
    public double HostCapacityMips(int host) => HostTotalMips[host];

    /// <summary>Host CPU utilisation measured at the last update (0..1); not changed by tentative moves.</summary>
    public double HostUtilizationAtUpdate(int host) => HostUtilization[host];

    /// <summary>The VMs on a host in scheduler order, including VMs migrating in.</summary>
    public IReadOnlyList<int> VmsOn(int host) => HostVms[host];

    /// <summary>Whether the host may receive VMs (not in maintenance or offline).</summary>
    public bool AcceptsVms(int host) => HostAcceptsVms[host];

    /// <summary>Zone and rack of a host.</summary>
    public TopologyLocation Location(int host) => HostLocation[host];

    /// <summary>Index of a VM id, or -1 (built on first use for this state).</summary>
    public int IndexOf(VmId vm)
    {
        if (_vmIndex is null || _vmIndex.Count != VmCount)
        {
            _vmIndex = new Dictionary<VmId, int>(VmCount);
            for (int v = 0; v < VmCount; v++)
            {
                _vmIndex[VmIds[v]] = v;
            }
        }

        return _vmIndex.TryGetValue(vm, out int i) ? i : -1;
    }

    /// <summary>Power model of a host.</summary>
    public IPowerModel? PowerModel(int host) => HostPower[host];

    /// <summary>Current CPU request of a VM, MIPS (uncapped).</summary>
    public double RequestedMips(int vm) => VmRequestedMips[vm];

    /// <summary>Configured MIPS of a VM.</summary>
    public double VmCapacityMips(int vm) => VmTotalMips[vm];

    /// <summary>Memory of a VM, MiB.</summary>
    public double VmMemory(int vm) => VmMemoryMiB[vm];

    /// <summary>Host index of a VM (the source while it migrates), or -1.</summary>
    public int HostOf(int vm) => VmHost[vm];

    /// <summary>True while a VM migrates.</summary>
    public bool IsMigrating(int vm) => VmMigratingTo[vm] >= 0;

    /// <summary>True while the VM is part of the cluster.</summary>
    public bool IsActive(int vm) => VmActive[vm];

    /// <summary>Target host index of a migrating VM, or -1.</summary>
    public int MigrationTargetOf(int vm) => VmMigratingTo[vm];

    /// <summary>vCPUs of a VM.</summary>
    public int VmCores(int vm) => VmPes[vm];

    /// <summary>MIPS the host's scheduler gives the VM now (its request capped by capacity and contention).</summary>
    public double AllocatedMips(int vm) => VmAllocatedMips[vm];

    /// <summary>Relative importance of a VM (higher first).</summary>
    public int Priority(int vm) => VmPriority[vm];

    /// <summary>Cores of a host.</summary>
    public int HostCores(int host) => HostPes[host];

    /// <summary>MIPS (MHz) of one core of a host.</summary>
    public double HostCoreMips(int host) => HostPeMips[host];

    /// <summary>Memory of a host, MiB.</summary>
    public double HostMemory(int host) => HostMemoryMiB[host];

    /// <summary>Network bandwidth of a host, Mbit/s.</summary>
    public double HostBandwidth(int host) => HostBandwidthMbps[host];

    /// <summary>MIPS of a host not requested by its VMs (tentative moves of the pass included).</summary>
    public double AvailableMips(int host) => HostAvailableMips[host];

    /// <summary>True when a host's VMs request more than its capacity.</summary>
    public bool IsOversubscribed(int host) => HostOversubscribed[host];

    /// <summary>The VM's CPU-utilisation history, newest first (fractions of its MIPS).</summary>
    public ReadOnlySpan<double> History(int vm) =>
        new(VmHistory, vm * HistoryLength, VmHistoryCount[vm]);

    /// <summary>Sizes every array for <paramref name="hosts"/> hosts and <paramref name="vms"/> VMs and clears all state.</summary>
    public void Reset(int hosts, int vms, int historyLength)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(hosts);
        ArgumentOutOfRangeException.ThrowIfNegative(vms);
        ArgumentOutOfRangeException.ThrowIfLessThan(historyLength, 1);
        if (hosts != HostCount || HostVms.Length != hosts || historyLength != HistoryLength)
        {
            HostIds = new HostId[hosts];
            HostTotalMips = new double[hosts];
            HostPeMips = new double[hosts];
            HostPes = new int[hosts];
            HostMemoryMiB = new double[hosts];
            HostBandwidthMbps = new double[hosts];
            HostPower = new IPowerModel?[hosts];
            HostLocation = new TopologyLocation[hosts];
            HostUtilization = new double[hosts];
            HostAcceptsVms = new bool[hosts];
            HostAvailableMips = new double[hosts];
            HostOversubscribed = new bool[hosts];
            HostDiskIops = new double[hosts];
            HostVms = new List<int>[hosts];
            for (int h = 0; h < hosts; h++)
            {
                HostVms[h] = new List<int>(4);
            }

            _hostHistorySum = new double[hosts * historyLength];
            _hostHistoryLength = new int[hosts];
            _hostHistoryValid = new bool[hosts];
        }
        else
        {
            foreach (var list in HostVms)
            {
                list.Clear();
            }

            Array.Clear(_hostHistoryValid);
        }

        if (vms != VmCount || VmIds.Length != vms || historyLength != HistoryLength)
        {
            VmIds = new VmId[vms];
            VmTotalMips = new double[vms];
            VmPes = new int[vms];
            VmMemoryMiB = new double[vms];
            VmRequestedMips = new double[vms];
            VmAllocatedMips = new double[vms];
            VmHost = new int[vms];
            VmMigratingTo = new int[vms];
            VmActive = new bool[vms];
            VmHistory = new double[vms * historyLength];
            VmHistoryCount = new int[vms];
            VmPriority = new int[vms];
            AllocateUsage(vms);
        }

        HostCount = hosts;
        VmCount = vms;
        HistoryLength = historyLength;
        _vmIndex = null;
    }

    /// <summary>Sets a host's static description.</summary>
    public void SetHost(int host, HostId id, double totalMips, int pes, double memoryMiB, double bandwidthMbps, IPowerModel? power, bool acceptsVms,
        TopologyLocation? location = null)
    {
        HostLocation[host] = location ?? TopologyLocation.Default;
        HostIds[host] = id;
        HostTotalMips[host] = totalMips;
        HostPes[host] = pes;
        HostPeMips[host] = totalMips / pes;
        HostMemoryMiB[host] = memoryMiB;
        HostBandwidthMbps[host] = bandwidthMbps;
        HostPower[host] = power;
        HostAcceptsVms[host] = acceptsVms;
        HostDiskIops[host] = 0;
    }

    /// <summary>Sets a host's measured state: utilisation at the last update and its scheduler's free MIPS.</summary>
    public void SetHostState(int host, double utilization, double availableMips, bool oversubscribed)
    {
        HostUtilization[host] = utilization;
        HostAvailableMips[host] = availableMips;
        HostOversubscribed[host] = oversubscribed;
        _hostHistoryValid[host] = false;
    }

    /// <summary>Sets a VM's description and measured state. Call <see cref="AppendToHost"/> to put it in host lists.</summary>
    public void SetVm(int vm, VmId id, double totalMips, int pes, double memoryMiB, double requestedMips, double allocatedMips,
        int host, int migratingTo, bool active, int priority = 0)
    {
        VmIds[vm] = id;
        VmTotalMips[vm] = totalMips;
        VmPes[vm] = pes;
        VmMemoryMiB[vm] = memoryMiB;
        VmRequestedMips[vm] = requestedMips;
        VmAllocatedMips[vm] = allocatedMips;
        VmHost[vm] = host;
        VmMigratingTo[vm] = migratingTo;
        VmActive[vm] = active;
        VmPriority[vm] = priority;
        ClearUsage(vm);
    }

    /// <summary>Copies a VM's history (newest first; longer inputs are truncated).</summary>
    public void SetHistory(int vm, ReadOnlySpan<double> newestFirst)
    {
        int n = Math.Min(newestFirst.Length, HistoryLength);
        newestFirst[..n].CopyTo(VmHistory.AsSpan(vm * HistoryLength, n));
        VmHistoryCount[vm] = n;
    }

    /// <summary>Empties every host's VM list (before capturing new placements into the same state).</summary>
    public void ClearPlacements()
    {
        foreach (var list in HostVms)
        {
            list.Clear();
        }

        Array.Clear(_hostHistoryValid);
    }

    /// <summary>Appends a VM to a host's list (used while capturing the cluster).</summary>
    public void AppendToHost(int host, int vm)
    {
        HostVms[host].Add(vm);
        _hostHistoryValid[host] = false;
    }

    // ---- CloudSim-style scheduler model -----------------------------------------------------------------

    /// <summary>The request a host's scheduler sees for a VM: capped at one core per vCPU.</summary>
    internal double CappedRequest(int vm, int host)
    {
        double perPe = VmRequestedMips[vm] / VmPes[vm];
        double pe = HostPeMips[host];
        return (perPe > pe ? pe : perPe) * VmPes[vm];
    }

    /// <summary>
    /// CloudSim's <c>isSuitableForVm</c> for the CPU: one core can hold a vCPU's request and the scheduler has
    /// the VM's whole request free.
    /// </summary>
    public bool HasCpuFor(int vm, int host) =>
        HostPeMips[host] >= VmRequestedMips[vm] / VmPes[vm] && HostAvailableMips[host] >= VmRequestedMips[vm];

    /// <summary>
    /// MIPS the host's scheduler has allocated, counting VMs migrating in at their full share
    /// (CloudSim's <c>getUtilizationOfCpuMips</c> in the allocation policy).
    /// </summary>
    public double AllocatedMipsIncludingIncoming(int host)
    {
        double sum = 0;
        var list = HostVms[host];
        for (int i = 0; i < list.Count; i++)
        {
            int v = list[i];
            sum += VmMigratingTo[v] == host ? CappedRequest(v, host) : VmAllocatedMips[v];
        }

        return sum;
    }

    /// <summary>Sum of the current requests of every VM in the host's list (CloudSim's THR input), MIPS.</summary>
    public double RequestedMipsOn(int host)
    {
        double sum = 0;
        var list = HostVms[host];
        for (int i = 0; i < list.Count; i++)
        {
            sum += VmRequestedMips[list[i]];
        }

        return sum;
    }

    /// <summary>Tentatively places a VM on a host (CloudSim's <c>vmCreate</c>): appended to the list and allocated.</summary>
    public void Place(int vm, int host)
    {
        var list = HostVms[host];
        list.Add(vm);
        VmHost[vm] = host;
        double eff = CappedRequest(vm, host);
        if (!HostOversubscribed[host] && HostAvailableMips[host] >= eff)
        {
            VmAllocatedMips[vm] = eff;
            HostAvailableMips[host] -= eff;
        }
        else
        {
            Redistribute(host);
        }

        // Appending keeps the cached history sum exact: the list-order sum gains one last term.
        if (_hostHistoryValid[host])
        {
            AddHistoryTerm(host, vm);
        }
    }

    /// <summary>Tentatively removes a VM from a host (CloudSim's <c>vmDestroy</c>); the scheduler re-allocates the rest.</summary>
    public void Remove(int vm, int host)
    {
        HostVms[host].Remove(vm);
        if (VmHost[vm] == host)
        {
            VmHost[vm] = -1;
        }

        VmAllocatedMips[vm] = 0;
        Reallocate(host);
        _hostHistoryValid[host] = false;
    }

    private void Reallocate(int host)
    {
        var list = HostVms[host];
        double avail = HostTotalMips[host];
        bool over = false;
        for (int i = 0; i < list.Count; i++)
        {
            int v = list[i];
            double capped = CappedRequest(v, host);
            bool incoming = VmMigratingTo[v] == host;
            bool outgoing = VmMigratingTo[v] >= 0 && !incoming;
            double eff = incoming ? capped * MigrationTargetShare : capped;
            if (!over && avail >= eff)
            {
                VmAllocatedMips[v] = outgoing ? capped * (1 - MigrationDegradation) : eff;
                avail -= eff;
            }
            else
            {
                over = true;
            }
        }

        HostOversubscribed[host] = over;
        HostAvailableMips[host] = avail;
        if (over)
        {
            Redistribute(host);
        }
    }

    private void Redistribute(int host)
    {
        var list = HostVms[host];
        double total = 0;
        for (int i = 0; i < list.Count; i++)
        {
            int v = list[i];
            double capped = CappedRequest(v, host);
            total += VmMigratingTo[v] == host ? capped * MigrationTargetShare : capped;
        }

        double f = HostTotalMips[host] / total;
        for (int i = 0; i < list.Count; i++)
        {
            int v = list[i];
            double mips = CappedRequest(v, host);
            bool incoming = VmMigratingTo[v] == host;
            bool outgoing = VmMigratingTo[v] >= 0 && !incoming;
            if (outgoing)
            {
                mips *= f;
                mips *= 1 - MigrationDegradation;
            }
            else if (incoming)
            {
                mips *= MigrationTargetShare;
                mips *= f;
            }
            else
            {
                mips *= f;
            }

            VmAllocatedMips[v] = Math.Floor(mips);
        }

        HostOversubscribed[host] = true;
        HostAvailableMips[host] = 0;
    }

    // ---- host utilisation history (CloudSim's PowerHostUtilizationHistory) -------------------------------

    /// <summary>
    /// The host's CPU-utilisation history, newest first: the sum over the VMs in its list of each VM's history
    /// scaled by VM MIPS / host MIPS, with trailing zeros trimmed. Cached; exact in CloudSim's summation order.
    /// </summary>
    public ReadOnlySpan<double> HostHistory(int host)
    {
        if (!_hostHistoryValid[host])
        {
            RebuildHostHistory(host);
        }

        return new ReadOnlySpan<double>(_hostHistorySum, host * HistoryLength, _hostHistoryLength[host]);
    }

    /// <summary>
    /// Writes into <paramref name="destination"/> the host's history as if <paramref name="vm"/> were appended to
    /// its list, and returns its trimmed length.
    /// </summary>
    public int HostHistoryWith(int host, int vm, Span<double> destination)
    {
        if (!_hostHistoryValid[host])
        {
            RebuildHostHistory(host);
        }

        int l = HistoryLength;
        var sums = new ReadOnlySpan<double>(_hostHistorySum, host * l, l);
        sums.CopyTo(destination);
        int n = VmHistoryCount[vm];
        double scale = VmTotalMips[vm];
        double hostMips = HostTotalMips[host];
        int baseIndex = vm * l;
        for (int i = 0; i < n; i++)
        {
            destination[i] += VmHistory[baseIndex + i] * scale / hostMips;
        }

        return TrimmedLength(destination[..l]);
    }

    private void RebuildHostHistory(int host)
    {
        int l = HistoryLength;
        var sums = new Span<double>(_hostHistorySum, host * l, l);
        sums.Clear();
        var list = HostVms[host];
        double hostMips = HostTotalMips[host];
        for (int j = 0; j < list.Count; j++)
        {
            int v = list[j];
            int n = VmHistoryCount[v];
            double scale = VmTotalMips[v];
            int baseIndex = v * l;
            for (int i = 0; i < n; i++)
            {
                sums[i] += VmHistory[baseIndex + i] * scale / hostMips;
            }
        }

        _hostHistoryLength[host] = TrimmedLength(sums);
        _hostHistoryValid[host] = true;
    }

    private void AddHistoryTerm(int host, int vm)
    {
        int l = HistoryLength;
        var sums = new Span<double>(_hostHistorySum, host * l, l);
        int n = VmHistoryCount[vm];
        double scale = VmTotalMips[vm];
        double hostMips = HostTotalMips[host];
        int baseIndex = vm * l;
        for (int i = 0; i < n; i++)
        {
            sums[i] += VmHistory[baseIndex + i] * scale / hostMips;
        }

        _hostHistoryLength[host] = TrimmedLength(sums);
    }

    // CloudSim's MathUtil.trimZeroTail / countNonZeroBeginning.
    private static int TrimmedLength(ReadOnlySpan<double> data)
    {
        int i = data.Length - 1;
        while (i >= 0)
        {
            if (data[i--] != 0)
            {
                break;
            }
        }

        return i + 2 > data.Length ? data.Length : Math.Max(0, i + 2);
    }
}
