using Microsoft.Extensions.Options;
using VmEcosystem.Planning;
using VmEcosystem.Planning.Predictive;
using VmEcosystem.Runtime;
using VmEcosystem.Runtime.Audit;
using VmEcosystem.Simulation;

namespace VmEcosystem.IntegrationTests.Runtime;

/// <summary>Runs alone: it measures the process's managed memory.</summary>
[CollectionDefinition(DisableParallelization = true)]
public sealed class MemoryMeasuringCollection;

/// <summary>Metrics arrive far faster than the planner consumes them: queues and memory stay bounded.</summary>
[Collection(typeof(MemoryMeasuringCollection))]
public sealed class RuntimeBackPressureTests
{
    /// <summary>A planner that makes one pass per permit the test hands out, so the flood is as fast as the test says.</summary>
    private sealed class GatedPolicy(IMigrationPolicy inner) : IMigrationPolicy
    {
        public SemaphoreSlim Permits { get; } = new(0);

        public string Name => inner.Name;

        public bool UsesForecasts => inner.UsesForecasts;

        public MigrationPlan Plan(PlanningState state, PlanningContext context)
        {
            Permits.Wait(TestContext.Current.CancellationToken);
            return inner.Plan(state, context);
        }
    }

    [Theory]
    [InlineData(BackPressureMode.Wait)]
    [InlineData(BackPressureMode.DropOldest)]
    public async Task A_metrics_flood_keeps_queues_and_memory_bounded(BackPressureMode mode)
    {
        var ct = TestContext.Current.CancellationToken;
        var clock = new VirtualClock();
        await using var simulator = new SimulatorHypervisor(new SimulatorOptions
        {
            Synthetic = new SyntheticWorkloadOptions { VmCount = 100, Seed = 5 },
            HostCount = 100,
        }, clock);
        var options = new RuntimeOptions
        {
            Mode = ExecutionMode.DryRun,
            MetricsInterval = TimeSpan.FromSeconds(1),
            PlanningInterval = TimeSpan.FromSeconds(1),
            ObservationQueueCapacity = 4,
            ObservationBackPressure = mode,
            PlanOnForecastAbove = null,
            PlanOnInventoryChange = false,
        };
        var policy = new GatedPolicy(PredictivePolicy.Create());
        await using var runtime = new EcosystemRuntime(simulator, policy, Options.Create(options), clock, new RuntimeComponents { Audit = new InMemoryAuditStore(capacity: 10_000) });
        await runtime.StartAsync(ct);

        // One planning pass per 20 observation intervals: the metrics arrive 20 times faster than they are consumed.
        const int seconds = 6_000, stepsPerPass = 20;
        int permits = 0;
        long baseline = 0;
        int deepest = 0;
        for (int s = 1; s <= seconds; s++)
        {
            // The clock races ahead without waiting for the runtime: one observation due every step.
            clock.Advance(TimeSpan.FromSeconds(1));
            if (s % stepsPerPass == 0)
            {
                policy.Permits.Release();
                permits++;
                await WaitUntilAsync(() => runtime.Status.PlanningPasses >= permits, ct);
            }

            var status = runtime.Status;
            deepest = Math.Max(deepest, status.QueueDepths.Observations);
            Assert.True(status.QueueDepths.Observations <= options.ObservationQueueCapacity);
            if (s == 1_000)
            {
                baseline = Settled();
            }
        }

        long after = Settled();
        var final = runtime.Status;
        policy.Permits.Release(1_000);
        await runtime.StopAsync(ct);

        // The flood was real: most intervals were dropped or skipped, and far fewer passes ran than intervals passed.
        Assert.Equal(seconds / stepsPerPass, final.PlanningPasses);
        Assert.True(final.ObservationsDropped > seconds / 2, $"{final.ObservationsDropped} of {seconds} observations dropped");
        Assert.True(deepest <= options.ObservationQueueCapacity);

        // Five times the run after the baseline, memory has not grown with it (allowance for JIT and pools: 24 MB).
        Assert.True(after - baseline < 24L << 20, $"managed memory grew by {(after - baseline) >> 20} MB during the flood");
    }

    private static async Task WaitUntilAsync(Func<bool> condition, CancellationToken ct)
    {
        var waited = System.Diagnostics.Stopwatch.StartNew();
        while (!condition())
        {
            Assert.True(waited.Elapsed < TimeSpan.FromSeconds(30), "the planner did not take its permit");
            await Task.Delay(1, ct);
        }
    }

    private static long Settled()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        return GC.GetTotalMemory(forceFullCollection: true);
    }
}
