using Microsoft.Extensions.DependencyInjection;
using VmEcosystem.Cluster;
using VmEcosystem.Hosting;
using VmEcosystem.Hypervisor;
using VmEcosystem.Runtime;
using VmEcosystem.Runtime.Audit;
using VmEcosystem.Simulation;

namespace VmEcosystem.Tests.Runtime;

/// <summary>
/// Issue 15, item 4: the runtime learns from its own moves. A host that fails every migration sent to it (the
/// simulated truth) is learned as failing and avoided; what was learned survives a restart; application metrics
/// read around each move are kept per move pattern.
/// </summary>
public sealed class OutcomeLearningTests
{
    /// <summary>Every migration to <see cref="Broken"/> fails (a broken host); with none, it only counts targets.</summary>
    private sealed class BrokenHost(IHypervisor inner, HostId? broken) : DelegatingHypervisor(inner)
    {
        public HostId? Broken => broken;

        public Dictionary<HostId, int> Targets { get; } = [];

        public int Attempts { get; private set; }

        public int Starts { get; private set; }

        public override Task<IMigrationOperation> StartMigrationAsync(MigrationRequest request, CancellationToken cancellationToken = default)
        {
            Starts++;
            Targets[request.Target] = Targets.GetValueOrDefault(request.Target) + 1;
            if (request.Target == broken)
            {
                Attempts++;
                throw new HypervisorException(HypervisorErrorKind.ProviderFault, $"host {request.Target} refuses incoming migrations", "test", "StartMigration");
            }

            return base.StartMigrationAsync(request, cancellationToken);
        }
    }

    private static ServiceProvider Build(VirtualClock clock, IHypervisor provider, IAuditStore store, bool learn, IApplicationMetricsSource? metrics = null)
    {
        var services = new ServiceCollection()
            .AddSingleton<TimeProvider>(clock)
            .AddVmEcosystem(b => b
                .UseProvider("test", _ => provider)
                .UseAuditStore(_ => store)
                .ConfigureRuntime(o =>
                {
                    o.Mode = ExecutionMode.Automatic;
                    o.PlanOnForecastAbove = null;
                    o.MaxMigrationsPerWindow = 1000;
                    o.LearnFromOutcomes = learn;
                }));
        if (metrics is not null)
        {
            services.AddSingleton(metrics);
        }

        return services.BuildServiceProvider();
    }

    private static async Task<(BrokenHost Provider, EcosystemRuntime Runtime)> DayAsync(bool learn, InMemoryAuditStore store, TimeSpan length, HostId? broken)
    {
        var clock = new VirtualClock();
        var simulator = new SimulatorHypervisor(new SimulatorOptions { Synthetic = new SyntheticWorkloadOptions { VmCount = 60, Seed = 11 }, HostCount = 40 }, clock);
        var provider = new BrokenHost(simulator, broken);
        await using var services = Build(clock, provider, store, learn);
        var runtime = services.GetRequiredService<EcosystemRuntime>();
        await runtime.StartAsync(TestContext.Current.CancellationToken);
        try
        {
            await SimulatedRuntime.AdvanceAsync(runtime, clock, clock.GetUtcNow() + length, TestContext.Current.CancellationToken);
        }
        finally
        {
            await SimulatedRuntime.StopAsync(runtime, clock);
            await simulator.DisposeAsync();
        }

        return (provider, runtime);
    }

