using System.Collections.Concurrent;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using VmEcosystem.Cluster;
using VmEcosystem.Hosting;
using VmEcosystem.Hypervisor;
using VmEcosystem.Planning.Predictive;
using VmEcosystem.Runtime;
using VmEcosystem.Runtime.Audit;
using VmEcosystem.Runtime.Leadership;
using VmEcosystem.Simulation;

namespace VmEcosystem.PostgreSql.Tests;

/// <summary>
/// Runtime instances as separate replicas would run them: each with its own connections to one database (store and
/// election), one simulated cluster between them, one virtual clock. The provider records every migration it is
/// asked to start, by which instance, so checks are against what really ran.
/// </summary>
internal sealed class ReplicaHarness : IAsyncDisposable
{
    public static readonly TimeSpan LeaseTime = TimeSpan.FromSeconds(15), RenewInterval = TimeSpan.FromSeconds(5);

    private readonly ServiceProvider _cluster;

    public ReplicaHarness(string connection, string schema, int instances, int vms = 40, int hostSets = 0, int? hosts = null)
    {
        _cluster = new ServiceCollection()
            .AddSingleton<TimeProvider>(Clock)
            .AddVmEcosystem(b => b.UseSimulator(o =>
            {
                o.Synthetic = new SyntheticWorkloadOptions { VmCount = vms, Seed = 3 };
                o.HostSets = hostSets;
                o.HostCount = hosts ?? o.HostCount;
            }))
            .BuildServiceProvider();
        var simulator = _cluster.GetRequiredService<IHypervisor>();
        var storeOptions = new PostgreSqlStoreOptions { ConnectionString = connection, Schema = schema, LeaderElection = true };
        for (int i = 0; i < instances; i++)
        {
            string name = $"replica-{(char)('a' + i)}";
            var election = new FreezableElection(new PostgreSqlLeaderElection(storeOptions));
            var store = new PostgreSqlAuditStore(storeOptions);
            var options = new RuntimeOptions
            {
                Mode = ExecutionMode.Automatic,
                PlanOnForecastAbove = null,
                Leadership = new LeadershipOptions { Instance = name, LeaseTime = LeaseTime, RenewInterval = RenewInterval, ShardByHostSet = hostSets > 0 },
            };
            var runtime = new EcosystemRuntime(new RecordingHypervisor(simulator, name, Starts, Clock), PredictivePolicy.Create(new PredictiveOptions()), Options.Create(options), Clock,
                new RuntimeComponents { Audit = store, LeaderElection = election });
            Replicas.Add(new Replica(name, runtime, election, store));
        }
    }

    public VirtualClock Clock { get; } = new();

    public List<Replica> Replicas { get; } = [];

    /// <summary>Every migration start the provider received: instance, VM, source, target, when.</summary>
    public ConcurrentQueue<(string Instance, VmId Vm, HostId? Source, HostId Target, DateTimeOffset At)> Starts { get; } = new();

    /// <summary>The simulated cluster's inventory as the provider reports it.</summary>
    public Task<InventorySnapshot> Inventory(CancellationToken ct) => _cluster.GetRequiredService<IHypervisor>().GetInventoryAsync(ct);

    public IEnumerable<Replica> Leaders => Replicas.Where(r => r.Running && r.Runtime.Status.Leadership is { IsLeader: true });

    public async Task StartAsync(CancellationToken ct)
    {
        foreach (var r in Replicas)
        {
            await r.Runtime.StartAsync(ct);
            r.Running = true;
        }
    }

    /// <summary>Moves the clock timer by timer, every running replica idle after each step; <paramref name="check"/> after each.</summary>
    public async Task AdvanceAsync(TimeSpan span, Action? check, CancellationToken ct)
    {
        var until = Clock.GetUtcNow() + span;
        await IdleAsync(ct);
        while (Clock.NextDue is { } due && due <= until)
        {
            Clock.AdvanceToNextTimer();
            await IdleAsync(ct);
            check?.Invoke();
        }
    }

    /// <summary>As <see cref="AdvanceAsync"/>, stopping at the first step after which <paramref name="until"/> holds; false when it never did.</summary>
    public async Task<bool> AdvanceUntilAsync(Func<bool> until, TimeSpan most, Action? check, CancellationToken ct)
    {
        var end = Clock.GetUtcNow() + most;
        await IdleAsync(ct);
        while (!until() && Clock.NextDue is { } due && due <= end)
        {
            Clock.AdvanceToNextTimer();
            await IdleAsync(ct);
            check?.Invoke();
        }

        return until();
    }

    /// <summary>Stops one replica while the clock moves on, the others kept in step (idle after every timer) as in <see cref="AdvanceAsync"/>.</summary>
    public async Task StopAsync(Replica replica, CancellationToken ct)
    {
        replica.Running = false;
        var stopping = replica.Runtime.StopAsync(ct);
        while (!stopping.IsCompleted)
        {
            Clock.AdvanceToNextTimer();
            await Task.WhenAny(stopping, Task.Delay(1, ct));
            await IdleAsync(ct);
        }

        await stopping;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var r in Replicas)
        {
            if (r.Running)
            {
                await SimulatedRuntime.StopAsync(r.Runtime, Clock);
            }

            await r.Runtime.DisposeAsync();
            await r.Election.DisposeAsync();
            await r.Store.DisposeAsync();
        }

