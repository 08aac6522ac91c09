using System.Globalization;
using System.Text;
using System.Text.Json;
using VmEcosystem.Reservations;

namespace VmEcosystem.Policies;

/// <summary>
/// Strict parser of resizing-policy documents (<c>vm-ecosystem-policies.schema.json</c>): unknown fields, wrong types,
/// values out of range and contradictions (min above max, a shrink threshold not below the grow threshold, duplicate
/// names, two policies with the same selector giving the same resource different rules) are errors naming the JSON
/// path and what was expected; every error of a document is reported (up to 100). Hostile input is bounded (size,
/// nesting depth, string length, number of policies). Never throws on any input.
/// </summary>
public sealed partial class PolicyParser
{
    /// <summary>Largest document accepted, bytes.</summary>
    public const int MaxDocumentBytes = 4 * 1024 * 1024;

    private const int MaxDepth = 16, MaxString = 256, MaxPolicies = 10_000, MaxErrors = 100;
    private static readonly string[] DocumentFields = ["$schema", "policies"];
    private static readonly string[] PolicyFields = ["name", "select", "priority", "horizon", "latencyAboveMs", "throughputPerCore", "loans", "cpu", "memory", "diskIops", "networkMbps"];
    private static readonly string[] SelectFields = ["names", "labels", "hostSet", "workloadClass"];
    private static readonly string[] LoanFields = ["maxLendShare", "maxBorrowShare", "maxDuration", "lenderMargin"];
    private static readonly string[] RuleFields = ["growAbove", "shrinkBelow", "shrinkHold", "min", "max", "step", "cooldown", "costPerUnit", "horizon"];
    private static readonly (string Field, PolicyResource Resource, double Step)[] Resources =
        [("cpu", PolicyResource.Cpu, 0.25), ("memory", PolicyResource.Memory, 512), ("diskIops", PolicyResource.DiskIops, 100), ("networkMbps", PolicyResource.NetworkMbps, 100)];

    /// <summary>Field names accepted, by object (for the schema consistency test and documentation).</summary>
    public static IReadOnlyDictionary<string, IReadOnlyList<string>> KnownFields { get; } = new Dictionary<string, IReadOnlyList<string>>
    {
        ["document"] = DocumentFields,
        ["policy"] = PolicyFields,
        ["select"] = SelectFields,
        ["rule"] = RuleFields,
        ["loans"] = LoanFields,
    };

    /// <summary>Parses a JSON text.</summary>
    public PolicyParseResult Parse(string json)
    {
        ArgumentNullException.ThrowIfNull(json);
        return json.Length > MaxDocumentBytes ? Fail("$", $"the document is larger than {MaxDocumentBytes} bytes") : Parse(Encoding.UTF8.GetBytes(json));
    }

    /// <summary>Parses a UTF-8 document.</summary>
    public PolicyParseResult Parse(ReadOnlyMemory<byte> utf8)
    {
        if (utf8.Length > MaxDocumentBytes)
        {
            return Fail("$", $"the document is larger than {MaxDocumentBytes} bytes");
        }

        if (!System.Text.Unicode.Utf8.IsValid(utf8.Span))
        {
            return Fail("$", "not valid UTF-8"); // checked first: reading a string with a bad sequence would throw
        }

        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(utf8, new JsonDocumentOptions { MaxDepth = MaxDepth });
        }
        catch (JsonException ex)
        {
            return Fail("$", $"not valid JSON: {ex.Message.Split('.')[0]} (line {(ex.LineNumber ?? 0) + 1}, byte {(ex.BytePositionInLine ?? 0) + 1})");
        }
        catch (ArgumentException ex)
        {
            return Fail("$", $"not valid UTF-8 JSON: {ex.Message.Split('.')[0]}");
        }

