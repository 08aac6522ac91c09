using System.Diagnostics;
using VmEcosystem.Tuning;
using Xunit;

namespace VmEcosystem.IntegrationTests;

/// <summary>
/// Tuning real sysbench runs: threads and memory-block size as genes, the CPU quota applied through a cgroup. Needs
/// sysbench (setup-sysbench.sh installs Debian's; .ci/run calls it) and root for the cgroup; skips with the reason
/// otherwise, and fails instead when VMECO_REQUIRE_SYSBENCH=1 (CI).
/// </summary>
public sealed class SysbenchTuningTests
{
    private const string Space = """
        { "genes": [
            { "name": "threads", "type": "int", "min": 1, "max": 4 },
            { "name": "blockSize", "type": "categorical", "choices": ["1K", "4K", "16K", "64K", "256K"] },
            { "name": "cpuQuota", "type": "real", "min": 0.25, "max": 2, "step": 0.25 } ],
          "constraints": [ "threads <= 4 * cpuQuota" ] }
        """;

    private static readonly string[] Arguments =
        ["memory", "--threads={threads}", "--memory-block-size={blockSize}", "--memory-total-size=100T", "--time=1", "run"];

    [Fact]
    public async Task Tuning_real_sysbench_runs_improves_on_the_baseline_and_the_cpu_quota_is_really_applied()
    {
        await RequireSysbenchAsync();
        var space = SearchSpaceJson.Parse(Space);
        var evaluator = new BenchmarkCommandEvaluator("sysbench", Arguments) { CpuQuotaGene = "cpuQuota" };

        // The quota is real: one thread gets far less done with a quarter of a core than with two cores.
        var starved = await evaluator.EvaluateAsync(space, [1, 3, 0.25], TestContext.Current.CancellationToken);
        var free = await evaluator.EvaluateAsync(space, [1, 3, 2], TestContext.Current.CancellationToken);
        Assert.True(starved["mibPerSecond"] < 0.6 * free["mibPerSecond"], $"0.25 cores: {starved["mibPerSecond"]} MiB/s, 2 cores: {free["mibPerSecond"]} MiB/s");

        // Goals: memory throughput (0.7) against the CPU quota asked for (0.3). Baseline: 1 thread, 1 KiB blocks, half a core.
        TuningGoal[] goals = [new("mibPerSecond", GoalDirection.Maximize, 0.7), new("config.cpuQuota", GoalDirection.Minimize, 0.3)];
        var options = new TuningOptions
        {
            Genetic = new GeneticOptions { PopulationSize = 6, Generations = 3, MutationProbability = 0.3, GuidedCandidates = 8 },
            EvaluationTimeout = TimeSpan.FromSeconds(30),
        };
        var result = new ConfigurationTuner(space, goals, evaluator, options).Run([1, 0, 0.5], new Random(3), TestContext.Current.CancellationToken);
        Assert.Equal(1, result.Baseline.Fitness.Score, 9);
        Assert.True(result.Evaluations.Count >= 8, $"{result.Evaluations.Count} evaluations");
        Assert.All(result.Evaluations, e => Assert.Null(e.Error));
        // Here: 4 threads, 64 KiB blocks, 1 core scored 0.77 (13.8 GiB/s against the baseline's 3.3); the bar leaves room
        // for a loaded machine.
        Assert.True(result.Best.Fitness.Score < 0.9, $"best {result.Best.Fitness.Score} ({space.Describe(result.Best.Values)})");
        Assert.True(result.Best.Metrics["mibPerSecond"] > 1.5 * result.Baseline.Metrics["mibPerSecond"]);
        Assert.Empty(Directory.EnumerateDirectories("/sys/fs/cgroup", "vmeco-tuning-*", SearchOption.AllDirectories)); // no cgroup left
    }

    private static async Task RequireSysbenchAsync()
    {
        string? reason = null;
        if (!OperatingSystem.IsLinux() || Environment.UserName != "root")
        {
            reason = "needs Linux and root (a cgroup per run)";
        }
        else if (!OnPath("sysbench"))
        {
            var start = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true };
            start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "setup-sysbench.sh"));
            using var p = Process.Start(start)!;
            await p.WaitForExitAsync(TestContext.Current.CancellationToken);
            reason = OnPath("sysbench") ? null : $"sysbench could not be installed by setup-sysbench.sh (exit {p.ExitCode})";
        }

        if (reason is not null)
        {
            Assert.False(Environment.GetEnvironmentVariable("VMECO_REQUIRE_SYSBENCH") == "1", reason);
            Assert.Skip(reason);
        }
    }

    private static bool OnPath(string program) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Any(d => File.Exists(Path.Combine(d, program)));
}
