using System.Net;
using System.Text;

namespace VmEcosystem.AspNetCore.Tests;

/// <summary>
/// Over a thousand malformed or hostile bodies (random bytes, invalid UTF-8, deep nesting, wrong types, huge
/// documents and strings, mutated valid bodies) on every endpoint that reads a body: never a 500, every refusal a
/// problem-details answer, and the server still answers afterwards.
/// </summary>
public sealed class HostileInputTests
{
    private static readonly (string Method, string Path, string Valid)[] Targets =
    [
        ("POST", "/vmeco/dependencies", """{"vm_name":"shop00-web0","dependencies":{"required":[{"type":"database","network_latency_requirement":"<1ms"}]}}"""),
        ("POST", "/vmeco/migrate", """{"vm":"shop00-web0","target":"z0-r0-h0","reason":"x"}"""),
        ("POST", "/vmeco/adjustments", """{"vm":"shop00-web0","vcpus":2,"memoryMiB":2048}"""),
        ("PUT", "/vmeco/policies", """{"policies":[{"name":"p","cpu":{"growAbove":0.8,"shrinkBelow":0.3,"min":1,"max":4}}]}"""),
        ("POST", "/vmeco/decisions/plan-000001/reject", """{"reason":"no"}"""),
        ("POST", "/vmeco/rollouts", """{"id":"r1","vms":["shop00-web0","shop00-web1"],"settings":{"threads":"4","gc":"parallel"},"origin":"x"}"""),
        ("POST", "/vmeco/configurations/shop00-web0/revert", """{"version":1}"""),
    ];

    [Fact]
    public async Task No_hostile_body_gets_a_500_and_every_refusal_is_a_problem()
    {
        var ct = TestContext.Current.CancellationToken;
        string policies = Path.Combine(Path.GetTempPath(), $"vmeco-hostile-{Guid.NewGuid():N}.json");
        await File.WriteAllTextAsync(policies, Targets[3].Valid, ct);
        await using var host = await ApiHost.StartAsync(api: o => o.MaxRequestBodyBytes = 64 * 1024, policyFile: policies, cancellationToken: ct, rollouts: true);
        using var client = host.Client("vmecosystem.operate vmecosystem.internal");
        var random = new Random(20261203);
        int sent = 0, problems = 0;
        var statuses = new SortedDictionary<int, int>();
        foreach (var (method, path, valid) in Targets)
        {
            foreach (var body in Bodies(valid, random))
            {
                using var request = new HttpRequestMessage(new HttpMethod(method), path) { Content = ApiHost.Bytes(body) };
                using var response = await client.SendAsync(request, ct);
                sent++;
                int code = (int)response.StatusCode;
                statuses[code] = statuses.GetValueOrDefault(code) + 1;
                Assert.True(code != 500, $"{method} {path} answered 500 to a body starting {Preview(body)}");
                if (code >= 400)
                {
                    Assert.True(response.Content.Headers.ContentType?.MediaType == "application/problem+json",
                        $"{method} {path} answered {code} without problem details to {Preview(body)}");
                    string text = await response.Content.ReadAsStringAsync(ct);
                    Assert.DoesNotContain("   at ", text, StringComparison.Ordinal);
                    problems++;
                }
            }
        }

        TestContext.Current.TestOutputHelper?.WriteLine($"{sent} hostile bodies: {problems} problems; statuses {string.Join(", ", statuses.Select(s => $"{s.Key}×{s.Value}"))}");
        Assert.True(problems >= 1000, $"only {problems} refusals of {sent} bodies");
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/vmeco/status", ct)).StatusCode);
    }

    private static string Preview(byte[] body) => Convert.ToHexString(body.AsSpan(0, Math.Min(24, body.Length)));

