using Microsoft.Extensions.DependencyInjection;
using VmEcosystem.Cluster;
using VmEcosystem.Hosting;
using VmEcosystem.Runtime;
using VmEcosystem.Runtime.Audit;
using VmEcosystem.Runtime.Tuning;
using VmEcosystem.Tuning;
using Xunit;

namespace VmEcosystem.Tests.Tuning;

/// <summary>Tuning runs as a service: started, measured in the background, audited, cancelled, resumed after a restart.</summary>
public sealed class TuningRunServiceTests
{
    private static readonly Dictionary<string, string> Baseline = new()
    {
        ["vcpus"] = "16", ["memoryGiB"] = "32", ["threads"] = "16", ["cacheMiB"] = "0", ["gc"] = "serial", ["compression"] = "false",
    };

    internal static TuningRunRequest Request(string id, int generations = 8, VmId? vm = null) => new()
    {
        Id = id,
        SearchSpace = SimulatedApplication.SearchSpaceJson,
        Goals =
        [
            new("throughput", TuningGoalDirection.Maximize, 0.4), new("latencyMs", TuningGoalDirection.Minimize, 0.3),
            new("cost", TuningGoalDirection.Minimize, 0.3), new("availability", TuningGoalDirection.AtLeast, 0, 0.999),
        ],
        Baseline = Baseline,
        Evaluator = "simulated",
        Population = 12,
        Generations = generations,
        Seed = 7,
        Vm = vm,
    };

    private static ServiceProvider Services(IAuditStore store, Action<VmEcosystemBuilder>? more = null)
    {
        var services = new ServiceCollection();
        services.AddVmEcosystem(b =>
        {
            b.UseSimulator().UseAuditStore(_ => store).AddConfigurationTuning().AddSimulatedTuningEvaluator();
            more?.Invoke(b);
        });
        return services.BuildServiceProvider();
    }

    [Fact]
    public async Task A_run_improves_on_its_baseline_records_its_measurements_and_is_audited()
    {
        var store = new InMemoryAuditStore();
        await using var sp = Services(store);
        var service = sp.GetRequiredService<TuningRunService>();
        await service.StartAsync(CancellationToken.None);
        var vm = new VmId("tuning-vm");
        var started = service.Start(Request("t1", vm: vm));
        Assert.Equal(TuningRunState.Running, started.State);
        var done = await service.WaitAsync("t1", TestContext.Current.CancellationToken);

        Assert.Equal(TuningRunState.Completed, done.State);
        Assert.Equal("generations", done.Stopped);
        Assert.Equal(1, done.Baseline!.Score, 9);
        Assert.True(done.Best!.Score < 0.8, $"best {done.Best.Score}");
        Assert.Equal(done.Evaluations + 1, service.Evaluations("t1").Count); // the baseline first
        Assert.Equal(0, service.Evaluations("t1")[0].Index);
        Assert.All(done.Best.Parts, p => Assert.Contains(p.Metric, new[] { "throughput", "latencyMs", "cost", "availability" }));

        // what was measured on the test VM is in the runtime's metric store, as the controllers read it
        var metricStore = sp.GetRequiredService<ApplicationMetricStore>();
        var history = metricStore.History(vm);
        Assert.Equal(done.Evaluations + 1, history.Count);
        Assert.All(history, s => Assert.Equal("tuning:t1", s.Source));
        Assert.Equal(history[^1].Detail["latencyMs"], (await metricStore.GetAsync(vm, CancellationToken.None))!.Value.LatencyMs);

        var records = await store.QueryAsync(new AuditQuery { Kinds = [AuditKind.TuningRunChanged] }).ToListAsync();
        Assert.Equal(2, records.Count);
        Assert.StartsWith("tuning run t1 started", records[0].Message, StringComparison.Ordinal);
        Assert.StartsWith("tuning run t1 completed", records[1].Message, StringComparison.Ordinal);
        Assert.Contains("best score", records[1].Message, StringComparison.Ordinal);
        await service.StopAsync(CancellationToken.None);
    }

