using System.Net;
using System.Text;

namespace VmEcosystem.AspNetCore.Tests;

/// <summary><c>POST /dependencies</c>, <c>GET/DELETE /dependencies/{vm}</c>, <c>GET /ecosystem</c> and <c>GET /cluster</c>.</summary>
public sealed class DependencyEndpointTests
{
    private const string Operate = "vmecosystem.operate";
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_batch_is_declared_read_back_and_removed()
    {
        await using var host = await ApiHost.StartAsync(cancellationToken: Ct);
        using var client = host.Client(Operate);
        const string batch = """
            [
              { "vm_name": "shop00-web0", "dependencies": { "required": [ { "type": "database", "network_latency_requirement": "<2ms" } ] } },
              { "vm_name": "newcomer", "dependencies": { "preferred": [ { "type": "cache" } ] } }
            ]
            """;
        var accepted = await ApiAssert.JsonAsync(await client.PostAsync("/vmeco/dependencies", ApiHost.Json(batch), Ct));
        Assert.Equal(2, accepted.GetProperty("accepted").GetInt32());

        var declared = await ApiAssert.JsonAsync(await client.GetAsync("/vmeco/dependencies/newcomer", Ct));
        Assert.Equal("newcomer", declared.GetProperty("vm_name").GetString());
        Assert.Equal("cache", declared.GetProperty("dependencies").GetProperty("preferred")[0].GetProperty("type").GetString());
        Assert.Contains(host.Runtime.Ecosystem!.Declarations, d => d.VmName == "newcomer");

        Assert.Equal(HttpStatusCode.NoContent, (await client.DeleteAsync("/vmeco/dependencies/newcomer", Ct)).StatusCode);
        await ApiAssert.ProblemAsync(await client.GetAsync("/vmeco/dependencies/newcomer", Ct), HttpStatusCode.NotFound);
        await ApiAssert.ProblemAsync(await client.DeleteAsync("/vmeco/dependencies/newcomer", Ct), HttpStatusCode.NotFound);
        Assert.DoesNotContain(host.Runtime.Ecosystem!.Declarations, d => d.VmName == "newcomer");
    }

    [Theory]
    [InlineData("""{ "vm_name": "a", "dependencies": { "required": [ { "type": 5 } ] } }""", "$.dependencies.required[0].type")]
    [InlineData("""{ "vm_name": "a", "colour": "red" }""", "$.colour")]
    [InlineData("""{ "dependencies": {} }""", "$")]
    [InlineData("""[ { "vm_name": "a" }, { "vm_name": "b", "dependencies": { "required": [ { "type": "db", "network_latency_requirement": "fast" } ] } } ]""", "$[1].dependencies.required[0].network_latency_requirement")]
    [InlineData("""{ "vm_name": "a", """, "$")]
    [InlineData("""[]""", "$")]
    [InlineData("""42""", "$")]
    [InlineData("""[ { "vm_name": "a" }, { "vm_name": "a" } ]""", "$[1].vm_name")]
    public async Task Invalid_declarations_are_problems_naming_each_path_and_change_nothing(string body, string path)
    {
        await using var host = await ApiHost.StartAsync(cancellationToken: Ct);
        using var client = host.Client(Operate);
        int before = host.Runtime.Ecosystem!.Declarations.Count;
        var messages = await ApiAssert.ValidationAsync(await client.PostAsync("/vmeco/dependencies", ApiHost.Json(body), Ct), path);
        Assert.NotEmpty(messages);
        Assert.Equal(before, host.Runtime.Ecosystem!.Declarations.Count);
    }

    [Fact]
    public async Task Too_large_wrong_type_and_invalid_utf8_bodies_are_problems()
    {
        await using var host = await ApiHost.StartAsync(api: o => o.MaxRequestBodyBytes = 4096, observe: false, cancellationToken: Ct);
        using var client = host.Client(Operate);
        var huge = Encoding.UTF8.GetBytes("[" + string.Join(",", Enumerable.Repeat("""{"vm_name":"x"}""", 1000)) + "]");
        await ApiAssert.ProblemAsync(await client.PostAsync("/vmeco/dependencies", ApiHost.Bytes(huge), Ct), HttpStatusCode.RequestEntityTooLarge);
        await ApiAssert.ProblemAsync(await client.PostAsync("/vmeco/dependencies", ApiHost.Bytes("vm_name=a"u8.ToArray(), "application/x-www-form-urlencoded"), Ct),
            HttpStatusCode.UnsupportedMediaType);
        var messages = await ApiAssert.ValidationAsync(await client.PostAsync("/vmeco/dependencies", ApiHost.Bytes([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d]), Ct), "$");
        Assert.Contains(messages, m => m.Contains("UTF-8", StringComparison.Ordinal));
    }

