using VmEcosystem.Experiments;
using VmEcosystem.Planning.CloudSim;
using VmEcosystem.Simulation;

namespace VmEcosystem.Tests.Simulation;

public sealed class DeterminismTests
{
    private static SimulationSummary Run(int seed, string policy)
    {
        var traces = SyntheticWorkload.Generate(new SyntheticWorkloadOptions { VmCount = 120, Seed = seed });
        var scenario = CloudSimScenario.Create(traces, SimulationModel.Default, hostCount: 100);
        return ConsolidationExperiment.Run(
            scenario, CloudSimPolicies.Create(policy, bugCompatible: false), InitialPlacementStrategy.PowerAwareBestFit, seed).Summary;
    }

    [Theory]
    [InlineData("lr-mmt")]
    [InlineData("thr-rs")]
    public void Same_seed_gives_identical_summaries(string policy)
    {
        var a = Run(11, policy);
        var b = Run(11, policy);
        Assert.Equal(a.EnergyKwh, b.EnergyKwh);
        Assert.Equal(a.Migrations, b.Migrations);
        Assert.Equal(a.Slatah, b.Slatah);
        Assert.Equal(a.Pdm, b.Pdm);
        Assert.Equal(a.Ticks, b.Ticks);
        Assert.True(a.Migrations > 0, "The scenario should exercise migrations.");
    }

    [Fact]
    public void Different_seeds_give_different_runs()
    {
        Assert.NotEqual(Run(11, "lr-mmt").EnergyKwh, Run(12, "lr-mmt").EnergyKwh);
    }
}
