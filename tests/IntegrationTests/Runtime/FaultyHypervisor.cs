using System.Runtime.CompilerServices;
using VmEcosystem.Cluster;
using VmEcosystem.Hypervisor;
using VmEcosystem.Planning;
using VmEcosystem.Runtime;

namespace VmEcosystem.IntegrationTests.Runtime;

/// <summary>
/// Wraps a provider and breaks a seeded share of its calls: a call either fails at once with a transient error or
/// hangs until the caller gives up (the request never reaches the provider). Started migrations are, with the same
/// chance, aborted by the "hypervisor" shortly after they start. Independently of the runtime, it records what
/// really ran: migrations running at once per host and in the cluster, and start times.
/// </summary>
internal sealed class FaultyHypervisor(IHypervisor inner, double faultShare, int seed, TimeProvider time) : IHypervisor, IPlanningStateSource
{
    private readonly Random _random = new(seed);
    private readonly Lock _gate = new();
    private readonly Dictionary<HostId, int> _perHost = [];
    private int _inCluster;

    public int FailedCalls { get; private set; }

    public int HungCalls { get; private set; }

    public int AbortedMigrations { get; private set; }

    public int PeakPerHost { get; private set; }

    public int PeakInCluster { get; private set; }

    public List<DateTimeOffset> MigrationStarts { get; } = [];

    public string Name => inner.Name;

    public HypervisorCapabilities Capabilities => inner.Capabilities;

    public Task<InventorySnapshot> GetInventoryAsync(CancellationToken cancellationToken = default) =>
        Faulty(nameof(GetInventoryAsync), inner.GetInventoryAsync, cancellationToken);

    public async IAsyncEnumerable<InventoryChange> WatchInventoryAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await Faulty<bool>(nameof(WatchInventoryAsync), _ => Task.FromResult(true), cancellationToken);
        await foreach (var change in inner.WatchInventoryAsync(cancellationToken))
        {
            // The feed itself breaks now and then (a dropped connection); the runtime must resubscribe.
            if (Roll() < faultShare / 50)
            {
                lock (_gate)
                {
                    FailedCalls++;
                }

                throw new HypervisorException(HypervisorErrorKind.Unavailable, "injected: change feed dropped", Name, nameof(WatchInventoryAsync));
            }

            yield return change;
        }
    }

    public Task<IReadOnlyList<VmMetricSample>> GetVmMetricsAsync(IReadOnlyCollection<VmId>? vms = null, CancellationToken cancellationToken = default) =>
        Faulty(nameof(GetVmMetricsAsync), ct => inner.GetVmMetricsAsync(vms, ct), cancellationToken);

    public Task<IReadOnlyList<HostMetricSample>> GetHostMetricsAsync(CancellationToken cancellationToken = default) =>
        Faulty(nameof(GetHostMetricsAsync), inner.GetHostMetricsAsync, cancellationToken);

    public Task<VmInfo> HotPlugAsync(VmId vm, HotPlugRequest request, CancellationToken cancellationToken = default) =>
        Faulty(nameof(HotPlugAsync), ct => inner.HotPlugAsync(vm, request, ct), cancellationToken);

    public Task<ResourceControls> GetResourceControlsAsync(VmId vm, CancellationToken cancellationToken = default) =>
        Faulty(nameof(GetResourceControlsAsync), ct => inner.GetResourceControlsAsync(vm, ct), cancellationToken);

    public Task<ResourceControls> SetResourceControlsAsync(VmId vm, ResourceControls controls, CancellationToken cancellationToken = default) =>
        Faulty(nameof(SetResourceControlsAsync), ct => inner.SetResourceControlsAsync(vm, controls, ct), cancellationToken);

    public Task<DateTimeOffset> CapturePlanningStateAsync(PlanningState state, CancellationToken cancellationToken = default) =>
        Faulty(nameof(CapturePlanningStateAsync), ct => ((IPlanningStateSource)inner).CapturePlanningStateAsync(state, ct), cancellationToken);

    public async Task<IMigrationOperation> StartMigrationAsync(MigrationRequest request, CancellationToken cancellationToken = default)
    {
        var operation = await Faulty(nameof(StartMigrationAsync), ct => inner.StartMigrationAsync(request, ct), cancellationToken);
        bool abort = Roll() < faultShare;
        lock (_gate)
        {
            MigrationStarts.Add(time.GetUtcNow());
            _inCluster++;
            PeakInCluster = Math.Max(PeakInCluster, _inCluster);
            foreach (var host in new[] { operation.Source, operation.Target })
            {
                _perHost[host] = _perHost.GetValueOrDefault(host) + 1;
                PeakPerHost = Math.Max(PeakPerHost, _perHost[host]);
            }
        }

        // The caller sees the migration end only after it is uncounted here, so the counts never lag behind its view.
        var tracked = new TrackedOperation(operation, operation.Completion.ContinueWith(t =>
        {
            lock (_gate)
            {
                _inCluster--;
                _perHost[operation.Source]--;
                _perHost[operation.Target]--;
            }

            return t.Result;
        }, TaskScheduler.Default));
        if (abort)
        {
            lock (_gate)
            {
                AbortedMigrations++;
            }

            // The hypervisor aborts the copy: the VM must stay on its source and the runtime must record it.
            await operation.CancelAsync(CancellationToken.None);
        }

        return tracked;
    }

    private sealed class TrackedOperation(IMigrationOperation inner, Task<MigrationResult> completion) : IMigrationOperation
    {
        public string Id => inner.Id;

        public VmId Vm => inner.Vm;

        public HostId Source => inner.Source;

        public HostId Target => inner.Target;

        public MigrationProgress Progress => inner.Progress;

        public Task<MigrationResult> Completion => completion;

        public IAsyncEnumerable<MigrationProgress> WatchProgressAsync(CancellationToken cancellationToken = default) => inner.WatchProgressAsync(cancellationToken);

        public Task CancelAsync(CancellationToken cancellationToken = default) => inner.CancelAsync(cancellationToken);
    }

    private double Roll()
    {
        lock (_gate)
        {
            return _random.NextDouble();
        }
    }

    private async Task<T> Faulty<T>(string operation, Func<CancellationToken, Task<T>> call, CancellationToken cancellationToken)
    {
        double roll = Roll();
        if (roll < faultShare / 2)
        {
            lock (_gate)
            {
                FailedCalls++;
            }

            throw new HypervisorException(HypervisorErrorKind.Unavailable, $"injected: {operation} failed", Name, operation);
        }

        if (roll < faultShare)
        {
            lock (_gate)
            {
                HungCalls++;
            }

            // Hangs until the caller's timeout or cancellation; the request never reaches the provider.
            await Task.Delay(Timeout.Infinite, cancellationToken);
        }

        return await call(cancellationToken);
    }
}
