using VmEcosystem.Cluster;
using VmEcosystem.Experiments;
using VmEcosystem.Simulation;

namespace VmEcosystem.Tests.Reservations;

public sealed class SubIntervalDemandTests
{
    private static SimulationScenario Scenario(params double[][] cpu)
    {
        var hosts = new[] { new HostInfo(new HostId("h0"), new ResourceVector(8, 16000, 16384, 1000, 1)) { PowerModel = SpecPowerModel.HpProLiantMl110G4 } };
        var vms = cpu.Select((c, i) => new SimulatedVm(new VmInfo(new VmId($"vm{i}"), new ResourceVector(1, 1000, 512)), new DemandTrace($"vm{i}", c, 300))).ToArray();
        return new SimulationScenario("sub-interval", hosts, vms, SimulationModel.Realistic with { DurationSeconds = 900 });
    }

    [Fact]
    public void Sigma_is_the_traces_log_step_deviation_over_root_two_and_zero_for_a_flat_trace_or_no_variation()
    {
        // ln(0.19 + 0.01) and ln(0.39 + 0.01) alternate: every step is ±ln 2, so the deviation is ln 2.
        double[] alternating = [0.19, 0.39, 0.19, 0.39, 0.19];
        var model = new SubIntervalDemand(Scenario(alternating, [0.3, 0.3, 0.3]), 1, seed: 7);
        Assert.Equal(Math.Log(2) / Math.Sqrt(2), model.SigmaOf(0), 12);
        Assert.Equal(0, model.SigmaOf(1));
        Assert.Equal(0.5 * Math.Log(2) / Math.Sqrt(2), new SubIntervalDemand(Scenario(alternating), 0.5, 7).SigmaOf(0), 12);
        Assert.Equal(SubIntervalDemand.MaxSigma, new SubIntervalDemand(Scenario(alternating), 4, 7).SigmaOf(0));

        var none = new SubIntervalDemand(Scenario(alternating), 0, 7);
        Assert.Equal(0, none.SigmaOf(0));
        Assert.Equal(321.5, none.At(0, 1234, 321.5, 1000)); // constant within the interval
    }

    [Fact]
    public void Demand_keeps_the_intervals_mean_is_deterministic_for_a_seed_continuous_and_capped()
    {
        double[] bursty = [0.05, 0.4, 0.1, 0.6, 0.05, 0.3];
        var scenario = Scenario(bursty);
        var model = new SubIntervalDemand(scenario, 1, seed: 42);
        Assert.InRange(model.SigmaOf(0), 0.5, SubIntervalDemand.MaxSigma);

        // Over a day at 5 s steps the mean is the figure (log-normal with mean 1), within sampling error.
        double sum = 0, min = double.MaxValue, max = 0;
        int n = 0;
        for (double t = 0; t < 86400; t += 5, n++)
        {
            double d = model.At(0, t, 100, double.MaxValue);
            sum += d;
            min = Math.Min(min, d);
            max = Math.Max(max, d);
        }

        Assert.InRange(sum / n, 90, 110);
        Assert.True(min < 60 && max > 160, $"varies: {min:F0}..{max:F0}");

        // Same seed, same demand in any order of queries; another seed differs.
        Assert.Equal(model.At(0, 4321, 100, 1000), new SubIntervalDemand(scenario, 1, seed: 42).At(0, 4321, 100, 1000));
        Assert.NotEqual(model.At(0, 4321, 100, 1000), new SubIntervalDemand(scenario, 1, seed: 43).At(0, 4321, 100, 1000));

        // Linear between knots: no jump at a knot, and the allocation caps it.
        double k = SubIntervalDemand.KnotSeconds * 17;
        Assert.Equal(model.At(0, k - 1e-9, 100, 1e9), model.At(0, k, 100, 1e9), 4);
        for (double t = 0; t < 3600; t += 5)
        {
            Assert.InRange(model.At(0, t, 100, 120), 0, 120);
        }
    }
}