    [Fact]
    public async Task The_ecosystem_is_paged_and_filtered_and_lists_unsatisfied_edges()
    {
        await using var host = await ApiHost.StartAsync(cancellationToken: Ct);
        using var client = host.Client("vmecosystem.read");
        var all = await ApiAssert.JsonAsync(await client.GetAsync("/vmeco/ecosystem?limit=1000", Ct));
        int total = all.GetProperty("total").GetInt32();
        Assert.Equal(host.Runtime.Ecosystem!.Vms.Count, total);
        Assert.True(all.GetProperty("cluster").GetProperty("requiredUnmet").GetInt32() > 0, "the scenario scatters tiers: some required dependencies start unmet");
        var unsatisfied = all.GetProperty("unsatisfied");
        Assert.True(unsatisfied.GetArrayLength() > 0);
        Assert.All(unsatisfied.EnumerateArray(), e => Assert.False(e.GetProperty("met").GetBoolean()));

        var page = await ApiAssert.JsonAsync(await client.GetAsync("/vmeco/ecosystem?offset=5&limit=7", Ct));
        Assert.Equal(7, page.GetProperty("vms").GetArrayLength());
        Assert.Equal(all.GetProperty("vms")[5].GetProperty("vm").GetString(), page.GetProperty("vms")[0].GetProperty("vm").GetString());

        string host0 = all.GetProperty("vms")[0].GetProperty("host").GetString()!;
        var onHost = await ApiAssert.JsonAsync(await client.GetAsync($"/vmeco/ecosystem?host={host0}&limit=1000", Ct));
        Assert.All(onHost.GetProperty("vms").EnumerateArray(), v => Assert.Equal(host0, v.GetProperty("host").GetString()));

        var bad = await ApiAssert.JsonAsync(await client.GetAsync("/vmeco/ecosystem?unsatisfied=true&limit=1000", Ct));
        Assert.All(bad.GetProperty("vms").EnumerateArray(), v => Assert.True(v.GetProperty("score").GetDouble() < 1 || v.GetProperty("requiredMet").GetInt32() < v.GetProperty("requiredTotal").GetInt32()));

        await ApiAssert.ValidationAsync(await client.GetAsync("/vmeco/ecosystem?limit=0", Ct), "query:limit");
        await ApiAssert.ValidationAsync(await client.GetAsync("/vmeco/ecosystem?limit=abc", Ct), "query:limit");
        await ApiAssert.ValidationAsync(await client.GetAsync("/vmeco/ecosystem?unsatisfied=maybe", Ct), "query:unsatisfied");
    }

    [Fact]
    public async Task The_cluster_shows_every_host_with_its_binding_resource()
    {
        await using var host = await ApiHost.StartAsync(cancellationToken: Ct);
        using var client = host.Client("vmecosystem.read");
        var cluster = await ApiAssert.JsonAsync(await client.GetAsync("/vmeco/cluster?vms=true", Ct));
        var view = host.Runtime.Cluster!;
        Assert.Equal(view.Hosts.Count, cluster.GetProperty("hosts").GetArrayLength());
        Assert.Equal(view.Vms.Count, cluster.GetProperty("vms").GetArrayLength());
        foreach (var h in cluster.GetProperty("hosts").EnumerateArray())
        {
            double cpu = h.GetProperty("cpuUtilization").GetDouble(), memory = h.GetProperty("memoryUtilization").GetDouble();
            Assert.Equal(memory > cpu ? "memory" : "cpu", h.GetProperty("bindingResource").GetString());
            Assert.Equal(h.GetProperty("memoryAllocatedMiB").GetDouble() / h.GetProperty("memoryCapacityMiB").GetDouble(), memory, 9);
        }

        // The predictive policy forecasts every VM: each carries its forecast and the interval's upper bound.
        Assert.True(cluster.GetProperty("forecastHorizonMinutes").GetDouble() > 0);
        Assert.All(cluster.GetProperty("vms").EnumerateArray(), v =>
            Assert.True(v.GetProperty("forecastUpperMhz").GetDouble() >= v.GetProperty("forecastMhz").GetDouble()));
        Assert.Equal(view.Vms.Sum(v => v.MemoryMiB), cluster.GetProperty("hosts").EnumerateArray().Sum(h => h.GetProperty("memoryAllocatedMiB").GetDouble()), 3);
    }

    [Fact]
    public async Task Before_the_first_observation_the_cluster_is_unavailable_and_without_a_map_the_ecosystem_is_a_conflict()
    {
        await using var host = await ApiHost.StartAsync(observe: false, cancellationToken: Ct);
        using var client = host.Client("vmecosystem.read");
        await ApiAssert.ProblemAsync(await client.GetAsync("/vmeco/cluster", Ct), HttpStatusCode.ServiceUnavailable);
    }
}
