using VmEcosystem.Experiments;
using VmEcosystem.Planning;
using VmEcosystem.Planning.CloudSim;
using VmEcosystem.Planning.Predictive;
using VmEcosystem.Planning.ShadowSlots;
using VmEcosystem.Simulation;
using VmEcosystem.TestSupport;

namespace VmEcosystem.IntegrationTests;

/// <summary>The predictive policy over the shipped PlanetLab day in CloudSim's model, against LR-MMT 1.2 in the same run.</summary>
public sealed class PredictivePlannerDayTests
{
    private static readonly Lazy<SimulationScenario> Scenario = new(() =>
        CloudSimScenario.Create(PlanetLabTraces.ReadFolder(RepositoryPaths.ShippedPlanetLabDay)));

    // The CloudSim model has no RAM constraint after t = 0, so the policy compared on it does not enforce memory either.
    private static IMigrationPolicy Predictive() => PredictivePolicy.Create(new PredictiveOptions { EnforceMemory = false, AlternativesToExplain = 0 });

    [Fact]
    public void Predictive_beats_lr_mmt_with_a_fraction_of_the_migrations()
    {
        var lr = ConsolidationExperiment.Run(Scenario.Value, CloudSimPolicies.Create("lr-mmt", 1.2), InitialPlacementStrategy.PowerAwareBestFit).Summary;
        var predictive = ConsolidationExperiment.Run(Scenario.Value, Predictive(), InitialPlacementStrategy.PowerAwareBestFit).Summary;

        // The floor: at most 0.25 × the migrations, 0.7 × the ESV and 1.05 × the energy of LR-MMT.
        Assert.True(predictive.Migrations <= 0.25 * lr.Migrations, $"migrations {predictive.Migrations} vs {lr.Migrations}");
        Assert.True(predictive.Esv <= 0.7 * lr.Esv, $"ESV {predictive.Esv} vs {lr.Esv}");
        Assert.True(predictive.EnergyKwh <= 1.05 * lr.EnergyKwh, $"energy {predictive.EnergyKwh} vs {lr.EnergyKwh}");

        // The product's target on this day: 0.1 × migrations, 0.5 × ESV, no more energy.
        Assert.True(predictive.Migrations <= 0.1 * lr.Migrations);
        Assert.True(predictive.Esv <= 0.5 * lr.Esv);
        Assert.True(predictive.EnergyKwh <= lr.EnergyKwh);
    }

    [Fact]
    public void Shadow_slots_follow_migrations_and_return_to_steady_state()
    {
        PlanningSession? session = null;
        int maxInFlightSlots = 0;
        var result = ConsolidationExperiment.Run(Scenario.Value, Predictive(), InitialPlacementStrategy.PowerAwareBestFit,
            onPlan: (plan, s) =>
            {
                session = s;
                // Every migration started in this pass holds an in-flight slot on its target until it ends.
                foreach (var d in plan.Decisions)
                {
                    var slot = s.Ledger.Find(d.Vm.Value, ReservationKind.MigrationInFlight);
                    Assert.NotNull(slot);
                    Assert.Equal(d.Target, slot.Host);
                }

                maxInFlightSlots = Math.Max(maxInFlightSlots, s.Ledger.CountOf(ReservationKind.MigrationInFlight));
            });

        Assert.NotNull(session);
        Assert.True(result.Summary.Migrations > 0 && maxInFlightSlots > 0);

        // After the last migration ended no in-flight slot is left, growth slots exist only for VMs still present,
        // and once the last forecasts lapse the ledger is empty: nothing leaked.
        Assert.Equal(0, session.Ledger.CountOf(ReservationKind.MigrationInFlight));
        Assert.Equal(result.Summary.VmsAtEnd, session.Ledger.CountOf(ReservationKind.PredictedGrowth));
        session.Sweep(DateTimeOffset.UnixEpoch.AddDays(2));
        Assert.Equal(0, session.Ledger.Count);
    }
}
