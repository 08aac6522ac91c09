using System.Text;
using VmEcosystem.Ecosystem.Declarations;

namespace VmEcosystem.Tests.Ecosystem;

/// <summary>
/// Throws 12,000 malformed or hostile documents at the parser (byte mutations, truncation, deep nesting, huge
/// strings, wrong types, invalid UTF-8, lone surrogates, control characters, absurd numbers): no exception
/// escapes, nothing hangs, and every rejection carries a short error with a JSON path.
/// </summary>
public sealed class DeclarationFuzzTests
{
    private const string Valid = """
        [ { "vm_name": "WebTier1",
            "dependencies": {
              "required":  [ { "type": "database", "version": "PostgreSQL 14", "network_latency_requirement": " < 1ms" } ],
              "preferred": [ { "type": "caching", "version": "Redis 6", "resource_profile": "high-memory" },
                             { "type": "analytics", "fuzzy_match": { "tags": ["ml"], "signature": [1, 2], "threshold": 0.5 } } ] },
            "provides": { "type": "web", "software": ["nginx 1.24"], "tags": ["a"], "signature": [0.5] } } ]
        """;

    private static readonly string[] Fields =
        ["vm_name", "dependencies", "required", "preferred", "type", "version", "network_latency_requirement", "resource_profile", "fuzzy_match",
         "cpu_architecture", "min_memory", "min_bandwidth", "storage_type", "provides", "software", "tags", "signature", "threshold", "text"];

    private static readonly string[] Values =
        ["0", "-1", "1e999", "-1e999", "true", "null", "[]", "{}", "\"\"", "\" \"", "\"\\u0000\"", "\"\\ud800\"", "\"\\udc00x\"", "[[[[]]]]",
         "{\"a\":{\"b\":{}}}", "\"< 1ms\"", "\"<= -5us\"", "\"PostgreSQL >= 14.x\"", "12345678901234567890", "0.0000000001", "[1, \"x\", null]",
         "\"\\t\\n\\r\"", "\"💥\"", "\"\\uD83D\\uDCA5\"", "NaN", "Infinity"];

    [Fact]
    public async Task Twelve_thousand_hostile_documents_are_rejected_clearly_without_crash_or_hang()
    {
        var run = Task.Run(() =>
        {
            var parser = new DeclarationParser();
            var random = new Random(20261122);
            int rejected = 0, accepted = 0;
            for (int i = 0; i < 12_000; i++)
            {
                byte[] document = Generate(random, i % 10);
                DeclarationParseResult result;
                try
                {
                    result = parser.Parse(document);
                }
                catch (Exception ex)
                {
                    throw new Xunit.Sdk.XunitException($"Case {i} (kind {i % 10}) threw {ex.GetType().Name}: {ex.Message}\n{Show(document)}");
                }

                if (result.Success)
                {
                    accepted++;
                    Assert.All(result.Declarations, d => Assert.False(string.IsNullOrWhiteSpace(d.VmName)));
                    // What the writer makes of an accepted document parses back to the same declarations.
                    string written = DeclarationWriter.ToJson(result.Declarations);
                    var again = parser.Parse(written);
                    Assert.True(again.Success, $"Case {i}: the written form was refused: {string.Join("; ", again.Errors)}\n{written}");
                    Assert.Equal(written, DeclarationWriter.ToJson(again.Declarations));
                    continue;
                }

                rejected++;
                Assert.Empty(result.Declarations);
                foreach (var error in result.Errors)
                {
                    Assert.StartsWith("$", error.Path, StringComparison.Ordinal);
                    Assert.False(string.IsNullOrWhiteSpace(error.Message));
                    // Clear means short: hostile content is never echoed at length.
                    Assert.True(error.Path.Length + error.Message.Length < 700, $"Case {i}: error too long ({error.Path.Length + error.Message.Length} chars).");
                }
            }

            return (rejected, accepted);
        });
        var finished = await Task.WhenAny(run, Task.Delay(TimeSpan.FromMinutes(3), TestContext.Current.CancellationToken));
        Assert.Same(run, finished);
        var (rejectedCount, acceptedCount) = await run;
        Assert.True(rejectedCount >= 10_000, $"Only {rejectedCount} of 12,000 documents were rejected ({acceptedCount} accepted).");
    }

