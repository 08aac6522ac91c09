using Microsoft.Extensions.DependencyInjection;
using VmEcosystem.Experiments;
using VmEcosystem.Hosting;
using VmEcosystem.Planning;
using VmEcosystem.Planning.Predictive;
using VmEcosystem.Runtime;
using VmEcosystem.Runtime.Audit;
using VmEcosystem.Simulation;
using VmEcosystem.TestSupport;

namespace VmEcosystem.IntegrationTests;

/// <summary>A whole simulated day through the hosted runtime (loops, channels, executor, provider calls) on a virtual clock.</summary>
public sealed class RuntimeDayTests
{
    internal static ServiceProvider Services(VirtualClock clock, Action<RuntimeOptions>? runtime = null, Action<VmEcosystemBuilder>? more = null)
    {
        var services = new ServiceCollection();
        services.AddSingleton<TimeProvider>(clock);
        services.AddVmEcosystem(b =>
        {
            b.UseSimulator(o =>
            {
                o.TraceDirectory = RepositoryPaths.ShippedPlanetLabDay;
                o.CloudSimCompatible = true;
                o.InitialPlacement = InitialPlacementStrategy.PowerAwareBestFit;
            });
            b.UsePolicy(_ => PredictivePolicy.Create(new PredictiveOptions { EnforceMemory = false }));
            b.ConfigureRuntime(o =>
            {
                o.Mode = ExecutionMode.Automatic;
                o.MetricsInterval = o.PlanningInterval = TimeSpan.FromMinutes(5);
                // The batch benchmark plans once per tick: no event-triggered passes, no executor limits tighter than the planner's.
                o.PlanOnInventoryChange = false;
                o.PlanOnForecastAbove = null;
                o.MaxConcurrentMigrationsPerHost = 10_000;
                o.MaxConcurrentMigrationsInCluster = 100_000;
                o.MaxMigrationsPerWindow = 1_000_000;
                o.RecheckCapacity = false; // CloudSim over-commits memory and CPU by design
                o.Reservations = new VmEcosystem.Reservations.ReservationOptions { Mode = VmEcosystem.Reservations.ReservationMode.None }; // likewise: no admission
                runtime?.Invoke(o);
            });
            more?.Invoke(b);
        });
        return services.BuildServiceProvider();
    }

    [Fact]
    public async Task A_day_through_the_runtime_equals_the_batch_benchmark()
    {
        var clock = new VirtualClock();
        await using var provider = Services(clock);
        var runtime = provider.GetRequiredService<EcosystemRuntime>();
        var simulation = provider.GetRequiredService<ISimulatedCluster>();
        var throughRuntime = await SimulatedRuntime.RunAsync(runtime, clock, simulation, cancellationToken: TestContext.Current.CancellationToken);

        var batch = ConsolidationExperiment.Run(simulation.Scenario, PredictivePolicy.Create(new PredictiveOptions { EnforceMemory = false }),
            InitialPlacementStrategy.PowerAwareBestFit, seed: 42).Summary;

        Assert.True(batch.Migrations > 500, $"The day should migrate; batch made {batch.Migrations} migrations.");
        Assert.Equal(batch.Migrations, throughRuntime.Migrations);
        Assert.Equal(batch.EnergyKwh, throughRuntime.EnergyKwh, 9);
        Assert.Equal(batch.Slatah, throughRuntime.Slatah, 12);
        Assert.Equal(batch.Pdm, throughRuntime.Pdm, 12);
        Assert.Equal(batch.VmsAtEnd, throughRuntime.VmsAtEnd);

        var status = runtime.Status;
        Assert.Equal(batch.Migrations, status.Migrations.Started);
        Assert.Equal(0, status.Migrations.Failed);
        Assert.Equal(288 - 1, status.PlanningPasses); // every tick from 300.1 s to the last one
        Assert.DoesNotContain(runtime.Reservations, r => r.Kind == Planning.ShadowSlots.ReservationKind.MigrationInFlight);
        var audit = provider.GetRequiredService<IAuditStore>();
        int started = 0, succeeded = 0;
        await foreach (var r in audit.QueryAsync(new AuditQuery { Kinds = [AuditKind.MigrationStarted, AuditKind.MigrationSucceeded] }, TestContext.Current.CancellationToken))
        {
            _ = r.Kind == AuditKind.MigrationStarted ? started++ : succeeded++;
        }

        Assert.Equal(batch.Migrations, started);
        Assert.Equal(batch.Migrations, succeeded);
    }
}
