using System.Net;
using System.Text.Json;
using VmEcosystem.Simulation;

namespace VmEcosystem.AspNetCore.Tests;

/// <summary>Tuning runs over HTTP: started with a YAML space, watched, listed, their best rolled out; bad bodies named.</summary>
public sealed class TuningEndpointTests
{
    private const string Yaml = """
        genes:
          - { name: vcpus, type: int, min: 1, max: 16 }
          - { name: memoryGiB, type: real, min: 1, max: 32, step: 0.5 }
          - { name: threads, type: int, min: 1, max: 64 }
          - { name: cacheMiB, type: int, min: 0, max: 4096, step: 256 }
          - { name: gc, type: categorical, choices: [serial, parallel, concurrent] }
          - { name: compression, type: bool }
        constraints:
          - memoryGiB <= 4 * vcpus
        """;

    private static string Body(string id) => JsonSerializer.Serialize(new
    {
        id,
        searchSpace = Yaml,
        goals = new object[]
        {
            new { metric = "throughput", direction = "maximize", weight = 0.4 }, new { metric = "latencyMs", direction = "minimize", weight = 0.3 },
            new { metric = "cost", direction = "minimize", weight = 0.3 }, new { metric = "availability", direction = "atLeast", target = 0.999 },
        },
        baseline = new { vcpus = 16, memoryGiB = 32, threads = 16, cacheMiB = 0, gc = "serial", compression = false },
        evaluator = "simulated",
        population = 12,
        generations = 6,
        seed = 3,
    });

    [Fact]
    public async Task A_run_started_over_http_is_watched_listed_and_its_best_rolled_out()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var host = await ApiHost.StartAsync(rollouts: true, tuning: true, cancellationToken: ct);
        using var client = host.Client("vmecosystem.operate");
        using (var started = await client.PostAsync("/vmeco/tuning/runs", ApiHost.Json(Body("t1")), ct))
        {
            Assert.Equal(HttpStatusCode.Accepted, started.StatusCode);
            Assert.Equal("running", JsonDocument.Parse(await started.Content.ReadAsStringAsync(ct)).RootElement.GetProperty("state").GetString(), ignoreCase: true);
        }

        JsonElement status;
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        do
        {
            await Task.Delay(20, ct);
            status = JsonDocument.Parse(await client.GetStringAsync("/vmeco/tuning/runs/t1", ct)).RootElement;
            Assert.True(DateTime.UtcNow < deadline, "the run did not finish");
        }
        while (status.GetProperty("state").GetString()!.Equals("running", StringComparison.OrdinalIgnoreCase));

        Assert.Equal("completed", status.GetProperty("state").GetString(), ignoreCase: true);
        Assert.True(status.GetProperty("best").GetProperty("score").GetDouble() < 1);
        long evaluations = status.GetProperty("evaluations").GetInt64();
        var list = JsonDocument.Parse(await client.GetStringAsync("/vmeco/tuning/runs/t1/evaluations", ct)).RootElement;
        Assert.Equal(evaluations + 1, list.GetArrayLength());
        Assert.Equal("serial", list[0].GetProperty("settings").GetProperty("gc").GetString());
        Assert.Equal(1, JsonDocument.Parse(await client.GetStringAsync("/vmeco/tuning/runs", ct)).RootElement.GetArrayLength());

        using (var again = await client.PostAsync("/vmeco/tuning/runs", ApiHost.Json(Body("t1")), ct))
        {
            Assert.Equal(HttpStatusCode.Conflict, again.StatusCode);
        }

        Assert.Equal(HttpStatusCode.Conflict, (await client.PostAsync("/vmeco/tuning/runs/t1/cancel", null, ct)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync("/vmeco/tuning/runs/none", ct)).StatusCode);
        using (var rollout = await client.PostAsync("/vmeco/tuning/runs/t1/rollout", ApiHost.Json("""{"rolloutId":"r-t1","vms":["shop00-web0","shop00-web1","shop00-web2","shop00-web3"]}"""), ct))
        {
            Assert.Equal(HttpStatusCode.Accepted, rollout.StatusCode);
        }

        for (int minute = 1; minute <= 3; minute++)
        {
            await SimulatedRuntime.AdvanceAsync(host.Runtime, host.Clock, host.Clock.GetUtcNow() + TimeSpan.FromMinutes(1), ct);
        }

        var versions = JsonDocument.Parse(await client.GetStringAsync("/vmeco/configurations/shop00-web0/versions", ct)).RootElement;
        var last = versions[versions.GetArrayLength() - 1];
        Assert.StartsWith("rollout r-t1", last.GetProperty("origin").GetString(), StringComparison.Ordinal);
        Assert.Equal(status.GetProperty("best").GetProperty("settings").GetProperty("threads").GetString(), last.GetProperty("settings").GetProperty("threads").GetString());
    }

    [Fact]
    public async Task Bad_bodies_are_refused_naming_the_path_and_without_tuning_the_endpoints_say_so()
    {
        var ct = TestContext.Current.CancellationToken;
        await using (var host = await ApiHost.StartAsync(tuning: true, observe: false, cancellationToken: ct))
        {
            using var client = host.Client("vmecosystem.operate");
            var body = Body("t2").Replace("\"minimize\"", "\"smaller\"", StringComparison.Ordinal).Replace("\"seed\":3", "\"seed\":3,\"colour\":1", StringComparison.Ordinal);
            using var bad = await client.PostAsync("/vmeco/tuning/runs", ApiHost.Json(body), ct);
            Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
            string text = await bad.Content.ReadAsStringAsync(ct);
            Assert.Contains("$.goals[1].direction", text, StringComparison.Ordinal);
            Assert.Contains("$.colour", text, StringComparison.Ordinal);

            using var badSpace = await client.PostAsync("/vmeco/tuning/runs", ApiHost.Json(Body("t3").Replace("max: 16", "max: 0", StringComparison.Ordinal)), ct);
            Assert.Equal(HttpStatusCode.BadRequest, badSpace.StatusCode);
            Assert.Contains("SearchSpace: genes[0].max", await badSpace.Content.ReadAsStringAsync(ct), StringComparison.Ordinal);

            using var noEvaluator = await client.PostAsync("/vmeco/tuning/runs", ApiHost.Json(Body("t4").Replace("\"simulated\"", "\"gpu\"", StringComparison.Ordinal)), ct);
            Assert.Contains("no tuning evaluator named 'gpu'", await noEvaluator.Content.ReadAsStringAsync(ct), StringComparison.Ordinal);
        }

        await using var plain = await ApiHost.StartAsync(observe: false, cancellationToken: ct);
        using var reader = plain.Client("vmecosystem.read");
        using var disabled = await reader.GetAsync("/vmeco/tuning/runs", ct);
        Assert.Equal(HttpStatusCode.NotFound, disabled.StatusCode);
        Assert.Contains("AddConfigurationTuning", await disabled.Content.ReadAsStringAsync(ct), StringComparison.Ordinal);
    }
}