    private static byte[] Generate(Random r, int kind)
    {
        byte[] valid = Encoding.UTF8.GetBytes(Valid);
        switch (kind)
        {
            case 0: // random byte flips
            {
                var b = (byte[])valid.Clone();
                for (int k = r.Next(1, 6); k > 0; k--)
                {
                    b[r.Next(b.Length)] = (byte)r.Next(256);
                }

                return b;
            }

            case 1: // truncation
                return valid[..r.Next(0, valid.Length - 1)];
            case 2: // deep nesting of arrays and objects
            {
                int depth = r.Next(10, 20_000);
                var sb = new StringBuilder();
                for (int d = 0; d < depth; d++)
                {
                    sb.Append(r.Next(2) == 0 ? "[" : "{\"vm_name\":");
                }

                return Encoding.UTF8.GetBytes(sb.ToString());
            }

            case 3: // huge strings in a field
            {
                string field = Fields[r.Next(Fields.Length)];
                string huge = new string((char)r.Next('a', 'z' + 1), r.Next(1_100, 200_000));
                return Encoding.UTF8.GetBytes(Valid.Replace($"\"{field}\": \"", $"\"{field}\": \"{huge}", StringComparison.Ordinal)
                    .Replace("\"WebTier1\"", $"\"{huge}\"", StringComparison.Ordinal));
            }

            case 4: // wrong type for a field
            {
                string field = Fields[r.Next(Fields.Length)];
                string value = Values[r.Next(Values.Length)];
                int at = Valid.IndexOf($"\"{field}\":", StringComparison.Ordinal);
                if (at < 0)
                {
                    return Encoding.UTF8.GetBytes($"{{ \"vm_name\": \"x\", \"{field}\": {value} }}");
                }

                int start = at + field.Length + 3;
                int end = start;
                int depth = 0;
                bool inString = false;
                for (; end < Valid.Length; end++)
                {
                    char c = Valid[end];
                    if (c == '"' && Valid[end - 1] != '\\')
                    {
                        inString = !inString;
                    }
                    else if (!inString && (c is '[' or '{'))
                    {
                        depth++;
                    }
                    else if (!inString && (c is ']' or '}'))
                    {
                        if (depth == 0)
                        {
                            break;
                        }

                        depth--;
                    }
                    else if (!inString && depth == 0 && c == ',')
                    {
                        break;
                    }
                }

                return Encoding.UTF8.GetBytes(Valid[..start] + value + Valid[end..]);
            }

            case 5: // invalid UTF-8 sequences inside strings
            {
                var list = valid.ToList();
                byte[][] bad = [[0xFF], [0xC0, 0xAF], [0xED, 0xA0, 0x80], [0xF8, 0x88, 0x80, 0x80, 0x80], [0xE2, 0x82], [0x80]];
                int at = list.IndexOf((byte)'W');
                list.InsertRange(at < 0 ? 0 : at, bad[r.Next(bad.Length)]);
                return [.. list];
            }

            case 6: // random field names and unknown keys
            {
                string name = r.Next(3) switch
                {
                    0 => Fields[r.Next(Fields.Length)].ToUpperInvariant(),
                    1 => new string('k', r.Next(1, 3000)),
                    _ => "\\u0000\\u001f" + r.Next(),
                };
                return Encoding.UTF8.GetBytes($"{{ \"vm_name\": \"a\", \"{name}\": 1, \"dependencies\": {{ \"required\": [ {{ \"type\": \"db\", \"{name}\": \"x\" }} ] }} }}");
            }

            case 7: // random printable noise, sometimes JSON-looking
            {
                const string alphabet = "{}[]\":,0123456789abcdefnulltrue \\u";
                var b = new byte[r.Next(0, 400)];
                for (int k = 0; k < b.Length; k++)
                {
                    b[k] = (byte)alphabet[r.Next(alphabet.Length)];
                }

                return b;
            }

            case 8: // absurd latency, version and quantity strings
            {
                string[] latencies = ["<", "<<1ms", "< 1e9ms", "< 99999999999999999999999999999999ms", "< 1 ms ms", "<= NaNms", "< .ms", "< 1ms\u0000", "< 1\u00a0ms", "<= 3600000001ms"];
                string[] versions = ["", "1", "PostgreSQL 1..2", "PostgreSQL >=", "PostgreSQL 99999999999999", "PostgreSQL ><14", "\u202e14 LQSergtsoP"];
                return Encoding.UTF8.GetBytes($$"""
                    { "vm_name": "a", "dependencies": { "required": [ { "type": "db", "network_latency_requirement": {{System.Text.Json.JsonSerializer.Serialize(latencies[r.Next(latencies.Length)])}},
                      "version": {{System.Text.Json.JsonSerializer.Serialize(versions[r.Next(versions.Length)])}}, "min_memory": "{{r.Next()}} PiB" } ] } }
                    """);
            }

            default: // many declarations, some duplicated, huge signature arrays
            {
                var sb = new StringBuilder("[");
                int n = r.Next(2, 60);
                for (int k = 0; k < n; k++)
                {
                    sb.Append(k == 0 ? string.Empty : ",").Append($"{{\"vm_name\":\"vm{r.Next(n / 2 + 1)}\",\"provides\":{{\"signature\":[");
                    int len = r.Next(0, 6000);
                    sb.AppendJoin(',', Enumerable.Range(0, len).Select(x => x % 97 == 0 ? "1e400" : "0.5"));
                    sb.Append("]}}");
                }

                return Encoding.UTF8.GetBytes(sb.Append(']').ToString());
            }
        }
    }

    private static string Show(byte[] document) => Encoding.UTF8.GetString(document.AsSpan(0, Math.Min(200, document.Length)));
}