        using (document)
        {
            var walk = new Walk();
            List<ResizePolicy> policies;
            try
            {
                policies = walk.Document(document.RootElement);
            }
            catch (InvalidOperationException)
            {
                return Fail("$", "a string holds an escape that is not valid text (a lone UTF-16 surrogate)");
            }

            if (walk.Errors.Count > 0)
            {
                return new PolicyParseResult(null, walk.Errors);
            }

            return new PolicyParseResult(new PolicySet(policies, Canonical(document.RootElement)), []);
        }
    }

    private static PolicyParseResult Fail(string path, string message) => new(null, [new PolicyError(path, message)]);

    // The content without formatting, for the version hash.
    private static string Canonical(JsonElement root) => JsonSerializer.Serialize(root);

    private sealed partial class Walk
    {
        public List<PolicyError> Errors { get; } = [];

        private bool Full => Errors.Count >= MaxErrors;

        private void Error(string path, string message)
        {
            if (!Full)
            {
                Errors.Add(new PolicyError(path, message));
            }
        }

        public List<ResizePolicy> Document(JsonElement root)
        {
            var result = new List<ResizePolicy>();
            if (!Object(root, "$", DocumentFields))
            {
                return result;
            }

            if (!root.TryGetProperty("policies", out var list))
            {
                Error("$", "missing 'policies' (an array of policies)");
                return result;
            }

            if (list.ValueKind != JsonValueKind.Array)
            {
                Error("$.policies", $"expected an array of policies, got {Kind(list)}");
                return result;
            }

            if (list.GetArrayLength() > MaxPolicies)
            {
                Error("$.policies", $"more than {MaxPolicies} policies");
                return result;
            }

            var names = new Dictionary<string, int>(StringComparer.Ordinal);
            int i = 0;
            foreach (var item in list.EnumerateArray())
            {
                string path = $"$.policies[{i}]";
                if (Policy(item, path) is { } p)
                {
                    if (names.TryGetValue(p.Name, out int first))
                    {
                        Error(path + ".name", $"duplicate policy name '{p.Name}' (first at $.policies[{first}])");
                    }
                    else
                    {
                        names[p.Name] = i;
                        Conflicts(result, p, path, names);
                        result.Add(p);
                    }
                }

                i++;
                if (Full)
                {
                    break;
                }
            }

            return result;
        }

        // Same selector, same resource, different rules: neither is more specific, so the document is ambiguous.
        private void Conflicts(List<ResizePolicy> earlier, ResizePolicy p, string path, Dictionary<string, int> names)
        {
            foreach (var q in earlier)
            {
                if (!SameSelector(q.Select, p.Select))
                {
                    continue;
                }

                foreach (var (resource, rule) in p.Rules)
                {
                    if (q.Rules.TryGetValue(resource, out var other) && other != rule)
                    {
                        Error(path, $"conflicts with $.policies[{names[q.Name]}] ('{q.Name}'): the same selector gives '{Field(resource)}' different rules; make one selector more specific or merge them");
                    }
                }
            }
        }

        private static bool SameSelector(PolicySelector a, PolicySelector b) =>
            a.HostSet == b.HostSet && a.WorkloadClass == b.WorkloadClass
            && (a.Names ?? []).Order(StringComparer.Ordinal).SequenceEqual((b.Names ?? []).Order(StringComparer.Ordinal))
            && (a.Labels ?? new Dictionary<string, string>()).OrderBy(kv => kv.Key, StringComparer.Ordinal)
                .SequenceEqual((b.Labels ?? new Dictionary<string, string>()).OrderBy(kv => kv.Key, StringComparer.Ordinal));

        private ResizePolicy? Policy(JsonElement e, string path)
        {
            if (!Object(e, path, PolicyFields))
            {
                return null;
            }

            int before = Errors.Count;
            string? name = null;
            if (e.TryGetProperty("name", out var n))
            {
                name = Text(n, path + ".name");
            }
            else
            {
                Missing(path, "name", "a non-empty string");
            }

            var select = e.TryGetProperty("select", out var s) ? Selector(s, path + ".select") : new PolicySelector();
            var priority = e.TryGetProperty("priority", out var pr) ? Priority(pr, path + ".priority") : SloPriority.Standard;
            var horizon = e.TryGetProperty("horizon", out var h) ? Duration(h, path + ".horizon", TimeSpan.FromSeconds(1), TimeSpan.FromDays(1)) : TimeSpan.FromMinutes(15);
            double? latency = e.TryGetProperty("latencyAboveMs", out _) ? Number(e, "latencyAboveMs", path, 0, 0, 1e7, exclusiveMin: true) : null;
            double? perCore = e.TryGetProperty("throughputPerCore", out _) ? Number(e, "throughputPerCore", path, 0, 0, 1e9, exclusiveMin: true) : null;
            var loans = e.TryGetProperty("loans", out var lo) ? Loans(lo, path + ".loans") : null;
            var rules = new Dictionary<PolicyResource, ResourceRule>();
            foreach (var (field, resource, step) in Resources)
            {
                if (e.TryGetProperty(field, out var r) && Rule(r, $"{path}.{field}", resource, step) is { } rule)
                {
                    rules[resource] = rule;
                }
            }

            if (!Resources.Any(x => e.TryGetProperty(x.Field, out _)))
            {
                Error(path, "governs no resource: give at least one of cpu, memory, diskIops, networkMbps");
            }

            return Errors.Count == before && name is not null && select is not null ? new ResizePolicy(name, select, priority, horizon, rules) { LatencyAboveMs = latency, ThroughputPerCore = perCore, Loans = loans } : null;
        }

        private LoanRule? Loans(JsonElement e, string path)
        {
            if (!Object(e, path, LoanFields))
            {
                return null;
            }

            int before = Errors.Count;
            var d = LoanRule.Default;
            double lend = Number(e, "maxLendShare", path, d.MaxLendShare, 0, 1);
            double borrow = Number(e, "maxBorrowShare", path, d.MaxBorrowShare, 0, 100);
            double margin = Number(e, "lenderMargin", path, d.LenderMargin, 0, 10);
            var duration = e.TryGetProperty("maxDuration", out var md) ? Duration(md, path + ".maxDuration", TimeSpan.FromSeconds(1), TimeSpan.FromDays(7)) : d.MaxDuration;
            return Errors.Count > before ? null : new LoanRule(lend, borrow, duration, margin);
        }

        private PolicySelector? Selector(JsonElement e, string path)
        {
            if (!Object(e, path, SelectFields))
            {
                return null;
            }

            List<string>? names = null;
            if (e.TryGetProperty("names", out var n))
            {
                if (n.ValueKind != JsonValueKind.Array || n.GetArrayLength() == 0)
                {
                    Error(path + ".names", $"expected a non-empty array of VM names or patterns, got {Kind(n)}");
                }
                else
                {
                    names = [];
                    int i = 0;
                    foreach (var item in n.EnumerateArray())
                    {
                        if (Text(item, $"{path}.names[{i++}]") is { } text)
                        {
                            names.Add(text);
                        }
                    }
                }
            }

            Dictionary<string, string>? labels = null;
            if (e.TryGetProperty("labels", out var l))
            {
                if (l.ValueKind != JsonValueKind.Object)
                {
                    Error(path + ".labels", $"expected an object of label names to values, got {Kind(l)}");
                }
                else
                {
                    labels = new(StringComparer.Ordinal);
                    foreach (var p in l.EnumerateObject())
                    {
                        if (Text(p.Value, $"{path}.labels.{p.Name}") is { } value && p.Name.Length is > 0 and <= MaxString)
                        {
                            labels[p.Name] = value;
                        }
                    }
                }
            }

            string? hostSet = e.TryGetProperty("hostSet", out var hs) ? Text(hs, path + ".hostSet") : null;
            string? cls = e.TryGetProperty("workloadClass", out var wc) ? Text(wc, path + ".workloadClass") : null;
            return new PolicySelector(names, labels, hostSet, cls);
        }

        // A CPU quota below a hundredth of a core starves the guest's own kernel.
        private const double MinCpuCores = 0.01;

        private ResourceRule? Rule(JsonElement e, string path, PolicyResource resource, double defaultStep)
        {
            if (!Object(e, path, RuleFields))
            {
                return null;
            }

            int before = Errors.Count;
            double grow = Number(e, "growAbove", path, 0.8, 0, 2, exclusiveMin: true);
            double shrink = Number(e, "shrinkBelow", path, 0.4, 0, 2);
            double? min = Required(e, "min", path, "a number >= 0");
            double? max = Required(e, "max", path, "a number >= min");
            double step = Number(e, "step", path, defaultStep, 0, 1e9, exclusiveMin: true);
            double cost = Number(e, "costPerUnit", path, 1, 0, 1e9);
            var hold = e.TryGetProperty("shrinkHold", out var sh) ? Duration(sh, path + ".shrinkHold", TimeSpan.Zero, TimeSpan.FromDays(7)) : TimeSpan.FromMinutes(30);
            var cooldown = e.TryGetProperty("cooldown", out var cd) ? Duration(cd, path + ".cooldown", TimeSpan.Zero, TimeSpan.FromDays(7)) : TimeSpan.FromMinutes(10);
            TimeSpan? horizon = e.TryGetProperty("horizon", out var hz) ? Duration(hz, path + ".horizon", TimeSpan.FromSeconds(1), TimeSpan.FromDays(1)) : null;
            if (Errors.Count > before)
            {
                return null;
            }

            if (shrink >= grow)
            {
                Error(path + ".shrinkBelow", $"must be below growAbove ({grow.ToString(CultureInfo.InvariantCulture)}); got {shrink.ToString(CultureInfo.InvariantCulture)}: the VM would grow and shrink in turn");
            }

            if (min > max)
            {
                Error(path + ".min", $"must not exceed max ({max!.Value.ToString(CultureInfo.InvariantCulture)}); got {min.Value.ToString(CultureInfo.InvariantCulture)}");
            }

            if (resource == PolicyResource.Cpu && min < MinCpuCores)
            {
                Error(path + ".min", $"a VM keeps at least {MinCpuCores.ToString(CultureInfo.InvariantCulture)} core; got {min!.Value.ToString(CultureInfo.InvariantCulture)}");
            }

            return Errors.Count > before ? null : new ResourceRule(grow, shrink, hold, min!.Value, max!.Value, step, cooldown, cost) { Horizon = horizon };
        }
    }
}
