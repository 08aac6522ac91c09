using System.Diagnostics;
using System.Net;

namespace VmEcosystem.AspNetCore.Tests;

/// <summary>
/// A bounded load on Kestrel over loopback: 20,000 requests paced over 30 s (four in five reads of status, cluster,
/// ecosystem and audit pages; one in five declaration posts), 16 clients at once. No error; latency percentiles
/// reported; managed memory after the run within a bound of before it.
/// </summary>
public sealed class LoopbackLoadTests
{
    private const int Requests = 20_000;
    private static readonly TimeSpan Span = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Twenty_thousand_mixed_requests_in_thirty_seconds_without_an_error()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var host = await ApiHost.StartAsync(kestrel: true, cancellationToken: ct);
        using var client = host.Client("vmecosystem.operate");
        client.Timeout = TimeSpan.FromSeconds(30);
        await client.GetAsync("/vmeco/status", ct); // warm up
        long memoryBefore = Settled();
        var latencies = new double[Requests];
        var failures = new List<string>();
        int next = -1;
        var clock = Stopwatch.StartNew();
        var workers = Enumerable.Range(0, 16).Select(_ => Task.Run(async () =>
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < Requests)
            {
                var due = Span * ((double)i / Requests);
                if (due > clock.Elapsed)
                {
                    await Task.Delay(due - clock.Elapsed, ct);
                }

                var started = Stopwatch.GetTimestamp();
                using var response = await Send(client, i, ct);
                latencies[i] = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
                if (response.StatusCode != HttpStatusCode.OK)
                {
                    lock (failures)
                    {
                        failures.Add($"request {i}: {(int)response.StatusCode}");
                    }
                }
                else
                {
                    await response.Content.ReadAsByteArrayAsync(ct);
                }
            }
        }, ct)).ToArray();
        await Task.WhenAll(workers);
        var elapsed = clock.Elapsed;
        long memoryAfter = Settled();
        Array.Sort(latencies);
        double P(double q) => latencies[(int)Math.Min(Requests - 1, Math.Ceiling(q * Requests) - 1)];
        TestContext.Current.TestOutputHelper?.WriteLine(
            $"{Requests} requests in {elapsed.TotalSeconds:F1} s: p50 {P(0.5):F2} ms, p90 {P(0.9):F2} ms, p99 {P(0.99):F2} ms, max {latencies[^1]:F1} ms; " +
            $"managed memory {memoryBefore / 1048576.0:F1} → {memoryAfter / 1048576.0:F1} MiB; {failures.Count} errors");
        Assert.Empty(failures);
        Assert.True(elapsed < Span + TimeSpan.FromSeconds(30), $"the run took {elapsed}");
        Assert.True(memoryAfter - memoryBefore < 64L * 1024 * 1024, $"managed memory grew from {memoryBefore} to {memoryAfter} bytes");
    }

    private static Task<HttpResponseMessage> Send(HttpClient client, int i, CancellationToken ct) => (i % 10) switch
    {
        0 or 5 => client.PostAsync("/vmeco/dependencies",
            ApiHost.Json($$$"""{"vm_name":"load-{{{i % 200}}}","dependencies":{"preferred":[{"type":"cache","network_latency_requirement":"<1ms"}]}}"""), ct),
        1 or 6 => client.GetAsync("/vmeco/cluster", ct),
        2 or 7 => client.GetAsync("/vmeco/ecosystem?limit=20", ct),
        3 => client.GetAsync("/vmeco/audit?limit=20", ct),
        _ => client.GetAsync("/vmeco/status", ct),
    };

    private static long Settled()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        return GC.GetTotalMemory(forceFullCollection: true);
    }
}
