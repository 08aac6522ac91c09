using System.Net.Sockets;
using System.Text.Json;

namespace VmEcosystem.AspNetCore.Tests;

/// <summary>
/// <c>vmeco serve --instances 3</c> on the private PostgreSQL the PostgreSQL tests use (issue 22): three replicas on
/// one simulated estate, each with its own API; their status shows one leader per term and, with the leader's
/// connections killed every 30 simulated minutes, takeovers by the others.
/// </summary>
public sealed class ServeInstancesTests
{
    private const string Server = "127.0.0.1";
    private const int Port = 55432;

    [Fact]
    public async Task Three_replicas_show_their_leader_and_its_takeovers_in_their_status()
    {
        var ct = TestContext.Current.CancellationToken;
        await RequirePostgresAsync(ct);
        string schema = "serve_" + Guid.NewGuid().ToString("N")[..12];
        using var serve = await ServeProcess.StartAsync(
            ["--instances", "3", "--postgres", $"Host={Server};Port={Port};Username=postgres;Database=vmeco", "--speed", "600", "--hours", "4",
             "--kill-leader-every", "30", "--mode", "Automatic", "--api-key", "reader-key-123=vmecosystem.read"],
            ct, instances: 3, environment: new Dictionary<string, string> { ["VMECO_VmEcosystem__PostgreSql__Schema"] = schema });
        Assert.Equal(3, serve.Urls.Distinct().Count());

        // Each term (token) is led by one instance only; the lead changes hands as the leader is cut off.
        var termHolders = new Dictionary<long, HashSet<string>>();
        using var http = new HttpClient();
        http.DefaultRequestHeaders.Add("X-Api-Key", "reader-key-123");
        for (int poll = 0; poll < 150 && termHolders.Count < 3; poll++)
        {
            foreach (var url in serve.Urls)
            {
                using var status = JsonDocument.Parse(await http.GetStringAsync($"{url}/vmeco/status", ct));
                var leadership = status.RootElement.GetProperty("leadership");
                if (leadership.GetProperty("isLeader").GetBoolean())
                {
                    long token = leadership.GetProperty("token").GetInt64();
                    (termHolders.TryGetValue(token, out var holders) ? holders : termHolders[token] = []).Add(leadership.GetProperty("instance").GetString()!);
                }
            }

            await Task.Delay(200, ct);
        }

        Assert.True(termHolders.Count >= 2, $"only {termHolders.Count} leadership terms were seen");
        Assert.All(termHolders, t => Assert.Single(t.Value));
        Assert.True(termHolders.Values.SelectMany(h => h).Distinct().Count() >= 2, "the lead never changed hands");
    }

    // The server .ci/run starts (tests/PostgreSql.Tests/setup-postgres.sh); skipped without it unless CI requires it.
    private static async Task RequirePostgresAsync(CancellationToken ct)
    {
        try
        {
            using var client = new TcpClient();
            await client.ConnectAsync(Server, Port, ct);
        }
        catch (SocketException ex)
        {
            if (Environment.GetEnvironmentVariable("VMECO_REQUIRE_POSTGRES") == "1")
            {
                throw new InvalidOperationException($"PostgreSQL is required (VMECO_REQUIRE_POSTGRES=1) but {Server}:{Port} does not answer: {ex.Message}");
            }

            Assert.Skip($"no PostgreSQL on {Server}:{Port} (start it with tests/PostgreSql.Tests/setup-postgres.sh)");
        }
    }
}
