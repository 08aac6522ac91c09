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
internal sealed class FaultyHypervisor(IHypervisor inner, double faultShare, int seed, TimeProvider time, double lostAnswerShare = 0, PlacementConstraints? rules = null)
    : IHypervisor, IPlanningStateSource
{
    // Operations the provider really started, by id (an idempotent repeat of a start returns one already here).
    private readonly Dictionary<string, TrackedOperation> _operations = [];
    private readonly Dictionary<VmId, HostId> _inFlightTo = [];
    private volatile bool _severed;

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

    /// <summary>Calls whose request reached the provider and whose answer was then lost (the caller timed out).</summary>
    public int LostAnswers { get; private set; }

    /// <summary>Every migration the provider really started: VM, operation id, when.</summary>
    public List<(VmId Vm, string Operation, DateTimeOffset At)> Started { get; } = [];

    /// <summary>Migrations started onto a host holding (or receiving) an anti-affine peer, per <c>rules</c>.</summary>
    public List<string> AntiAffinityBreaks { get; } = [];

    /// <summary>Called (under the wrapper's lock) each time the provider really starts a migration, before its answer returns.</summary>
    public Action<IMigrationOperation>? AfterStart { get; set; }

    /// <summary>The process "dies": from now on every call hangs until its caller gives up, and nothing reaches the provider.</summary>
    public void Sever() => _severed = true;

    public string Name => inner.Name;

    public HypervisorCapabilities Capabilities => inner.Capabilities;

    public Task<InventorySnapshot> GetInventoryAsync(CancellationToken cancellationToken = default) =>
        Faulty(nameof(GetInventoryAsync), inner.GetInventoryAsync, cancellationToken);

    public async IAsyncEnumerable<InventoryChange> WatchInventoryAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await Faulty<bool>(nameof(WatchInventoryAsync), _ => Task.FromResult(true), cancellationToken);
        await foreach (var change in inner.WatchInventoryAsync(cancellationToken))
        {
            if (_severed)
            {
                await Task.Delay(Timeout.Infinite, cancellationToken); // a dead process hears nothing
            }

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
        var placements = rules is null ? null : (await inner.GetInventoryAsync(cancellationToken)).Placements;
        var operation = await Faulty(nameof(StartMigrationAsync), ct => inner.StartMigrationAsync(request, ct), cancellationToken,
            started: op => Note(op, placements));
        lock (_gate)
        {
            if (_operations.TryGetValue(operation.Id, out var known))
            {
                return known; // the same migration asked for again: counted once
            }
        }

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
                _inFlightTo.Remove(operation.Vm);
            }

            return t.Result;
        }, TaskScheduler.Default));
        lock (_gate)
        {
            _operations[operation.Id] = tracked;
        }

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

    // The test's own record of what the provider started, checked against the rules at that moment.
    private void Note(IMigrationOperation op, IReadOnlyList<Placement>? placements)
    {
        lock (_gate)
        {
            if (_operations.ContainsKey(op.Id) || Started.Any(s => s.Operation == op.Id))
            {
                return;
            }

            Started.Add((op.Vm, op.Id, time.GetUtcNow()));
            if (rules is not null && placements is not null)
            {
                foreach (var peer in rules.AntiAffine(op.Vm))
                {
                    if (placements.Any(p => p.Vm == peer && p.Host == op.Target) || _inFlightTo.GetValueOrDefault(peer) == op.Target)
                    {
                        AntiAffinityBreaks.Add($"{op.Vm} started onto {op.Target} where its anti-affine peer {peer} is at {time.GetUtcNow():O}");
                    }
                }
            }

            _inFlightTo[op.Vm] = op.Target;
            AfterStart?.Invoke(op);
        }
    }

    private async Task<T> Faulty<T>(string operation, Func<CancellationToken, Task<T>> call, CancellationToken cancellationToken, Action<T>? started = null)
    {
        if (_severed)
        {
            await Task.Delay(Timeout.Infinite, cancellationToken);
        }

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

        var result = await call(cancellationToken);
        started?.Invoke(result);
        if (roll < faultShare + lostAnswerShare || _severed)
        {
            lock (_gate)
            {
                LostAnswers++;
            }

            // The provider did it; its answer never comes back.
            await Task.Delay(Timeout.Infinite, cancellationToken);
        }

        return result;
    }
}
