using VmEcosystem.Experiments;
using VmEcosystem.Cluster;
using VmEcosystem.Planning.CloudSim;
using VmEcosystem.Simulation;

namespace VmEcosystem.Tests.Simulation;

/// <summary>
/// CloudSim's model on a case small enough to check by hand: two hosts of 2 × 1000 MIPS (HP ML110 G4 power table),
/// three 1000-MIPS VMs with constant demand, ticks at 300.1 and 600.1, THR(0.8) with MMT.
/// PABFD at t = 0 puts VM0 and VM2 on host 0 and VM1 on host 1. At 300.1 host 0 requests 1800/2000 = 0.9 > 0.8,
/// MMT moves VM0 (1000 MB, the smaller RAM) to host 1; the move takes 1000 / 62.5 = 16 s.
/// </summary>
public sealed class HandCheckedModelTests
{
    private static SimulationScenario Scenario(SimulationModel model)
    {
        var hosts = new[]
        {
            new HostInfo(new HostId("h0"), new ResourceVector(2, 2000, 4096, 1000, 1)) { PowerModel = SpecPowerModel.HpProLiantMl110G4 },
            new HostInfo(new HostId("h1"), new ResourceVector(2, 2000, 4096, 1000, 1)) { PowerModel = SpecPowerModel.HpProLiantMl110G4 },
        };
        double[] Constant(double u) => Enumerable.Repeat(u, 4).ToArray();
        var vms = new[]
        {
            new SimulatedVm(new VmInfo(new VmId("vm0"), new ResourceVector(1, 1000, 1000)), new DemandTrace("vm0", Constant(0.9), 300)),
            new SimulatedVm(new VmInfo(new VmId("vm1"), new ResourceVector(1, 1000, 500)), new DemandTrace("vm1", Constant(0.3), 300)),
            new SimulatedVm(new VmInfo(new VmId("vm2"), new ResourceVector(1, 1000, 2000)), new DemandTrace("vm2", Constant(0.9), 300)),
        };
        return new SimulationScenario("hand-checked", hosts, vms, model with { DurationSeconds = 900 });
    }

    private static double P(double u) => SpecPowerModel.HpProLiantMl110G4.PowerWatts(u);

    [Fact]
    public void Initial_placement_is_power_aware_best_fit()
    {
        var placement = InitialPlacement.Place(Scenario(SimulationModel.CloudSimCompatible), InitialPlacementStrategy.PowerAwareBestFit);
        Assert.Equal([0, 1, 0], placement);
    }

    [Fact]
    public void Thr_mmt_moves_one_vm_with_the_expected_energy_and_sla_figures()
    {
        var result = ConsolidationExperiment.Run(
            Scenario(SimulationModel.CloudSimCompatible), CloudSimPolicies.Create("thr-mmt", 0.8), InitialPlacementStrategy.PowerAwareBestFit);
        var s = result.Summary;

        // [0, 300.1]: no host was updated yet, so no energy. [300.1, 316.1]: host 0 at 0.9, host 1 at
        // (300 + 10 % of 900) / 2000 = 0.195 while VM0 migrates in. [316.1, 600.1]: host 0 at 0.45, host 1 at 0.6.
        double expectedWattSeconds = ((P(0.9) + P(0.195)) * 16) + ((P(0.45) + P(0.6)) * 284);
        Assert.Equal(114, P(0.9), 9);
        Assert.Equal(92.44, P(0.195), 9);
        Assert.Equal(100.75, P(0.45), 9);
        Assert.Equal(106, P(0.6), 9);
        Assert.Equal(expectedWattSeconds / 3_600_000, s.EnergyKwh, 12);
        Assert.Equal(1, s.Migrations);

        // Host 1 cannot serve VM0's full request while it migrates in: 16 s of violation in 600 s of active host time.
        Assert.Equal(16.0 / 600.0, s.Slatah, 9);

        // VM0 gets 90 % of its 900 MIPS for 16 s; total requested MIPS·s = (900 + 300 + 900) × 300.
        double lost = (900 - 810) * 16.0;
        double requested = (900 + 300 + 900) * 300.0;
        Assert.Equal(lost / requested, s.Pdm, 12);
        Assert.Equal(lost / requested, s.OverallSlaViolation, 12);
        Assert.Equal(16.0 / 600.0 * (lost / requested), s.Slav, 12);
        Assert.Equal(s.EnergyKwh * s.Slav, s.Esv, 15);
    }

    [Fact]
    public void Sla_is_accounted_per_host_and_vm()
    {
        var scenario = Scenario(SimulationModel.CloudSimCompatible);
        var sim = new ClusterSimulation(scenario, InitialPlacement.Place(scenario, InitialPlacementStrategy.PowerAwareBestFit));
        var policy = CloudSimPolicies.Create("thr-mmt", 0.8);
        var state = new VmEcosystem.Planning.PlanningState();
        var context = new VmEcosystem.Planning.PlanningContext(new Random(1));
        while (sim.AdvanceToNextTick())
        {
            sim.CapturePlanningState(state);
            foreach (var d in policy.Plan(state, context).Decisions)
            {
                sim.StartMigration(d.VmIndex, d.TargetIndex);
            }
        }

        Assert.Equal(new HostSlaFigures(300, 0), sim.HostSla(0));
        Assert.Equal(new HostSlaFigures(300, 16), sim.HostSla(1));
        Assert.Equal(new VmSlaFigures(900 * 300.0, (810 * 16.0) + (900 * 284.0), 90 * 16.0), sim.VmSla(0));
        Assert.Equal(0, sim.VmSla(2).ViolationShare);
    }

    [Fact]
    public void Dvfs_never_migrates_and_charges_energy_from_the_first_update_on()
    {
        var result = ConsolidationExperiment.Run(
            Scenario(SimulationModel.CloudSimCompatible), new VmEcosystem.Planning.NoMigrationPolicy(), InitialPlacementStrategy.FirstFit);

        // First fit: VM0 and VM1 on host 0 (1000 + 1000 = 2000 MIPS), VM2 on host 1.
        double expected = (P((900 + 300) / 2000.0) + P(900 / 2000.0)) * 300;
        Assert.Equal(expected / 3_600_000, result.Summary.EnergyKwh, 12);
        Assert.Equal(0, result.Summary.Migrations);
        Assert.Equal(0, result.Summary.Slatah);
    }

    [Fact]
    public void Vms_whose_demand_is_exactly_zero_leave_only_in_the_cloudsim_model()
    {
        double[] zeros = [0, 0, 0, 0];
        var hosts = new[] { new HostInfo(new HostId("h0"), new ResourceVector(2, 2000, 4096, 1000, 1)) { PowerModel = SpecPowerModel.HpProLiantMl110G4 } };
        var vms = new[] { new SimulatedVm(new VmInfo(new VmId("idle"), new ResourceVector(1, 1000, 500)), new DemandTrace("idle", zeros, 300)) };
        foreach (var (model, expectedAtEnd) in new[] { (SimulationModel.CloudSimCompatible, 0), (SimulationModel.Default, 1) })
        {
            var scenario = new SimulationScenario("zeros", hosts, vms, model with { DurationSeconds = 900 });
            var result = ConsolidationExperiment.Run(scenario, new VmEcosystem.Planning.NoMigrationPolicy(), InitialPlacementStrategy.FirstFit);
            Assert.Equal(expectedAtEnd, result.Summary.VmsAtEnd);
        }
    }
}
