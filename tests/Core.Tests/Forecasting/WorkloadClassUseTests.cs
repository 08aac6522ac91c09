using VmEcosystem.Cluster;
using VmEcosystem.Forecasting;
using VmEcosystem.Hypervisor;
using VmEcosystem.Planning;
using VmEcosystem.Runtime;

namespace VmEcosystem.Tests.Forecasting;

/// <summary>Where planning uses a VM's workload class: the <c>class</c> forecasting method and the dirty-rate estimate.</summary>
public sealed class WorkloadClassUseTests
{
    private static readonly DateTimeOffset T0 = new(2026, 12, 2, 0, 0, 0, TimeSpan.Zero);

    [Fact]
    public void The_estimate_follows_the_class_cpu_and_memory()
    {
        var estimator = new DirtyRateEstimator();
        Assert.Equal(0.5, estimator.Estimate("idle", 0.9, 4096));
        Assert.Equal(0.5 + (0.005 * 4096 * 0.5), estimator.Estimate("steady", 0.5, 4096), 9);
        Assert.Equal(0.5 + (0.01 * 4096 * 0.5), estimator.Estimate("bursty", 0.5, 4096), 9);
        Assert.Equal(0.5 + (0.005 * 4096 * 0.5), estimator.Estimate("unknown", 0.5, 4096), 9);
        Assert.Equal(0.5, estimator.Estimate("steady", double.NaN, -1));

        Assert.Equal("idle", estimator.Classify(new VmId("a"), [0.01, 0.02, 0.01]));
        Assert.Equal("bursty", estimator.Classify(new VmId("a"), [0.05, 0.05, 0.9, 0.05, 0.05, 0.05, 0.9, 0.05, 0.05, 0.05]));
        Assert.Equal("steady", estimator.Classify(new VmId("a"), [0.5, 0.55, 0.45, 0.5]));

        var ex = Assert.Throws<ArgumentException>(() => new DirtyRateEstimator(new DirtyRateEstimateOptions { BurstyShare = -1 }));
        Assert.Contains("DirtyRateEstimate:BurstyShare must be within [0, 1]", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_state_gets_the_measured_rate_or_the_estimate_for_the_class()
    {
        var inventory = new InventorySnapshot(
            [new HostInfo(new HostId("h1"), new ResourceVector(8, 16000, 32768, 1000, 0))],
            [new VmInfo(new VmId("a"), new ResourceVector(2, 4000, 4096)), new VmInfo(new VmId("b"), new ResourceVector(2, 4000, 4096)),
             new VmInfo(new VmId("c"), new ResourceVector(2, 4000, 4096))],
            [new Placement(new VmId("a"), new HostId("h1")), new Placement(new VmId("b"), new HostId("h1")), new Placement(new VmId("c"), new HostId("h1"))],
            T0);
        VmMetricSample Sample(string vm, double mhz, double? dirty) => new() { Vm = new VmId(vm), Timestamp = T0, CpuMhz = mhz, MemoryMiB = 3000, DirtyMiBPerSecond = dirty };
        var state = new PlanningState();
        new InventoryStateBuilder().Build(state, inventory, [Sample("a", 2000, null), Sample("b", 2000, 0), Sample("c", 40, null)], [], new Dictionary<VmId, HostId>());

        // a: steady at half load, 3000 MiB in use, not measured: estimated. b: measured 0 (idle guest): kept.
        // c: idle (1 % CPU): the idle floor.
        Assert.Equal(0.5 + (0.005 * 3000 * 0.5), state.DirtyMiBps(state.IndexOf(new VmId("a"))), 9);
        Assert.Equal(0, state.DirtyMiBps(state.IndexOf(new VmId("b"))));
        Assert.Equal(0.5, state.DirtyMiBps(state.IndexOf(new VmId("c"))), 9);
    }

    [Fact]
    public void The_class_method_forecasts_each_vm_with_the_method_of_its_class()
    {
        var session = new PlanningSession(new PlanningSessionOptions
        {
            ForecastMethod = "class",
            ForecastMethodByClass = new Dictionary<string, string> { ["idle"] = "naive", ["bursty"] = "ses" },
        });
        var state = new PlanningState();
        state.Reset(1, 2, 30);
        state.SetHost(0, new HostId("h"), 100_000, 32, 1 << 20, 10_000, null, true);
        var context = new PlanningContext(new Random(1));
        var rng = new Random(3);
        var idle = new double[40];
        for (int t = 0; t < 40; t++)
        {
            idle[t] = t == 39 ? 30 : 10 + rng.Next(3);
            double steady = 500 + rng.Next(50);
            state.SetVm(0, new VmId("idle"), 1000, 1, 1024, idle[t], idle[t], 0, -1, true, 0);
            state.SetVm(1, new VmId("steady"), 1000, 1, 1024, steady, steady, 0, -1, true, 0);
            session.Prepare(state, context, T0.AddMinutes(5 * t));
        }

        Assert.Equal("idle", session.WorkloadClassOf(new VmId("idle")));
        Assert.Equal("steady", session.WorkloadClassOf(new VmId("steady")));
        // The idle VM is forecast by naive (its last value, 30), not by the moving median (about 11).
        Assert.Equal(30, session.Forecasts.Point(0), 6);
        Assert.InRange(session.Forecasts.Point(1), 500, 550);

        var ex = Assert.Throws<ArgumentException>(() => new PlanningSession(new PlanningSessionOptions
        {
            ForecastMethodByClass = new Dictionary<string, string> { ["idle"] = "arima" },
        }));
        Assert.Contains("ForecastMethodByClass:idle 'arima' is unknown", ex.Message, StringComparison.Ordinal);
    }
}
