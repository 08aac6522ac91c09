using System.Collections.Concurrent;
using System.Runtime.InteropServices;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using VmEcosystem.Cluster;
using VmEcosystem.Hypervisor;
using VmEcosystem.Providers.Libvirt.Metrics;
using VmEcosystem.Providers.Libvirt.Native;

namespace VmEcosystem.Providers.Libvirt;

/// <summary>
/// The libvirt provider: one connection per configured host, domain names as VM ids. Every libvirt call runs on
/// a worker thread (libvirt calls block), and every failure leaves as a <see cref="HypervisorException"/> carrying
/// libvirt's code and message. Registered with <c>builder.UseLibvirt(...)</c>.
/// </summary>
internal sealed partial class LibvirtHypervisor : HypervisorProvider
{
    private readonly LibvirtOptions _options;
    private readonly Dictionary<HostId, LibvirtConnection> _connections = [];
    private readonly ConcurrentDictionary<HostId, LibvirtNative.NodeInfo> _nodeInfo = new();
    private readonly ConcurrentDictionary<HostId, int> _seenGeneration = new();
    private readonly Dictionary<VmId, HostId> _hostOf = [];
    private readonly Lock _placementGate = new();
    private readonly CounterRates<(HostId, string)> _vmRates = new();
    private readonly CounterRates<HostId> _hostRates = new();
    private long _inventoryVersion;

    public LibvirtHypervisor(LibvirtOptions options, TimeProvider timeProvider, ILogger<LibvirtHypervisor>? logger)
        : base("libvirt", timeProvider, logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options;
        _eventQueue = Channel.CreateBounded<DomainLifecycleEvent>(new BoundedChannelOptions(options.EventQueueCapacity)
        {
            SingleReader = true,
            FullMode = BoundedChannelFullMode.Wait, // TryWrite then fails instead of dropping silently: the overflow is noted
        });
        foreach (var host in options.Hosts)
        {
            LibvirtUris.RegisterSecrets(host.Uri);
            LibvirtUris.RegisterSecrets(host.MigrationUri);
            var connection = new LibvirtConnection(host, options, OnLifecycleEvent, OnConnectionClosed);
            _connections.Add(connection.Host, connection);
        }

        IsTestDriverOnly = _connections.Count > 0 && _connections.Values.All(c => c.IsTestDriver);
        Capabilities = IsTestDriverOnly ? TestDriverCapabilities : QemuCapabilities(options);
        _events = StartEventPump();
    }

    /// <summary>What libvirt's in-process test driver supports (no scheduler tunables, stats groups, jobs or migration).</summary>
    internal const HypervisorCapabilities TestDriverCapabilities =
        HypervisorCapabilities.Inventory | HypervisorCapabilities.InventoryEvents | HypervisorCapabilities.VmMetrics
        | HypervisorCapabilities.HostMetrics | HypervisorCapabilities.HotPlugCpu | HypervisorCapabilities.HotUnplugCpu
        | HypervisorCapabilities.HotPlugMemory | HypervisorCapabilities.MemoryReservation | HypervisorCapabilities.MemoryLimit
        | HypervisorCapabilities.DiskIopsLimit | HypervisorCapabilities.NetworkBandwidthLimit;

    /// <inheritdoc />
    public override HypervisorCapabilities Capabilities { get; }

    /// <summary>True when every host is a <c>test:///</c> URI.</summary>
    internal bool IsTestDriverOnly { get; }

    internal static HypervisorCapabilities QemuCapabilities(LibvirtOptions options)
    {
        var caps = HypervisorCapabilities.Inventory | HypervisorCapabilities.InventoryEvents | HypervisorCapabilities.VmMetrics
            | HypervisorCapabilities.DiskMetrics | HypervisorCapabilities.NetworkMetrics | HypervisorCapabilities.HostMetrics
            | HypervisorCapabilities.HotPlugCpu | HypervisorCapabilities.HotPlugMemory | HypervisorCapabilities.AllResourceControls
            | HypervisorCapabilities.LiveMigration | HypervisorCapabilities.MigrationProgress | HypervisorCapabilities.MigrationCancellation
            | HypervisorCapabilities.DirtyPageRate | HypervisorCapabilities.MigrationTuning;
        return options.AllowVcpuUnplug ? caps | HypervisorCapabilities.HotUnplugCpu : caps;
    }

