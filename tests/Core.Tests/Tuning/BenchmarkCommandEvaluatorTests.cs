using VmEcosystem.Tuning;
using Xunit;

namespace VmEcosystem.Tests.Tuning;

/// <summary>The benchmark-command evaluator without a benchmark: placeholders, parsing, failures.</summary>
public sealed class BenchmarkCommandEvaluatorTests
{
    private const string Memory = """
        Total operations: 547986 (546314.99 per second)

        34249.12 MiB transferred (34144.69 MiB/sec)

        General statistics:
            total time:                          1.0002s
            total number of events:              547986

        Latency (ms):
                 min:                                    0.00
                 avg:                                    0.03
                 max:                                    1.21
                 95th percentile:                        0.05
        """;

    [Fact]
    public void Sysbench_reports_become_metrics()
    {
        var m = SysbenchOutput.Parse(Memory);
        Assert.Equal(546314.99, m["eventsPerSecond"]);
        Assert.Equal(34144.69, m["mibPerSecond"]);
        Assert.Equal(0.03, m["latencyAvgMs"]);
        Assert.Equal(0.05, m["latencyP95Ms"]);
        Assert.Equal(547986, m["events"]);
        Assert.Throws<FormatException>(() => SysbenchOutput.Parse("command not found"));
    }

    [Fact]
    public async Task Gene_placeholders_are_filled_in_and_gene_values_become_config_metrics()
    {
        var space = SearchSpaceJson.Parse("""{ "genes": [ { "name": "threads", "type": "int", "min": 1, "max": 8 }, { "name": "block", "type": "categorical", "choices": ["1K", "64K"] } ] }""");
        var echo = new BenchmarkCommandEvaluator("/bin/echo", ["events per second: {threads}00.5", "--memory-block-size={block}"]);
        var metrics = await echo.EvaluateAsync(space, [3, 1], default);
        Assert.Equal(300.5, metrics["eventsPerSecond"]);
        Assert.Equal(3, metrics["config.threads"]);
        Assert.Equal(1, metrics["config.block"]);

        var wrong = new BenchmarkCommandEvaluator("/bin/echo", ["{cores}"]);
        Assert.Contains("'cores', which is not a setting", (await Assert.ThrowsAsync<ArgumentException>(() => wrong.EvaluateAsync(space, [3, 1], default).AsTask())).Message, StringComparison.Ordinal);
        var failing = new BenchmarkCommandEvaluator("/bin/sh", ["-c", "echo boom >&2; exit 3"]);
        Assert.Contains("exited with 3: boom", (await Assert.ThrowsAsync<InvalidOperationException>(() => failing.EvaluateAsync(space, [3, 1], default).AsTask())).Message, StringComparison.Ordinal);
    }
}
