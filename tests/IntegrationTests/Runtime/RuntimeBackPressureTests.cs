using Microsoft.Extensions.Options;
using VmEcosystem.Planning;
using VmEcosystem.Planning.Predictive;
using VmEcosystem.Runtime;
using VmEcosystem.Runtime.Audit;
using VmEcosystem.Simulation;

namespace VmEcosystem.IntegrationTests.Runtime;

/// <summary>Metrics arrive far faster than the planner consumes them: queues and memory stay bounded.</summary>
public sealed class RuntimeBackPressureTests
{
    /// <summary>A planner that takes real time per pass, so one-second observations on a racing clock outrun it.</summary>
    private sealed class SlowPolicy(IMigrationPolicy inner) : IMigrationPolicy
    {
        public string Name => inner.Name;

        public bool UsesForecasts => inner.UsesForecasts;

        public MigrationPlan Plan(PlanningState state, PlanningContext context)
        {
            Thread.Sleep(2);
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
        await using var runtime = new EcosystemRuntime(simulator, new SlowPolicy(PredictivePolicy.Create()), Options.Create(options), clock,
            new InMemoryAuditStore(capacity: 10_000));
        await runtime.StartAsync(ct);
        await runtime.WhenIdleAsync(ct);

        const int seconds = 6_000;
        long baseline = 0;
        int deepest = 0;
        for (int s = 1; s <= seconds; s++)
        {
            // The clock races ahead without waiting for the runtime: one observation due every step.
            clock.Advance(TimeSpan.FromSeconds(1));
            if (s % 16 == 0)
            {
                await Task.Yield();
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
        await runtime.StopAsync(ct);

        // The flood was real: most intervals were dropped or skipped, and far fewer passes ran than intervals passed.
        Assert.True(final.ObservationsDropped > seconds / 4, $"{final.ObservationsDropped} of {seconds} observations dropped");
        Assert.True(final.PlanningPasses < seconds / 2, $"{final.PlanningPasses} passes for {seconds} intervals");
        Assert.True(final.PlanningPasses > 10, $"only {final.PlanningPasses} passes: the planner must keep consuming");
        Assert.True(deepest <= options.ObservationQueueCapacity);

        // Five times the run after the baseline, memory has not grown with it (allowance for JIT and pools: 24 MB).
        Assert.True(after - baseline < 24L << 20, $"managed memory grew by {(after - baseline) >> 20} MB during the flood");
    }

    private static long Settled()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        return GC.GetTotalMemory(forceFullCollection: true);
    }
}