    /// <summary>Closes one host's connection as if the daemon had dropped it (tests of reconnection).</summary>
    internal void DropConnection(HostId host) => Connection(host, "DropConnection").CloseNow();

    /// <inheritdoc />
    protected override async Task<InventorySnapshot> GetInventoryCoreAsync(CancellationToken cancellationToken)
    {
        var perHost = await Task.WhenAll(_connections.Values.Select(c => ReadHostAsync(c, cancellationToken))).ConfigureAwait(false);
        var hosts = new List<HostInfo>();
        var chosen = new Dictionary<VmId, (VmInfo Vm, HostId Host)>();
        lock (_placementGate)
        {
            foreach (var (host, vms) in perHost)
            {
                if (host is null)
                {
                    continue;
                }

                hosts.Add(host);
                foreach (var vm in vms)
                {
                    // During a migration the domain exists on both hosts (paused on the incoming side); the running
                    // copy is the VM, and on a tie the host we last saw it on wins.
                    if (!chosen.TryGetValue(vm.Id, out var current) || Prefer(vm, host.Id, current.Vm, current.Host))
                    {
                        chosen[vm.Id] = (vm, host.Id);
                    }
                }
            }

            foreach (var (id, (_, host)) in chosen)
            {
                _hostOf[id] = host;
            }

            foreach (var gone in _hostOf.Keys.Where(k => !chosen.ContainsKey(k)).ToArray())
            {
                if (_hostOf[gone] is var h && hosts.Any(x => x.Id == h && x.State == HostState.Online))
                {
                    _hostOf.Remove(gone);
                }
            }
        }

        return new InventorySnapshot(
            hosts,
            chosen.Values.Select(v => v.Vm).ToArray(),
            chosen.Select(kv => new Placement(kv.Key, kv.Value.Host)).ToArray(),
            TimeProvider.GetUtcNow(),
            Interlocked.Increment(ref _inventoryVersion),
            [.. hosts.Where(h => h.HostSet is not null).GroupBy(h => h.HostSet!.Value).Select(g => new HostSet(g.Key, [.. g.Select(h => h.Id)]))]);
    }

    private bool Prefer(VmInfo candidate, HostId candidateHost, VmInfo current, HostId currentHost)
    {
        int rank(VmPowerState s) => s switch { VmPowerState.Running => 2, VmPowerState.Paused => 1, _ => 0 };
        int a = rank(candidate.State), b = rank(current.State);
        if (a != b)
        {
            return a > b;
        }

        return _hostOf.TryGetValue(candidate.Id, out var known) && known == candidateHost && known != currentHost;
    }

    private async Task<(HostInfo? Host, List<VmInfo> Vms)> ReadHostAsync(LibvirtConnection c, CancellationToken ct)
    {
        try
        {
            return await OnHostAsync(c, ct, h =>
            {
                var node = ReadNodeInfo(c, h);
                var vms = new List<VmInfo>();
                foreach (var d in ListDomains(h))
                {
                    using (d)
                    {
                        if (TryDescribe(d, node, out var vm))
                        {
                            vms.Add(vm);
                        }
                    }
                }

                return ((HostInfo?)ToHostInfo(c, node, HostState.Online), vms);
            }).ConfigureAwait(false);
        }
        catch (HypervisorException ex) when (ex.Kind is HypervisorErrorKind.Unavailable or HypervisorErrorKind.Timeout)
        {
            // An unreachable host stays in the inventory as Offline (when it was ever seen) so nothing is placed on
            // it; its VMs are left out until it answers again.
            LogHostUnreachable(Logger, c.Host.Value, ex.Message);
            return (_nodeInfo.TryGetValue(c.Host, out var last) ? ToHostInfo(c, last, HostState.Offline) : null, []);
        }
    }