    [Fact]
    public async Task A_host_that_fails_every_migration_is_learned_as_failing_avoided_and_remembered_after_a_restart()
    {
        // The host the planner sends most VMs to is the one that breaks.
        var healthy = await DayAsync(learn: false, new InMemoryAuditStore(), TimeSpan.FromHours(12), broken: null);
        var broken = healthy.Provider.Targets.MaxBy(t => t.Value).Key;
        var blind = await DayAsync(learn: false, new InMemoryAuditStore(), TimeSpan.FromHours(12), broken);
        var store = new InMemoryAuditStore();
        var (provider, runtime) = await DayAsync(learn: true, store, TimeSpan.FromHours(12), broken);

        Assert.True(provider.Starts > 20, $"{provider.Starts} starts");
        Assert.True(runtime.Learner!.FailureRate(broken) >= 0.2, $"failure rate {runtime.Learner.FailureRate(broken):F2}"); // one failure already weighs 0.2
        Assert.True(provider.Attempts * 2 < blind.Provider.Attempts, // measured: 25 against 154
            $"with learning {provider.Attempts} attempts on the broken host, without {blind.Provider.Attempts}");
        Assert.Null(blind.Runtime.Learner);
        TestContext.Current.TestOutputHelper?.WriteLine($"broken {broken}: {healthy.Provider.Targets[broken]} moves there when healthy; attempts {blind.Provider.Attempts} without learning, {provider.Attempts} with; failure rate {runtime.Learner.FailureRate(broken):F2}");

        // The outcomes travel in the audit details: a new runtime on the same trail knows the host fails.
        var clock = new VirtualClock();
        await using var simulator = new SimulatorHypervisor(new SimulatorOptions { Synthetic = new SyntheticWorkloadOptions { VmCount = 60, Seed = 11 }, HostCount = 40 }, clock);
        await using var services = Build(clock, new DelegatingHypervisor(simulator), store, learn: true);
        var second = services.GetRequiredService<EcosystemRuntime>();
        await second.StartAsync(TestContext.Current.CancellationToken);
        try
        {
            Assert.Equal(runtime.Learner.Observations, second.Learner!.Observations);
            Assert.Equal(runtime.Learner.FailureRate(broken), second.Learner.FailureRate(broken), 9);
        }
        finally
        {
            await SimulatedRuntime.StopAsync(second, clock);
        }
    }

    /// <summary>Latency halves after every move: the application's view of whether moves help.</summary>
    private sealed class HalvingLatency : IApplicationMetricsSource
    {
        private readonly Dictionary<VmId, double> _latency = [];

        public Task<ApplicationMetrics?> GetAsync(VmId vm, CancellationToken cancellationToken)
        {
            lock (_latency)
            {
                double now = _latency.GetValueOrDefault(vm, 100);
                _latency[vm] = now / 2; // the next read (after the move) sees half
                return Task.FromResult<ApplicationMetrics?>(new ApplicationMetrics(now, 1000));
            }
        }
    }

    [Fact]
    public async Task Application_metrics_around_each_move_are_kept_per_move_pattern()
    {
        var clock = new VirtualClock();
        await using var simulator = new SimulatorHypervisor(new SimulatorOptions { Synthetic = new SyntheticWorkloadOptions { VmCount = 60, Seed = 11 }, HostCount = 40 }, clock);
        await using var services = Build(clock, new DelegatingHypervisor(simulator), new InMemoryAuditStore(), learn: true, new HalvingLatency());
        var runtime = services.GetRequiredService<EcosystemRuntime>();
        await runtime.StartAsync(TestContext.Current.CancellationToken);
        try
        {
            await SimulatedRuntime.AdvanceAsync(runtime, clock, clock.GetUtcNow() + TimeSpan.FromHours(2), TestContext.Current.CancellationToken);
        }
        finally
        {
            await SimulatedRuntime.StopAsync(runtime, clock);
        }

        var patterns = runtime.Learner!.Patterns();
        Assert.NotEmpty(patterns);
        Assert.All(patterns.Where(p => p.Successes > 0), p => Assert.Equal(0.5, p.MeanLatencyGain, 6));
        Assert.All(patterns, p => Assert.True(runtime.Learner.IsPatternWorthwhile(p.Pattern.Split(':')[0], null)));
        var succeeded = await runtime.Audit.ListAsync(new AuditQuery { Kinds = [AuditKind.MigrationSucceeded] });
        Assert.All(succeeded, r => Assert.Contains("\"latencyAfterMs\":50", r.Detail, StringComparison.Ordinal));
    }
}
