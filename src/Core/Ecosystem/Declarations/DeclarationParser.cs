using System.Globalization;
using System.Text;
using System.Text.Json;
using VmEcosystem.Cluster;
using VmEcosystem.Ecosystem.Matching;

namespace VmEcosystem.Ecosystem.Declarations;

/// <summary>Limits that keep the parser safe on hostile input.</summary>
public sealed record DeclarationParserOptions
{
    /// <summary>Largest document accepted, bytes.</summary>
    public int MaxDocumentBytes { get; init; } = 16 * 1024 * 1024;

    /// <summary>Deepest nesting accepted (the valid shape needs 5).</summary>
    public int MaxDepth { get; init; } = 16;

    /// <summary>Longest string value or field name accepted, characters.</summary>
    public int MaxStringLength { get; init; } = 1024;

    /// <summary>Most dependencies one VM may declare (required plus preferred).</summary>
    public int MaxDependenciesPerVm { get; init; } = 1000;

    /// <summary>Longest signature vector accepted.</summary>
    public int MaxSignatureLength { get; init; } = 4096;

    /// <summary>Errors collected before the parser stops looking for more.</summary>
    public int MaxErrors { get; init; } = 100;
}

/// <summary>
/// Strict, kind parser for dependency declarations (see <c>vm-ecosystem-declaration.schema.json</c>): a document
/// is one declaration object or an array of them; unknown fields, wrong types, bad latency expressions, empty
/// types, unknown resource profiles and duplicate VM names are errors that name the JSON path and what was
/// expected. Every error in the document is reported (up to <see cref="DeclarationParserOptions.MaxErrors"/>), not just the first.
/// </summary>
public sealed class DeclarationParser
{
    private static readonly string[] DeclarationFields = ["$schema", "vm_name", "dependencies", "provides"];
    private static readonly string[] DependenciesFields = ["required", "preferred"];
    private static readonly string[] DependencyFields =
        ["type", "version", "network_latency_requirement", "resource_profile", "fuzzy_match", "cpu_architecture", "min_memory", "min_bandwidth", "storage_type"];
    private static readonly string[] FuzzyFields = ["text", "tags", "signature", "threshold"];
    private static readonly string[] ProvidesFields = ["type", "software", "tags", "signature", "storage_type", "workload_class"];

    private readonly DeclarationParserOptions _options;
    private readonly ResourceProfiles _profiles;

    /// <summary>Creates a parser.</summary>
    /// <param name="options">Safety limits (null: defaults).</param>
    /// <param name="profiles">The resource profiles declarations may name (null: the built-in ones).</param>
    public DeclarationParser(DeclarationParserOptions? options = null, ResourceProfiles? profiles = null)
    {
        _options = options ?? new DeclarationParserOptions();
        _profiles = profiles ?? new ResourceProfiles();
    }

    /// <summary>Field names the parser accepts, by object (for the schema consistency test and documentation).</summary>
    public static IReadOnlyDictionary<string, IReadOnlyList<string>> KnownFields { get; } = new Dictionary<string, IReadOnlyList<string>>
    {
        ["declaration"] = DeclarationFields,
        ["dependencies"] = DependenciesFields,
        ["dependency"] = DependencyFields,
        ["fuzzy_match"] = FuzzyFields,
        ["provides"] = ProvidesFields,
    };

    /// <summary>Parses a JSON text.</summary>
    public DeclarationParseResult Parse(string json)
    {
        ArgumentNullException.ThrowIfNull(json);
        if (json.Length > _options.MaxDocumentBytes)
        {
            return Fail("$", $"the document is larger than {_options.MaxDocumentBytes} bytes");
        }

        return Parse(Encoding.UTF8.GetBytes(json));
    }