    private static HostInfo ToHostInfo(LibvirtConnection c, LibvirtNative.NodeInfo node, HostState state) =>
        new(c.Host, new ResourceVector(node.Cpus, node.Cpus * (double)node.Mhz, node.MemoryKiB / 1024.0, c.Options.NetworkMbps, c.Options.DiskIops))
        {
            State = state,
            Location = new TopologyLocation(c.Options.Zone, c.Options.Rack),
            HostSet = c.Options.HostSet is { } set ? new HostSetId(set) : null,
            Labels = new Dictionary<string, string>(c.Options.Labels ?? new Dictionary<string, string>(), StringComparer.Ordinal),
        };

    private LibvirtNative.NodeInfo ReadNodeInfo(LibvirtConnection c, ConnectionHandle h)
    {
        if (LibvirtNative.virNodeGetInfo(h, out var node) < 0)
        {
            throw LibvirtErrors.Fail($"Reading node information of host '{c.Host}'");
        }

        if (node.Cpus == 0 || node.Mhz == 0)
        {
            node.Mhz = node.Mhz == 0 ? 1000 : node.Mhz; // some drivers report 0 MHz; the planner needs a positive figure
            node.Cpus = Math.Max(1, node.Cpus);
        }

        _nodeInfo[c.Host] = node;
        return node;
    }

    internal static List<DomainHandle> ListDomains(ConnectionHandle h, uint flags = 0)
    {
        int n = LibvirtNative.virConnectListAllDomains(h, out IntPtr array, flags);
        if (n < 0)
        {
            throw LibvirtErrors.Fail("Listing domains");
        }

        var list = new List<DomainHandle>(n);
        try
        {
            for (int i = 0; i < n; i++)
            {
                list.Add(DomainHandle.Own(Marshal.ReadIntPtr(array, i * IntPtr.Size)));
            }
        }
        finally
        {
            LibvirtNative.free(array);
        }

        return list;
    }

    internal static DomainHandle Lookup(ConnectionHandle h, HostId host, VmId vm) =>
        TryLookup(h, vm.Value, out var error) ?? throw (error!.Code == LibvirtErrors.NoDomain
            ? new HypervisorException(HypervisorErrorKind.NotFound, $"VM '{vm}' does not exist on libvirt host '{host}'.", nativeCode: error.CodeName, innerException: error)
            : LibvirtErrors.ToHypervisorException(error, $"Looking up VM '{vm}' on host '{host}'"));

    /// <summary>The domain named <paramref name="name"/>, or null with libvirt's reason (this thread's error, already cleared).</summary>
    internal static DomainHandle? TryLookup(ConnectionHandle h, string name, out LibvirtException? error)
    {
        IntPtr p = LibvirtNative.virDomainLookupByName(h, name);
        error = p == IntPtr.Zero ? LibvirtErrors.Last("lookup failed") : null;
        return p == IntPtr.Zero ? null : DomainHandle.Own(p);
    }

    /// <summary>Describes a domain; false when it vanished while being read.</summary>
    internal bool TryDescribe(DomainHandle d, LibvirtNative.NodeInfo node, out VmInfo vm)
    {
        vm = null!;
        string? name = Marshal.PtrToStringUTF8(LibvirtNative.virDomainGetName(d));
        if (name is null || LibvirtNative.virDomainGetInfo(d, out var info) < 0)
        {
            LibvirtNative.virResetLastError();
            return false;
        }

        int vcpus = LibvirtNative.virDomainGetVcpusFlags(d, 0);
        int maxVcpus = LibvirtNative.virDomainGetVcpusFlags(d, LibvirtNative.VcpuMaximum);
        LibvirtNative.virResetLastError();
        vcpus = vcpus > 0 ? vcpus : Math.Max(1, (int)info.VirtCpus);
        maxVcpus = Math.Max(vcpus, maxVcpus);
        double coreMhz = node.Mhz;
        double memory = Math.Max(1, info.MemoryKiB / 1024.0);
        double maxMemory = Math.Max(memory, info.MaxMemKiB / 1024.0);
        vm = new VmInfo(new VmId(name), new ResourceVector(vcpus, vcpus * coreMhz, memory))
        {
            MaxAllocation = new ResourceVector(maxVcpus, maxVcpus * coreMhz, maxMemory),
            State = info.State switch
            {
                LibvirtNative.DomainRunning or LibvirtNative.DomainBlocked => VmPowerState.Running,
                LibvirtNative.DomainPaused or 7 => VmPowerState.Paused,
                _ => VmPowerState.Stopped,
            },
        };
        vm = Classify(d, vm);
        return true;
    }

