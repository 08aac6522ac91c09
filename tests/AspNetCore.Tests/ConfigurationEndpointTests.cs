using System.Net;
using System.Text.Json;
using VmEcosystem.Simulation;

namespace VmEcosystem.AspNetCore.Tests;

/// <summary>Rollouts and configuration versions over HTTP.</summary>
public sealed class ConfigurationEndpointTests
{
    [Fact]
    public async Task A_rollout_started_over_http_applies_versions_that_can_be_listed_compared_and_reverted()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var host = await ApiHost.StartAsync(rollouts: true, cancellationToken: ct);
        using var client = host.Client("vmecosystem.operate");
        using (var started = await client.PostAsync("/vmeco/rollouts", ApiHost.Json("""{"id":"r1","vms":["shop00-web0","shop00-web1","shop00-web2","shop00-web3"],"settings":{"threads":"4","gc":"parallel"},"origin":"tuning run t1"}"""), ct))
        {
            Assert.Equal(HttpStatusCode.Accepted, started.StatusCode);
        }

        for (int minute = 1; minute <= 3; minute++)
        {
            await SimulatedRuntime.AdvanceAsync(host.Runtime, host.Clock, host.Clock.GetUtcNow() + TimeSpan.FromMinutes(1), ct);
        }

        var status = JsonDocument.Parse(await client.GetStringAsync("/vmeco/rollouts/r1", ct)).RootElement;
        Assert.Equal(1, status.GetProperty("onCandidate").GetInt32()); // 25 % of 4 VMs: the first canary
        var versions = JsonDocument.Parse(await client.GetStringAsync("/vmeco/configurations/shop00-web0/versions", ct)).RootElement;
        Assert.Equal(2, versions.GetArrayLength());
        Assert.Equal("initial", versions[0].GetProperty("origin").GetString());
        Assert.Equal("4", versions[1].GetProperty("settings").GetProperty("threads").GetString());
        var diff = JsonDocument.Parse(await client.GetStringAsync("/vmeco/configurations/shop00-web0/diff?from=1&to=2", ct)).RootElement;
        Assert.Equal(2, diff.GetArrayLength());
        Assert.Equal("gc", diff[0].GetProperty("setting").GetString());

        using (var revert = await client.PostAsync("/vmeco/configurations/shop00-web0/revert", ApiHost.Json("""{"version":1}"""), ct))
        {
            Assert.Equal(HttpStatusCode.Accepted, revert.StatusCode);
        }

        await SimulatedRuntime.AdvanceAsync(host.Runtime, host.Clock, host.Clock.GetUtcNow() + TimeSpan.FromMinutes(2), ct);
        versions = JsonDocument.Parse(await client.GetStringAsync("/vmeco/configurations/shop00-web0/versions", ct)).RootElement;
        Assert.Equal("revert to v1", versions[versions.GetArrayLength() - 1].GetProperty("origin").GetString());
        Assert.Equal("8", versions[versions.GetArrayLength() - 1].GetProperty("settings").GetProperty("threads").GetString());

        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync("/vmeco/rollouts/nope", ct)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync("/vmeco/configurations/shop00-web0/diff?from=1&to=9", ct)).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await client.GetAsync("/vmeco/configurations/shop00-web0/diff?from=x&to=2", ct)).StatusCode);
        using var bad = await client.PostAsync("/vmeco/rollouts", ApiHost.Json("""{"id":"r2","vms":[],"settings":{}}"""), ct);
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.Contains("$.vms", await bad.Content.ReadAsStringAsync(ct), StringComparison.Ordinal);
        using var conflict = await client.PostAsync("/vmeco/rollouts", ApiHost.Json("""{"id":"r1","vms":["shop00-web0"],"settings":{"threads":"2"}}"""), ct);
        Assert.Equal(HttpStatusCode.Conflict, conflict.StatusCode);
    }

    [Fact]
    public async Task Without_rollouts_the_endpoints_say_they_are_not_enabled()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var host = await ApiHost.StartAsync(observe: false, cancellationToken: ct);
        using var client = host.Client("vmecosystem.read");
        using var response = await client.GetAsync("/vmeco/configurations/shop00-web0/versions", ct);
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Contains("not enabled", await response.Content.ReadAsStringAsync(ct), StringComparison.Ordinal);
    }
}