    private static IEnumerable<byte[]> Bodies(string valid, Random random)
    {
        var utf8 = Encoding.UTF8;
        for (int i = 0; i < 40; i++)
        {
            var bytes = new byte[random.Next(1, 2000)];
            random.NextBytes(bytes);
            yield return bytes; // noise
        }

        for (int i = 0; i < 30; i++)
        {
            var bytes = utf8.GetBytes(valid).ToList();
            int at = bytes.IndexOf((byte)'"') + 1 + random.Next(0, 3);
            bytes.InsertRange(Math.Min(at, bytes.Count), new[] { (byte)0xC3, (byte)0x28, (byte)0xFF, (byte)0xED, (byte)0xA0, (byte)0x80 }.Take(random.Next(1, 7)));
            yield return [.. bytes]; // invalid UTF-8 inside a string
        }

        foreach (int depth in new[] { 33, 64, 100, 1000, 10_000, 30_000 })
        {
            yield return utf8.GetBytes(new string('[', depth) + new string(']', depth));
            yield return utf8.GetBytes(string.Concat(Enumerable.Repeat("{\"a\":", depth)) + "1" + new string('}', depth));
            yield return utf8.GetBytes(new string('[', depth)); // unterminated
        }

        string[] values = ["null", "true", "false", "0", "-1", "1e400", "-1e400", "1.5", "\"\"", "\"   \"", "[]", "{}", "[[[]]]", "{\"x\":{}}",
            "\"" + new string('x', 100_000) + "\"", "\"\\u0000\\u0001\"", "\"\\ud800\"", "12345678901234567890123456789", "NaN", "\"../../etc/passwd\"", "\"<script>alert(1)</script>\""];
        foreach (var field in FieldsOf(valid))
        {
            foreach (var v in values)
            {
                yield return utf8.GetBytes(ReplaceValue(valid, field, v)); // wrong types and odd values
            }
        }

        foreach (var v in values)
        {
            yield return utf8.GetBytes(v); // a bare value
        }

        for (int i = 0; i < 10; i++)
        {
            yield return utf8.GetBytes("[" + string.Join(",", Enumerable.Repeat(valid, 70 + i * 50)) + "]"); // larger than the limit
        }

        for (int i = 0; i < 150; i++)
        {
            var chars = valid.ToCharArray().ToList();
            int n = random.Next(1, 4);
            for (int k = 0; k < n && chars.Count > 0; k++)
            {
                int at = random.Next(chars.Count);
                switch (random.Next(3))
                {
                    case 0: chars.RemoveAt(at); break;
                    case 1: chars.Insert(at, "{}[]\",:0a\\"[random.Next(10)]); break;
                    default: chars[at] = "{}[]\",:0a\\"[random.Next(10)]; break;
                }
            }

            yield return utf8.GetBytes(new string([.. chars])); // mutated
        }

        yield return [];
        yield return utf8.GetBytes(valid.Replace("{", "{\"extra\":1,", StringComparison.Ordinal));
        yield return utf8.GetBytes(valid + valid);
        yield return utf8.GetBytes(valid + ",");
        yield return [0xEF, 0xBB, 0xBF, .. utf8.GetBytes(valid)]; // a byte-order mark
    }

    private static IEnumerable<string> FieldsOf(string json)
    {
        for (int i = json.IndexOf('"'); i >= 0 && i < json.Length; i = json.IndexOf('"', i + 1))
        {
            int end = json.IndexOf('"', i + 1);
            if (end < 0)
            {
                yield break;
            }

            if (end + 1 < json.Length && json[end + 1] == ':')
            {
                yield return json[(i + 1)..end];
            }

            i = end;
        }
    }

    // Replaces the first value of "field" (string, number, array or object) with raw JSON.
    private static string ReplaceValue(string json, string field, string value)
    {
        int key = json.IndexOf($"\"{field}\":", StringComparison.Ordinal);
        int start = key + field.Length + 3, end = start, depth = 0;
        bool inString = false;
        for (; end < json.Length; end++)
        {
            char c = json[end];
            if (inString)
            {
                if (c == '"' && json[end - 1] != '\\')
                {
                    inString = false;
                    if (depth == 0)
                    {
                        end++;
                        break;
                    }
                }

                continue;
            }

            if (c == '"')
            {
                inString = true;
            }
            else if (c is '{' or '[')
            {
                depth++;
            }
            else if (c is '}' or ']')
            {
                if (depth == 0)
                {
                    break;
                }

                if (--depth == 0)
                {
                    end++;
                    break;
                }
            }
            else if (c == ',' && depth == 0)
            {
                break;
            }
        }

        return json[..start] + value + json[end..];
    }
}