    /// <summary>Runs a blocking libvirt call for one host on a worker thread, reopening the connection when it was lost.</summary>
    internal LibvirtConnection Connection(HostId host, string operation) =>
        _connections.TryGetValue(host, out var c) ? c : throw HostNotFound(host, operation);

    /// <summary>The connection of the host a VM runs on: the last known host first, then every host.</summary>
    internal async Task<LibvirtConnection> LocateAsync(VmId vm, string operation, CancellationToken ct)
    {
        HostId known;
        bool hinted;
        lock (_placementGate)
        {
            hinted = _hostOf.TryGetValue(vm, out known);
        }

        if (hinted && _connections.TryGetValue(known, out var hint))
        {
            try
            {
                if (await HasActiveDomainAsync(hint, vm, ct).ConfigureAwait(false) == true)
                {
                    return hint;
                }
            }
            catch (HypervisorException ex) when (ex.IsTransient)
            {
                // The last known host does not answer; the VM may have moved, so look everywhere else.
            }
        }

        HypervisorException? unreachable = null;
        LibvirtConnection? inactive = null;
        foreach (var c in _connections.Values)
        {
            bool? found;
            try
            {
                found = await HasActiveDomainAsync(c, vm, ct).ConfigureAwait(false);
            }
            catch (HypervisorException ex) when (ex.IsTransient)
            {
                unreachable = ex;
                continue;
            }

            if (found == true)
            {
                NoteHost(vm, c.Host);
                return c;
            }

            inactive ??= found == false ? c : null;
        }

        if (inactive is not null)
        {
            NoteHost(vm, inactive.Host);
            return inactive;
        }

        throw unreachable is not null
            ? new HypervisorException(HypervisorErrorKind.Unavailable,
                $"VM '{vm}' was not found on the reachable libvirt hosts, and at least one host is unreachable: {unreachable.Message}", innerException: unreachable)
            : VmNotFound(vm, operation);
    }

    /// <summary>True: defined and running/paused there; false: defined but shut off; null: not there.</summary>
    private Task<bool?> HasActiveDomainAsync(LibvirtConnection c, VmId vm, CancellationToken ct) =>
        OnHostAsync(c, ct, h =>
        {
            using var d = TryLookup(h, vm.Value, out var error);
            if (d is null)
            {
                return error!.Code == LibvirtErrors.NoDomain
                    ? (bool?)null
                    : throw LibvirtErrors.ToHypervisorException(error, $"Looking up VM '{vm}' on host '{c.Host}'");
            }

            return LibvirtNative.virDomainGetInfo(d, out var info) == 0 && info.State != LibvirtNative.DomainShutoff;
        });

    /// <summary>Records where a VM runs; true when that changed (so callers publish one VmMoved per move).</summary>
    internal bool NoteHost(VmId vm, HostId host)
    {
        lock (_placementGate)
        {
            bool changed = _hostOf.TryGetValue(vm, out var previous) && previous != host;
            _hostOf[vm] = host;
            return changed;
        }
    }

    /// <inheritdoc />
    protected override async ValueTask DisposeCoreAsync()
    {
        _eventQueue.Writer.TryComplete();
        _stopEvents.Cancel();
        try
        {
            // The pump ends at once when idle; a handler stuck in a native call is not waited for beyond a call timeout.
            await _events.WaitAsync(_options.CallTimeout).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            LogEventPumpAbandoned(Logger, _options.CallTimeout);
        }
        foreach (var c in _connections.Values)
        {
            c.Dispose();
        }
    }

    [LoggerMessage(EventId = 2000, Level = LogLevel.Warning, Message = "libvirt host {Host} is unreachable: {Reason}")]
    private static partial void LogHostUnreachable(ILogger logger, string host, string reason);
}
