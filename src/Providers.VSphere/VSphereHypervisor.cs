using Microsoft.Extensions.Logging;
using VmEcosystem.Cluster;
using VmEcosystem.Hypervisor;
using VmEcosystem.Providers.VSphere.Soap;

namespace VmEcosystem.Providers.VSphere;

/// <summary>
/// The vSphere provider: vCenter or ESXi through the Web Services API. Inventory from a container view read with
/// the property collector, changes from <c>WaitForUpdatesEx</c>, metrics from <c>PerformanceManager.QueryPerf</c>,
/// hot-add and controls through <c>ReconfigVM_Task</c>, vMotion through <c>RelocateVM_Task</c>; tasks are followed
/// with <c>WaitForUpdatesEx</c> on <c>info</c>, never by sleeping.
/// </summary>
internal sealed partial class VSphereHypervisor : HypervisorProvider
{
    private readonly VSphereOptions _options;
    private readonly HttpClient _http;
    private readonly VimSession _session;
    private readonly PropertyReader _reader;
    private readonly CancellationTokenSource _stopping = new();
    private readonly Task _watch;
    private long _version;
    private InventorySnapshot? _last;

    public VSphereHypervisor(VSphereOptions options, HttpClient http, TimeProvider timeProvider, ILogger? logger = null)
        : base("vsphere", timeProvider, logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(http);
        _options = options;
        _http = http;
        var soap = new SoapClient(http, options.Endpoint ?? throw new ArgumentException("VmEcosystem:VSphere:Endpoint is required.", nameof(options)),
            options.ApiVersion, options.RequestTimeout);
        _session = new VimSession(soap, options, timeProvider, Logger);
        _reader = new PropertyReader(_session, options.PageSize);
        _watch = options.WatchInventory ? Task.Run(() => WatchLoopAsync(_stopping.Token)) : Task.CompletedTask;
    }

    public override HypervisorCapabilities Capabilities =>
        HypervisorCapabilities.Inventory | (_options.WatchInventory ? HypervisorCapabilities.InventoryEvents : 0)
        | HypervisorCapabilities.VmMetrics | HypervisorCapabilities.DiskMetrics | HypervisorCapabilities.NetworkMetrics | HypervisorCapabilities.HostMetrics
        | HypervisorCapabilities.HotPlugCpu | HypervisorCapabilities.HotPlugMemory
        | HypervisorCapabilities.CpuShares | HypervisorCapabilities.CpuQuota | HypervisorCapabilities.MemoryReservation | HypervisorCapabilities.MemoryLimit
        | HypervisorCapabilities.DiskIopsLimit | HypervisorCapabilities.DiskWeight | HypervisorCapabilities.NetworkBandwidthLimit
        | HypervisorCapabilities.LiveMigration | HypervisorCapabilities.MigrationProgress | HypervisorCapabilities.MigrationCancellation;

    /// <summary>The session (tests reach the server through it).</summary>
    internal VimSession Session => _session;

    /// <summary>The property reader (tests check paging).</summary>
    internal PropertyReader Reader => _reader;

    protected override Task<InventorySnapshot> GetInventoryCoreAsync(CancellationToken cancellationToken) =>
        VimAsync("GetInventory", "inventory", () => ReadInventoryAsync(cancellationToken));

    private async Task<InventorySnapshot> ReadInventoryAsync(CancellationToken cancellationToken)
    {
        var objects = await _reader.ReadAllAsync(new Dictionary<string, string[]>
        {
            ["HostSystem"] = VSphereInventoryMap.HostPaths,
            ["VirtualMachine"] = VSphereInventoryMap.VmPaths,
            ["ClusterComputeResource"] = VSphereInventoryMap.ClusterPaths,
            ["ResourcePool"] = VSphereInventoryMap.PoolPaths,
        }, cancellationToken).ConfigureAwait(false);
        var snapshot = BuildSnapshot(objects);
        Volatile.Write(ref _last, snapshot);
        return snapshot;
    }

    /// <summary>Hosts (of the configured clusters), their VMs and the host sets, from one property read.</summary>
    private InventorySnapshot BuildSnapshot(IReadOnlyList<VimObject> objects)
    {
        var clusterNames = objects.Where(o => o.Obj.Type == "ClusterComputeResource").ToDictionary(o => o.Obj.Value, o => o.Text("name") ?? o.Obj.Value);
        var poolNames = objects.Where(o => o.Obj.Type == "ResourcePool").ToDictionary(o => o.Obj.Value, o => o.Text("name") ?? o.Obj.Value);
        var hosts = new Dictionary<string, HostInfo>(StringComparer.Ordinal);
        foreach (var o in objects.Where(o => o.Obj.Type == "HostSystem"))
        {
            string? cluster = o.Ref("parent") is { Type: "ClusterComputeResource" } parent && clusterNames.TryGetValue(parent.Value, out var n) ? n : null;
            if (_options.Clusters.Count > 0 && (cluster is null || !_options.Clusters.Contains(cluster)))
            {
                continue;
            }

            if (VSphereInventoryMap.Host(o, _options.HostSets == VSphereHostSetSource.Cluster ? cluster : null, _options.HostNetworkMbps) is { } host)
            {
                hosts[o.Obj.Value] = host;
            }
        }

        var vms = new List<VmInfo>();
        var placements = new List<Placement>();
        foreach (var o in objects.Where(o => o.Obj.Type == "VirtualMachine"))
        {
            if (o.Ref("runtime.host") is not { } where || !hosts.TryGetValue(where.Value, out var host))
            {
                continue;
            }

            string? pool = o.Ref("resourcePool") is { } p && poolNames.TryGetValue(p.Value, out var pn) ? pn : null;
            if (VSphereInventoryMap.Vm(o, host, pool) is { } vm)
            {
                vms.Add(vm);
                placements.Add(new Placement(vm.Id, host.Id));
            }
        }

        var hostList = hosts.Values.OrderBy(h => h.Id.Value, StringComparer.Ordinal).ToArray();
        var sets = hostList.Where(h => h.HostSet is not null).GroupBy(h => h.HostSet!.Value)
            .Select(g => new HostSet(g.Key, g.Select(h => h.Id).ToArray())).ToArray();
        return new InventorySnapshot(hostList, vms, placements, TimeProvider.GetUtcNow(), Interlocked.Increment(ref _version), sets);
    }

    /// <summary>The last inventory read, reading one when there is none yet.</summary>
    private async Task<InventorySnapshot> KnownInventoryAsync(CancellationToken cancellationToken) =>
        Volatile.Read(ref _last) ?? await GetInventoryCoreAsync(cancellationToken).ConfigureAwait(false);

    /// <summary>Runs a vim call and turns its faults into the contract's errors, naming what was acted on.</summary>
    private async Task<T> VimAsync<T>(string operation, string what, Func<Task<T>> call)
    {
        try
        {
            return await call().ConfigureAwait(false);
        }
        catch (VimFault fault)
        {
            throw fault.ToHypervisorException(Name, operation, what);
        }
    }

    protected override async ValueTask DisposeCoreAsync()
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        try
        {
            await _watch.WaitAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is OperationCanceledException or TimeoutException)
        {
        }

        await _session.DisposeAsync().ConfigureAwait(false);
        _stopping.Dispose();
        _http.Dispose();
    }
}