    [Fact]
    public async Task Bad_requests_are_refused_naming_the_field()
    {
        await using var sp = Services(new InMemoryAuditStore());
        var service = sp.GetRequiredService<ITuningRuns>();
        Assert.StartsWith("Evaluator: no tuning evaluator named 'gpu'", Assert.Throws<ArgumentException>(() => service.Start(Request("a") with { Evaluator = "gpu" })).Message, StringComparison.Ordinal);
        Assert.StartsWith("Id:", Assert.Throws<ArgumentException>(() => service.Start(Request("a b"))).Message, StringComparison.Ordinal);
        Assert.StartsWith("SearchSpace: genes[0].max", Assert.Throws<ArgumentException>(() => service.Start(Request("a") with
        {
            SearchSpace = "genes:\n  - { name: vcpus, type: int, min: 4, max: 2 }",
        })).Message, StringComparison.Ordinal);
        Assert.StartsWith("Baseline: 'g1' is not a choice of 'gc'", Assert.Throws<ArgumentException>(() => service.Start(Request("a") with
        {
            Baseline = new Dictionary<string, string>(Baseline) { ["gc"] = "g1" },
        })).Message, StringComparison.Ordinal);
        Assert.StartsWith("Baseline: expected a configuration within the constraints", Assert.Throws<ArgumentException>(() => service.Start(Request("a") with
        {
            Baseline = new Dictionary<string, string>(Baseline) { ["vcpus"] = "1" },
        })).Message, StringComparison.Ordinal);
        Assert.StartsWith("Goals[0].Target", Assert.Throws<ArgumentException>(() => service.Start(Request("a") with
        {
            Goals = [new("availability", TuningGoalDirection.AtLeast, 0)],
        })).Message, StringComparison.Ordinal);
        Assert.StartsWith("Population", Assert.Throws<ArgumentException>(() => service.Start(Request("a") with { Population = 1 })).Message, StringComparison.Ordinal);
        service.Start(Request("a", generations: 1));
        Assert.Throws<InvalidOperationException>(() => service.Start(Request("a")));
        await service.WaitAsync("a", TestContext.Current.CancellationToken);
        Assert.Throws<KeyNotFoundException>(() => service.Evaluations("nope"));
        Assert.Null(service.GetStatus("nope"));
    }

    [Fact]
    public async Task A_cancelled_run_keeps_what_it_found()
    {
        var gate = new GatedEvaluator(after: 30);
        await using var sp = Services(new InMemoryAuditStore(), b => b.AddTuningEvaluator("gated", _ => gate));
        var service = sp.GetRequiredService<ITuningRuns>();
        service.Start(Request("c", generations: 50) with { Evaluator = "gated" });
        await gate.Blocked.Task.WaitAsync(TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken);
        Assert.True(service.Cancel("c"));
        var done = await service.WaitAsync("c", TestContext.Current.CancellationToken);
        Assert.Equal(TuningRunState.Cancelled, done.State);
        Assert.NotNull(done.Best);
        Assert.False(service.Cancel("c"));
    }

    [Fact]
    public async Task A_run_waiting_for_its_turn_is_already_in_the_trail_and_runs_when_the_turn_comes()
    {
        var store = new InMemoryAuditStore();
        var gate = new GatedEvaluator(after: 0);
        await using var sp = Services(store, b => b.AddConfigurationTuning(o => o.MaxConcurrentRuns = 1).AddTuningEvaluator("gated", _ => gate));
        var service = sp.GetRequiredService<ITuningRuns>();
        service.Start(Request("first") with { Evaluator = "gated" });
        await gate.Blocked.Task.WaitAsync(TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken);
        service.Start(Request("second", generations: 2));
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!(await store.QueryAsync(new AuditQuery { Kinds = [AuditKind.TuningRunChanged] }).ToListAsync()).Any(r => r.Message.StartsWith("tuning run second started", StringComparison.Ordinal)))
        {
            Assert.True(DateTime.UtcNow < deadline, "the queued run was not recorded");
            await Task.Delay(10, TestContext.Current.CancellationToken);
        }

