using VmEcosystem.Cluster;
using VmEcosystem.Forecasting;

namespace VmEcosystem.Tests.Forecasting;

public sealed class WorkloadProfilerTests
{
    private static VmMetricSample Sample(string vm, double cpu, double capacity = 1000) => new()
    {
        Vm = new VmId(vm),
        Timestamp = DateTimeOffset.UnixEpoch,
        CpuMhz = cpu,
        CpuUtilization = cpu / capacity,
        MemoryMiB = 512,
    };

    private static WorkloadProfiler Profiler(string cpuMethod = "median24") => new(new WorkloadProfilerOptions
    {
        CpuMethod = cpuMethod,
        RetrainInterval = TimeSpan.FromMinutes(30),
    });

    [Fact]
    public void Perfectly_correlated_vms_aggregate_to_the_sum_of_their_widths()
    {
        var p = Profiler();
        var r = new Random(1);
        for (int t = 0; t < 200; t++)
        {
            double common = r.NextDouble() * 200;
            p.Observe([Sample("a", 300 + common), Sample("b", 300 + common)]);
        }

        var a = p.Forecast(new VmId("a"), MetricKind.Cpu, TimeSpan.FromMinutes(5)).Forecast;
        var b = p.Forecast(new VmId("b"), MetricKind.Cpu, TimeSpan.FromMinutes(5)).Forecast;
        var sum = p.ForecastSum([new VmId("a"), new VmId("b")], MetricKind.Cpu, TimeSpan.FromMinutes(5));
        Assert.True(sum.Correlation > 0.8, $"rho {sum.Correlation}");
        Assert.Equal(a.Point + b.Point, sum.Forecast.Point, 6);
        Assert.True(sum.Forecast.Upper - sum.Forecast.Point > 0.9 * ((a.Upper - a.Point) + (b.Upper - b.Point)));
    }

    [Fact]
    public void Independent_vms_aggregate_close_to_quadrature()
    {
        var p = Profiler();
        var r = new Random(2);
        for (int t = 0; t < 200; t++)
        {
            p.Observe([Sample("a", 300 + (r.NextDouble() * 200)), Sample("b", 300 + (r.NextDouble() * 200))]);
        }

        var sum = p.ForecastSum([new VmId("a"), new VmId("b")], MetricKind.Cpu, TimeSpan.FromMinutes(5));
        Assert.True(sum.Correlation < 0.35, $"rho {sum.Correlation}");
    }

    [Fact]
    public void Where_vms_move_together_the_aggregate_interval_keeps_its_coverage_and_quadrature_does_not()
    {
        // 20 VMs of one host set share a common random factor (an application's load) plus their own noise: pairwise
        // error correlation about 0.5. Scored one step ahead over 400 rounds after a warm-up.
        var p = new WorkloadProfiler(new WorkloadProfilerOptions { CpuMethod = "ses", Confidence = 0.9 });
        var r = new Random(7);
        var vms = Enumerable.Range(0, 20).Select(i => new VmId($"v{i}")).ToArray();
        double Gaussian() => Math.Sqrt(-2 * Math.Log(1 - r.NextDouble())) * Math.Cos(2 * Math.PI * r.NextDouble());
        double[] Next()
        {
            double common = Gaussian();
            return [.. vms.Select(_ => 500 + (40 * common) + (40 * Gaussian()))];
        }

        var now = Next();
        int hits = 0, quadratureHits = 0, scored = 0;
        for (int t = 0; t < 500; t++)
        {
            p.Observe([.. vms.Select((v, i) => Sample(v.Value, now[i]))]);
            now = Next();
            if (t < 100)
            {
                continue;
            }

            var sum = p.ForecastSum(vms, MetricKind.Cpu, TimeSpan.FromMinutes(5));
            var each = vms.Select(v => p.Forecast(v, MetricKind.Cpu, TimeSpan.FromMinutes(5)).Forecast).ToList();
            double actual = now.Sum(), point = each.Sum(f => f.Point);
            double half = Math.Sqrt(each.Sum(f => (f.Upper - f.Point) * (f.Upper - f.Point)));
            hits += actual >= sum.Forecast.Lower && actual <= sum.Forecast.Upper ? 1 : 0;
            quadratureHits += Math.Abs(actual - point) <= half ? 1 : 0;
            scored++;
        }

        double coverage = (double)hits / scored, quadrature = (double)quadratureHits / scored;
        Assert.InRange(coverage, 0.84, 0.96);
        Assert.True(quadrature < 0.75, $"quadrature {quadrature}, profiler {coverage}");
    }

    [Fact]
    public void A_rising_vm_is_a_hot_spot_and_a_flat_one_is_not()
    {
        var p = Profiler("holt");
        for (int t = 0; t < 25; t++)
        {
            p.Observe([Sample("rising", 100 + (t * 30)), Sample("flat", 300)]);
        }

        var spots = p.DetectHotSpots();
        Assert.Contains(spots, s => s.Vm == new VmId("rising") && s.Kind == HotSpotKind.Rising);
        Assert.DoesNotContain(spots, s => s.Vm == new VmId("flat"));
    }

    [Fact]
    public void Invalid_samples_are_counted_not_thrown_and_silent_vms_are_evicted()
    {
        var p = Profiler();
        p.Observe([Sample("a", 10), Sample("bad", double.NaN), Sample("neg", -5)]);
        Assert.Equal(2, p.RejectedSamples);
        Assert.Equal(1, p.VmCount);
        for (int t = 0; t < 12; t++)
        {
            p.Observe([Sample("b", 10)]);
        }

        Assert.Throws<KeyNotFoundException>(() => p.Forecast(new VmId("a"), MetricKind.Cpu, TimeSpan.FromMinutes(5)));
    }

    [Fact]
    public void Workloads_are_classified_through_the_hook()
    {
        var p = Profiler();
        for (int t = 0; t < 100; t++)
        {
            p.Observe([Sample("idle", 5), Sample("busy", 500 + (t % 2)), Sample("spiky", t % 10 == 0 ? 900 : 50)]);
        }

        Assert.Equal("idle", p.Classify(new VmId("idle")));
        Assert.Equal("steady", p.Classify(new VmId("busy")));
        Assert.Equal("bursty", p.Classify(new VmId("spiky")));
    }

    [Fact]
    public void Auto_profiles_train_the_global_model_once_enough_history_exists()
    {
        var p = Profiler("auto");
        var r = new Random(3);
        for (int t = 0; t < 120; t++)
        {
            p.Observe([.. Enumerable.Range(0, 30).Select(i => Sample($"vm{i}", 100 + (r.NextDouble() * 50)))]);
        }

        Assert.True(p.GlobalModelTrained);
        var f = p.Forecast(new VmId("vm3"), MetricKind.Cpu, TimeSpan.FromHours(1)).Forecast;
        Assert.InRange(f.Point, 90, 160);
    }

    [Fact]
    public void Invalid_options_name_the_setting()
    {
        var ex = Assert.Throws<ArgumentException>(() => new WorkloadProfiler(new WorkloadProfilerOptions { CpuMethod = "magic", Confidence = 2 }));
        Assert.Contains("VmEcosystem:Forecasting:CpuMethod", ex.Message);
        Assert.Contains("VmEcosystem:Forecasting:Confidence", ex.Message);
    }
}