    /// <summary>Parses a UTF-8 document (invalid UTF-8 is an error, not a crash).</summary>
    public DeclarationParseResult Parse(ReadOnlyMemory<byte> utf8)
    {
        if (utf8.Length > _options.MaxDocumentBytes)
        {
            return Fail("$", $"the document is larger than {_options.MaxDocumentBytes} bytes");
        }

        if (InvalidUtf8At(utf8.Span) is { } bad)
        {
            return Fail("$", $"not valid UTF-8 at byte {bad + 1}");
        }

        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(utf8, new JsonDocumentOptions { MaxDepth = _options.MaxDepth, AllowTrailingCommas = false });
        }
        catch (JsonException ex)
        {
            return Fail("$", DescribeSyntaxError(ex));
        }

        using (document)
        {
            var walk = new Walk(this);
            var root = document.RootElement;
            if (root.ValueKind == JsonValueKind.Array)
            {
                int i = 0;
                foreach (var item in root.EnumerateArray())
                {
                    walk.Declaration(item, $"$[{i}]");
                    i++;
                    if (walk.Full)
                    {
                        break;
                    }
                }
            }
            else if (root.ValueKind == JsonValueKind.Object)
            {
                walk.Declaration(root, "$");
            }
            else
            {
                walk.Error("$", $"expected a declaration object or an array of them; got {Describe(root)}");
            }

            return new DeclarationParseResult(walk.Errors.Count == 0 ? walk.Declarations : [], walk.Errors);
        }
    }

    /// <summary>Reads and parses a file.</summary>
    public DeclarationParseResult ParseFile(string path)
    {
        // Only a regular file of bounded size is read: a FIFO would block and a device never end.
        if (IO.InputFile.Problem(path, _options.MaxDocumentBytes) is { } problem)
        {
            return Fail("$", problem);
        }

        try
        {
            return Parse(IO.InputFile.ReadAllBytes(path, _options.MaxDocumentBytes));
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return Fail("$", $"the file '{path}' cannot be read: {ex.Message}");
        }
    }

    // System.Text.Json checks UTF-8 only when a string is read; checking the whole document first keeps every
    // later read safe and the error precise.
    private static int? InvalidUtf8At(ReadOnlySpan<byte> utf8)
    {
        if (System.Text.Unicode.Utf8.IsValid(utf8))
        {
            return null;
        }

        var chars = new char[utf8.Length];
        System.Text.Unicode.Utf8.ToUtf16(utf8, chars, out int read, out _, replaceInvalidSequences: false);
        return read;
    }

    private static DeclarationParseResult Fail(string path, string message) => new([], [new DeclarationError(path, message)]);

    private static string DescribeSyntaxError(JsonException ex)
    {
        string reason = ex.Message;
        int cut = reason.IndexOf(" Path:", StringComparison.Ordinal);
        if (cut < 0)
        {
            cut = reason.IndexOf(" LineNumber:", StringComparison.Ordinal);
        }

        if (cut > 0)
        {
            reason = reason[..cut];
        }

        if (reason.Contains("maximum configured depth", StringComparison.OrdinalIgnoreCase))
        {
            reason = "the document nests deeper than allowed";
        }

        string where = ex.LineNumber is { } line ? $" at line {line + 1}, byte {(ex.BytePositionInLine ?? 0) + 1}" : string.Empty;
        return $"not valid JSON{where}: {LatencyBound.Shorten(reason.TrimEnd('.'))}";
    }

    private static string Describe(JsonElement e) => e.ValueKind switch
    {
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "an array",
        JsonValueKind.String => "a string",
        JsonValueKind.Number => "a number",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        JsonValueKind.Null => "null",
        _ => "nothing",
    };

    private static string Child(string path, string name)
    {
        bool simple = name.Length > 0 && name.Length <= 64 && (char.IsAsciiLetter(name[0]) || name[0] == '_')
            && name.All(c => char.IsAsciiLetterOrDigit(c) || c == '_');
        return simple ? $"{path}.{name}" : $"{path}['{Escape(LatencyBound.Shorten(name))}']";
    }

    private static string Escape(string s)
    {
        var sb = new StringBuilder(s.Length);
        foreach (char c in s)
        {
            if (char.IsControl(c) || char.IsSurrogate(c))
            {
                sb.Append(CultureInfo.InvariantCulture, $"\\u{(int)c:x4}");
            }
            else if (c is '\'' or '\\')
            {
                sb.Append('\\').Append(c);
            }
            else
            {
                sb.Append(c);
            }
        }

        return sb.ToString();
    }

    private static string? Suggest(string name, IReadOnlyList<string> known)
    {
        if (name.Length > 64)
        {
            return null;
        }

        string lower = name.ToLowerInvariant();
        if (lower.Length >= 4 && known.FirstOrDefault(k => k.Contains(lower, StringComparison.Ordinal)) is { } containing)
        {
            return containing;
        }

        string? best = null;
        int bestDistance = int.MaxValue;
        foreach (var k in known)
        {
            int d = Levenshtein(name.ToLowerInvariant(), k);
            if (d < bestDistance)
            {
                bestDistance = d;
                best = k;
            }
        }

        return bestDistance <= Math.Max(2, name.Length / 3) ? best : null;
    }

    private static int Levenshtein(string a, string b)
    {
        var prev = new int[b.Length + 1];
        var cur = new int[b.Length + 1];
        for (int j = 0; j <= b.Length; j++)
        {
            prev[j] = j;
        }

        for (int i = 1; i <= a.Length; i++)
        {
            cur[0] = i;
            for (int j = 1; j <= b.Length; j++)
            {
                cur[j] = Math.Min(Math.Min(cur[j - 1] + 1, prev[j] + 1), prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1));
            }

            (prev, cur) = (cur, prev);
        }

        return prev[b.Length];
    }

    /// <summary>One parse: collects declarations and errors.</summary>
    private sealed class Walk(DeclarationParser parser)
    {
        private readonly DeclarationParserOptions _o = parser._options;
        private readonly Dictionary<string, string> _names = new(StringComparer.Ordinal);

        public List<VmDeclaration> Declarations { get; } = [];

        public List<DeclarationError> Errors { get; } = [];

        public bool Full => Errors.Count >= _o.MaxErrors;

        public void Error(string path, string message)
        {
            if (Errors.Count < _o.MaxErrors)
            {
                Errors.Add(new DeclarationError(path, message));
            }
        }

        public void Declaration(JsonElement e, string path)
        {
            if (!Fields(e, path, DeclarationFields, out var fields))
            {
                return;
            }

            int before = Errors.Count;
            string? name = null;
            if (!fields.TryGetValue("vm_name", out var nameElement))
            {
                Error(path, "missing field 'vm_name' (the VM's name, a non-empty string)");
            }
            else
            {
                name = Name(nameElement, Child(path, "vm_name"), "the VM's name");
                if (name is not null)
                {
                    if (_names.TryGetValue(name, out var first))
                    {
                        Error(Child(path, "vm_name"), $"duplicate VM name '{LatencyBound.Shorten(name)}' (first declared at {first})");
                    }
                    else
                    {
                        _names[name] = path;
                    }
                }
            }

            if (fields.TryGetValue("$schema", out var schema) && schema.ValueKind != JsonValueKind.String)
            {
                Error(Child(path, "$schema"), $"expected a string (the schema's URI); got {Describe(schema)}");
            }

            IReadOnlyList<DependencySpec> required = [], preferred = [];
            if (fields.TryGetValue("dependencies", out var deps))
            {
                string dp = Child(path, "dependencies");
                if (Fields(deps, dp, DependenciesFields, out var lists))
                {
                    int count = 0;
                    required = lists.TryGetValue("required", out var r) ? Specs(r, Child(dp, "required"), ref count) : [];
                    preferred = lists.TryGetValue("preferred", out var p) ? Specs(p, Child(dp, "preferred"), ref count) : [];
                }
            }

            ProvidedProfile? provides = fields.TryGetValue("provides", out var pr) ? Provides(pr, Child(path, "provides")) : null;
            if (Errors.Count == before && name is not null)
            {
                Declarations.Add(new VmDeclaration { VmName = name, Required = required, Preferred = preferred, Provides = provides });
            }
        }

        private List<DependencySpec> Specs(JsonElement e, string path, ref int count)
        {
            var list = new List<DependencySpec>();
            if (e.ValueKind != JsonValueKind.Array)
            {
                Error(path, $"expected an array of dependency objects; got {Describe(e)}");
                return list;
            }

            int i = 0;
            foreach (var item in e.EnumerateArray())
            {
                if (++count > _o.MaxDependenciesPerVm)
                {
                    Error(path, $"a VM may declare at most {_o.MaxDependenciesPerVm} dependencies");
                    break;
                }

                if (Spec(item, $"{path}[{i}]") is { } spec)
                {
                    list.Add(spec);
                }

                i++;
                if (Full)
                {
                    break;
                }
            }

            return list;
        }

        private DependencySpec? Spec(JsonElement e, string path)
        {
            if (!Fields(e, path, DependencyFields, out var f))
            {
                return null;
            }

            int before = Errors.Count;
            string? type = null;
            if (!f.TryGetValue("type", out var typeElement))
            {
                Error(path, "missing field 'type' (the neighbour's type, such as 'database')");
            }
            else
            {
                type = Name(typeElement, Child(path, "type"), "the neighbour's type, such as 'database'");
            }

            VersionRequirement? version = null;
            if (f.TryGetValue("version", out var v) && Text(v, Child(path, "version"), "a product and version such as 'PostgreSQL 14'") is { } vt)
            {
                version = VersionRequirement.TryParse(vt, out var err);
                if (version is null)
                {
                    Error(Child(path, "version"), err!);
                }
            }

            LatencyBound? latency = null;
            if (f.TryGetValue("network_latency_requirement", out var l)
                && Text(l, Child(path, "network_latency_requirement"), "a latency bound such as '< 1ms'") is { } lt)
            {
                latency = LatencyBound.TryParse(lt, out var err);
                if (latency is null)
                {
                    Error(Child(path, "network_latency_requirement"), $"{err}; got '{LatencyBound.Shorten(lt)}'");
                }
            }

            string? profile = null;
            if (f.TryGetValue("resource_profile", out var rp) && Text(rp, Child(path, "resource_profile"), "a resource profile name") is { } rpt)
            {
                if (parser._profiles.Contains(rpt.Trim()))
                {
                    profile = rpt.Trim();
                }
                else
                {
                    Error(Child(path, "resource_profile"), $"unknown resource profile '{LatencyBound.Shorten(rpt)}'; expected one of {string.Join(", ", parser._profiles.Names)}");
                }
            }

            FuzzyQuery? fuzzy = f.TryGetValue("fuzzy_match", out var fm) ? Fuzzy(fm, Child(path, "fuzzy_match")) : null;
            string? arch = f.TryGetValue("cpu_architecture", out var a) ? Name(a, Child(path, "cpu_architecture"), "a CPU architecture such as 'x86_64'") : null;
            string? storage = f.TryGetValue("storage_type", out var st) ? Name(st, Child(path, "storage_type"), "a storage type such as 'ssd'") : null;
            double? memory = null, bandwidth = null;
            if (f.TryGetValue("min_memory", out var mm) && Text(mm, Child(path, "min_memory"), "a memory size such as '16 GiB'") is { } mmt)
            {
                memory = Quantity.ParseMemoryMiB(mmt, out var err);
                if (memory is null)
                {
                    Error(Child(path, "min_memory"), $"{err}; got '{LatencyBound.Shorten(mmt)}'");
                }
            }

            if (f.TryGetValue("min_bandwidth", out var mb) && Text(mb, Child(path, "min_bandwidth"), "a bandwidth such as '10 Gbps'") is { } mbt)
            {
                bandwidth = Quantity.ParseBandwidthMbps(mbt, out var err);
                if (bandwidth is null)
                {
                    Error(Child(path, "min_bandwidth"), $"{err}; got '{LatencyBound.Shorten(mbt)}'");
                }
            }

            if (Errors.Count != before || type is null)
            {
                return null;
            }

            return new DependencySpec
            {
                Type = type,
                Version = version,
                Latency = latency,
                ResourceProfile = profile,
                Fuzzy = fuzzy,
                CpuArchitecture = arch,
                MinMemoryMiB = memory,
                MinBandwidthMbps = bandwidth,
                StorageType = storage,
            };
        }

        private FuzzyQuery? Fuzzy(JsonElement e, string path)
        {
            if (e.ValueKind == JsonValueKind.String)
            {
                string? text = Name(e, path, "a description of the neighbour, such as 'similar ML model signature'");
                if (text is null)
                {
                    return null;
                }

                var q = FuzzyQuery.FromText(text);
                if (q.Tags.Count == 0)
                {
                    Error(path, "expected at least one word besides stop words such as 'similar' or 'the'");
                    return null;
                }

                return q;
            }

            if (e.ValueKind != JsonValueKind.Object)
            {
                Error(path, $"expected a string or an object with 'tags', 'signature' or 'text'; got {Describe(e)}");
                return null;
            }

            if (!Fields(e, path, FuzzyFields, out var f))
            {
                return null;
            }

            int before = Errors.Count;
            var tags = new HashSet<string>(StringComparer.Ordinal);
            string? text2 = f.TryGetValue("text", out var t) ? Name(t, Child(path, "text"), "a description") : null;
            if (text2 is not null)
            {
                tags.UnionWith(FuzzyQuery.Tokenize(text2));
            }

            if (f.TryGetValue("tags", out var tg) && Strings(tg, Child(path, "tags"), "tags") is { } list)
            {
                foreach (var s in list)
                {
                    tags.UnionWith(FuzzyQuery.Tokenize(s));
                }
            }

            double[]? signature = f.TryGetValue("signature", out var sg) ? Numbers(sg, Child(path, "signature")) : null;
            double? threshold = null;
            if (f.TryGetValue("threshold", out var th))
            {
                if (th.ValueKind != JsonValueKind.Number || !th.TryGetDouble(out double x) || !(x > 0 && x <= 1))
                {
                    Error(Child(path, "threshold"), $"expected a number in (0, 1]; got {(th.ValueKind == JsonValueKind.Number ? th.GetRawText() : Describe(th))}");
                }
                else
                {
                    threshold = x;
                }
            }

            if (Errors.Count == before && tags.Count == 0 && signature is null)
            {
                Error(path, "expected at least one of 'tags', 'signature' or 'text'");
            }

            return Errors.Count == before ? new FuzzyQuery { Text = text2, Tags = tags, Signature = signature, Threshold = threshold } : null;
        }

        private ProvidedProfile? Provides(JsonElement e, string path)
        {
            if (!Fields(e, path, ProvidesFields, out var f))
            {
                return null;
            }

            int before = Errors.Count;
            var software = f.TryGetValue("software", out var sw) ? Strings(sw, Child(path, "software"), "software such as 'PostgreSQL 14.9'") : null;
            var tags = f.TryGetValue("tags", out var tg) ? Strings(tg, Child(path, "tags"), "tags") : null;
            var profile = new ProvidedProfile
            {
                Type = f.TryGetValue("type", out var t) ? Name(t, Child(path, "type"), "the VM's type") : null,
                Software = software?.Select(SoftwareComponent.Parse).ToArray(),
                Tags = tags?.Select(s => s.Trim().ToLowerInvariant()).ToHashSet(StringComparer.Ordinal),
                Signature = f.TryGetValue("signature", out var sg) ? Numbers(sg, Child(path, "signature")) : null,
                StorageType = f.TryGetValue("storage_type", out var st) ? Name(st, Child(path, "storage_type"), "a storage type") : null,
                WorkloadClass = f.TryGetValue("workload_class", out var wc) ? Name(wc, Child(path, "workload_class"), "a workload class") : null,
            };
            return Errors.Count == before ? profile : null;
        }

        private bool Fields(JsonElement e, string path, string[] known, out Dictionary<string, JsonElement> fields)
        {
            fields = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
            if (e.ValueKind != JsonValueKind.Object)
            {
                Error(path, $"expected an object; got {Describe(e)}");
                return false;
            }

            bool ok = true;
            foreach (var p in e.EnumerateObject())
            {
                string name = p.Name;
                if (name.Length > _o.MaxStringLength)
                {
                    Error(path, $"a field name is longer than {_o.MaxStringLength} characters");
                    ok = false;
                    continue;
                }

                if (Array.IndexOf(known, name) < 0)
                {
                    string? hint = Suggest(name, known);
                    Error(Child(path, name), $"unknown field '{Escape(LatencyBound.Shorten(name))}'; expected "
                        + (hint is not null ? $"'{hint}' or one of " : "one of ") + string.Join(", ", known.Where(k => k != "$schema")));
                    ok = false;
                    continue;
                }

                if (!fields.TryAdd(name, p.Value))
                {
                    Error(Child(path, name), "duplicate field");
                    ok = false;
                }

                if (Full)
                {
                    return false;
                }
            }

            return ok;
        }

        /// <summary>A string value (trimmed, non-empty, bounded, no control characters).</summary>
        private string? Name(JsonElement e, string path, string what)
        {
            string? s = Text(e, path, what);
            if (s is null)
            {
                return null;
            }

            s = s.Trim();
            if (s.Length == 0)
            {
                Error(path, $"expected {what}; got an empty string");
                return null;
            }

            if (s.Any(char.IsControl))
            {
                Error(path, $"expected {what} without control characters");
                return null;
            }

            return s;
        }

        private string? Text(JsonElement e, string path, string what)
        {
            if (e.ValueKind != JsonValueKind.String)
            {
                Error(path, $"expected {what} (a string); got {Describe(e)}");
                return null;
            }

            string s;
            try
            {
                s = e.GetString()!;
            }
            catch (InvalidOperationException)
            {
                Error(path, $"expected {what} as well-formed text (it holds an invalid escape sequence)");
                return null;
            }

            if (s.Length > _o.MaxStringLength)
            {
                Error(path, $"expected {what} of at most {_o.MaxStringLength} characters; got {s.Length}");
                return null;
            }

            if (s.Any(char.IsSurrogate) && !IsWellFormed(s))
            {
                Error(path, $"expected {what} as well-formed Unicode (it holds a lone surrogate escape)");
                return null;
            }

            return s;
        }

        private static bool IsWellFormed(string s)
        {
            for (int i = 0; i < s.Length; i++)
            {
                if (char.IsHighSurrogate(s[i]) && i + 1 < s.Length && char.IsLowSurrogate(s[i + 1]))
                {
                    i++;
                }
                else if (char.IsSurrogate(s[i]))
                {
                    return false;
                }
            }

            return true;
        }

        private List<string>? Strings(JsonElement e, string path, string what)
        {
            if (e.ValueKind != JsonValueKind.Array)
            {
                Error(path, $"expected an array of strings ({what}); got {Describe(e)}");
                return null;
            }

            var list = new List<string>();
            int i = 0, before = Errors.Count;
            foreach (var item in e.EnumerateArray())
            {
                if (i >= _o.MaxSignatureLength)
                {
                    Error(path, $"expected at most {_o.MaxSignatureLength} entries");
                    break;
                }

                if (Name(item, $"{path}[{i}]", what) is { } s)
                {
                    list.Add(s);
                }

                i++;
            }

            return Errors.Count == before ? list : null;
        }

        private double[]? Numbers(JsonElement e, string path)
        {
            if (e.ValueKind != JsonValueKind.Array)
            {
                Error(path, $"expected an array of numbers; got {Describe(e)}");
                return null;
            }

            int n = e.GetArrayLength();
            if (n == 0 || n > _o.MaxSignatureLength)
            {
                Error(path, $"expected between 1 and {_o.MaxSignatureLength} numbers; got {n}");
                return null;
            }

            var result = new double[n];
            int i = 0;
            foreach (var item in e.EnumerateArray())
            {
                if (item.ValueKind != JsonValueKind.Number || !item.TryGetDouble(out double x) || !double.IsFinite(x))
                {
                    Error($"{path}[{i}]", $"expected a finite number; got {(item.ValueKind == JsonValueKind.Number ? "a number out of range" : Describe(item))}");
                    return null;
                }

                result[i++] = x;
            }

            return result;
        }
    }
}