        Assert.Equal(0, service.GetStatus("second")!.Evaluations); // recorded, still waiting for the first
        service.Cancel("first");
        Assert.Equal(TuningRunState.Completed, (await service.WaitAsync("second", TestContext.Current.CancellationToken)).State);
    }

    [Fact]
    public async Task A_run_interrupted_by_a_restart_resumes_from_its_last_generation_and_ends_as_an_uninterrupted_one()
    {
        var whole = new InMemoryAuditStore();
        TuningRunStatus expected;
        await using (var sp = Services(whole))
        {
            var service = sp.GetRequiredService<TuningRunService>();
            service.Start(Request("r", generations: 10));
            expected = await service.WaitAsync("r", TestContext.Current.CancellationToken);
        }

        var store = new InMemoryAuditStore();
        var gate = new GatedEvaluator(after: 50); // mid-run: the population is 12
        await using (var first = Services(store, b => b.AddTuningEvaluator("simulated-gated", _ => gate)))
        {
            var service = first.GetRequiredService<TuningRunService>();
            await service.StartAsync(CancellationToken.None);
            service.Start(Request("r", generations: 10) with { Evaluator = "simulated-gated" });
            await gate.Blocked.Task.WaitAsync(TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken);
            Assert.True(service.GetStatus("r")!.Generation >= 2);
            await service.StopAsync(CancellationToken.None); // the host stops: the run stays running in the trail
            Assert.Equal(TuningRunState.Running, service.GetStatus("r")!.State);
        }

        await using var second = Services(store, b => b.AddTuningEvaluator("simulated-gated", _ => new SimulatedTuningEvaluator()));
        var resumed = second.GetRequiredService<TuningRunService>();
        await resumed.StartAsync(CancellationToken.None);
        var done = await resumed.WaitAsync("r", TestContext.Current.CancellationToken);
        Assert.Equal(TuningRunState.Completed, done.State);
        Assert.Equal(expected.Evaluations, done.Evaluations);
        Assert.Equal(expected.Best!.Score, done.Best!.Score);
        Assert.Equal(expected.Best.Settings, done.Best.Settings);
        var messages = (await store.QueryAsync(new AuditQuery { Kinds = [AuditKind.TuningRunChanged] }).ToListAsync()).Select(r => r.Message.Split(':')[0]);
        Assert.Equal(["tuning run r started", "tuning run r resumed", "tuning run r completed"], messages);

        // a third start lists the finished run with what it found, and does not run it again
        await using var third = Services(store);
        var listed = third.GetRequiredService<TuningRunService>();
        await listed.StartAsync(CancellationToken.None);
        var again = listed.GetStatus("r")!;
        Assert.Equal(TuningRunState.Completed, again.State);
        Assert.Equal(done.Best.Score, again.Best!.Score);
        Assert.Equal(done.Evaluations + 1, listed.Evaluations("r").Count);
    }

    [Fact]
    public async Task A_benchmark_evaluator_without_a_program_or_without_a_test_vm_says_what_is_missing()
    {
        await using var sp = Services(new InMemoryAuditStore(), b => b
            .AddBenchmarkTuningEvaluator("none")
            .AddBenchmarkTuningEvaluator("echo", o =>
            {
                o.FileName = "/bin/echo";
                o.Arguments = ["events per second: {threads}"];
                o.VcpusSetting = "vcpus";
            }));
        var ex = Assert.Throws<Microsoft.Extensions.Options.OptionsValidationException>(() => sp.GetRequiredKeyedService<ITuningEvaluator>("none"));
        Assert.Contains("VmEcosystem:Tuning:Evaluators:none:FileName", ex.Message, StringComparison.Ordinal);
        var service = sp.GetRequiredService<ITuningRuns>();
        service.Start(Request("novm", generations: 1) with { Evaluator = "echo" });
        var done = await service.WaitAsync("novm", TestContext.Current.CancellationToken);
        Assert.Equal(TuningRunState.Failed, done.State);
        Assert.Contains("names no Vm", done.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Only_the_leader_runs_tuning_and_a_new_leader_takes_a_running_run_over_from_its_last_generation()
    {
        TuningRunStatus expected;
        await using (var whole = Services(new InMemoryAuditStore()))
        {
            var service = whole.GetRequiredService<TuningRunService>();
            service.Start(Request("h", generations: 10));
            expected = await service.WaitAsync("h", TestContext.Current.CancellationToken);
        }

        var store = new InMemoryAuditStore();
        bool aLeads = true;
        var gate = new GatedEvaluator(after: 50);
        await using var a = Services(store, b => b.AddTuningEvaluator("shared", _ => gate));
        await using var b = Services(store, b => b.AddTuningEvaluator("shared", _ => new SimulatedTuningEvaluator()));
        var first = a.GetRequiredService<TuningRunService>();
        var second = b.GetRequiredService<TuningRunService>();
        (first.Leads, first.LeadershipCheck) = (() => aLeads, TimeSpan.FromMilliseconds(20));
        (second.Leads, second.LeadershipCheck) = (() => !aLeads, TimeSpan.FromMilliseconds(20));
        await first.StartAsync(CancellationToken.None);
        await second.StartAsync(CancellationToken.None);
        Assert.StartsWith("This instance does not lead", Assert.Throws<InvalidOperationException>(() => second.Start(Request("x"))).Message, StringComparison.Ordinal);

        first.Start(Request("h", generations: 10) with { Evaluator = "shared" });
        await gate.Blocked.Task.WaitAsync(TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken);
        aLeads = false; // the lead moves to the second instance: the first hands the run over, the second resumes it
        var done = await WaitForRunAsync(second, "h");
        Assert.Equal(TuningRunState.Completed, done.State);
        Assert.Equal(expected.Evaluations, done.Evaluations);
        Assert.Equal(expected.Best!.Settings, done.Best!.Settings);
        Assert.Equal(TuningRunState.Running, first.GetStatus("h")!.State); // the first no longer measures it, and does not claim it ended
        await first.StopAsync(CancellationToken.None);
        await second.StopAsync(CancellationToken.None);
    }

    private static async Task<TuningRunStatus> WaitForRunAsync(TuningRunService service, string id)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (service.GetStatus(id) is null)
        {
            Assert.True(DateTime.UtcNow < deadline, $"run {id} was not taken over");
            await Task.Delay(10, TestContext.Current.CancellationToken);
        }

        return await service.WaitAsync(id, TestContext.Current.CancellationToken).WaitAsync(TimeSpan.FromSeconds(60), TestContext.Current.CancellationToken);
    }

    /// <summary>The simulated application, blocking (until cancelled) after a number of measurements.</summary>
    private sealed class GatedEvaluator(int after) : ITuningEvaluator
    {
        private readonly SimulatedTuningEvaluator _inner = new();
        private int _count;

        public TaskCompletionSource Blocked { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public async ValueTask<IReadOnlyDictionary<string, double>> EvaluateAsync(TuningCandidate candidate, CancellationToken cancellationToken)
        {
            if (Interlocked.Increment(ref _count) > after)
            {
                Blocked.TrySetResult();
                await Task.Delay(Timeout.Infinite, cancellationToken);
            }

            return await _inner.EvaluateAsync(candidate, cancellationToken);
        }
    }
}