        await _cluster.DisposeAsync();
    }

    private async Task IdleAsync(CancellationToken ct)
    {
        foreach (var r in Replicas.Where(r => r.Running))
        {
            await r.Runtime.WhenIdleAsync(ct);
        }
    }

    internal sealed class Replica(string name, EcosystemRuntime runtime, FreezableElection election, PostgreSqlAuditStore store)
    {
        public string Name => name;

        public EcosystemRuntime Runtime => runtime;

        public FreezableElection Election => election;

        public PostgreSqlAuditStore Store => store;

        public bool Running { get; set; }
    }
}

/// <summary>
/// An election whose heartbeats can be made to stop reaching the database while the instance goes on believing its
/// last lease renewed (a paused process, a stalled heartbeat thread): its lock session stays open, as a frozen
/// process's would.
/// </summary>
internal sealed class FreezableElection(PostgreSqlLeaderElection inner) : ILeaderElection, IMoveClaims, IAsyncDisposable
{
    private LeaderLease? _last;

    public volatile bool Frozen;

    public PostgreSqlLeaderElection Inner => inner;

    public async ValueTask<LeaderLease?> TryAcquireAsync(string scope, string instance, DateTimeOffset now, TimeSpan leaseTime, CancellationToken cancellationToken = default)
    {
        if (Frozen)
        {
            return _last is { } last && last.Holder == instance ? last with { Expires = now + leaseTime } : _last;
        }

        return _last = await inner.TryAcquireAsync(scope, instance, now, leaseTime, cancellationToken);
    }

    public ValueTask<IReadOnlyList<LeaderLease>> ListAsync(string scopePrefix, CancellationToken cancellationToken = default) =>
        Frozen ? ValueTask.FromResult<IReadOnlyList<LeaderLease>>([]) : inner.ListAsync(scopePrefix, cancellationToken);

    public ValueTask ReleaseAsync(LeaderLease lease, CancellationToken cancellationToken = default) =>
        Frozen ? ValueTask.CompletedTask : inner.ReleaseAsync(lease, cancellationToken);

    public ValueTask<MoveClaim> ClaimAsync(MoveClaim claim, CancellationToken cancellationToken = default) => inner.ClaimAsync(claim, cancellationToken);

    public ValueTask<IReadOnlyList<MoveClaim>> PendingAsync(IReadOnlyCollection<string> targetScopes, DateTimeOffset now, CancellationToken cancellationToken = default) =>
        inner.PendingAsync(targetScopes, now, cancellationToken);

    public ValueTask<bool> DecideAsync(string id, bool accept, string decider, long targetToken, string reason, CancellationToken cancellationToken = default) =>
        inner.DecideAsync(id, accept, decider, targetToken, reason, cancellationToken);

    public ValueTask DisposeAsync() => inner.DisposeAsync();
}

/// <summary>The provider contract of another, recording every migration start it forwards.</summary>
internal sealed class RecordingHypervisor(IHypervisor inner, string instance, ConcurrentQueue<(string, VmId, HostId?, HostId, DateTimeOffset)> starts, TimeProvider time) : IHypervisor
{
    public string Name => inner.Name;

    public HypervisorCapabilities Capabilities => inner.Capabilities;

    public Task<InventorySnapshot> GetInventoryAsync(CancellationToken cancellationToken = default) => inner.GetInventoryAsync(cancellationToken);

    public IAsyncEnumerable<InventoryChange> WatchInventoryAsync(CancellationToken cancellationToken = default) => inner.WatchInventoryAsync(cancellationToken);

    public Task<IReadOnlyList<VmMetricSample>> GetVmMetricsAsync(IReadOnlyCollection<VmId>? vms = null, CancellationToken cancellationToken = default) =>
        inner.GetVmMetricsAsync(vms, cancellationToken);

    public Task<IReadOnlyList<HostMetricSample>> GetHostMetricsAsync(CancellationToken cancellationToken = default) => inner.GetHostMetricsAsync(cancellationToken);

    public Task<VmInfo> HotPlugAsync(VmId vm, HotPlugRequest request, CancellationToken cancellationToken = default) => inner.HotPlugAsync(vm, request, cancellationToken);

    public Task<ResourceControls> GetResourceControlsAsync(VmId vm, CancellationToken cancellationToken = default) => inner.GetResourceControlsAsync(vm, cancellationToken);

    public Task<ResourceControls> SetResourceControlsAsync(VmId vm, ResourceControls controls, CancellationToken cancellationToken = default) =>
        inner.SetResourceControlsAsync(vm, controls, cancellationToken);

    public async Task<IMigrationOperation> StartMigrationAsync(MigrationRequest request, CancellationToken cancellationToken = default)
    {
        var operation = await inner.StartMigrationAsync(request, cancellationToken);
        starts.Enqueue((instance, request.Vm, request.ExpectedSource, request.Target, time.GetUtcNow()));
        return operation;
    }

    public Task<IMigrationOperation?> FindRunningMigrationAsync(VmId vm, CancellationToken cancellationToken = default) =>
        inner.FindRunningMigrationAsync(vm, cancellationToken);
}
