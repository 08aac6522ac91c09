using System.Globalization;
using System.Xml;
using System.Xml.Linq;
using VmEcosystem.Cluster;

namespace VmEcosystem.Providers.Libvirt;

/// <summary>
/// A VM's priority, SLO class and labels, read from an element in the domain's <c>&lt;metadata&gt;</c>:
/// <code>
/// &lt;metadata&gt;
///   &lt;vmeco:vm xmlns:vmeco="https://vmecosystem.dev/xmlns/vm/1"&gt;
///     &lt;vmeco:priority&gt;10&lt;/vmeco:priority&gt;
///     &lt;vmeco:slo&gt;critical&lt;/vmeco:slo&gt;
///     &lt;vmeco:label key="team"&gt;payments&lt;/vmeco:label&gt;
///   &lt;/vmeco:vm&gt;
/// &lt;/metadata&gt;
/// </code>
/// (set with <c>virsh metadata DOMAIN --uri https://vmecosystem.dev/xmlns/vm/1 --key vmeco --set '&lt;vm&gt;...&lt;/vm&gt;' --live --config</c>).
/// A domain without it takes the first matching <see cref="LibvirtOptions.VmDefaults"/> entry, else priority 0 and
/// <see cref="SloClass.Standard"/>.
/// </summary>
public static class LibvirtVmClassification
{
    /// <summary>The metadata namespace.</summary>
    public const string Namespace = "https://vmecosystem.dev/xmlns/vm/1";

    /// <summary>Largest priority magnitude accepted.</summary>
    public const int MaxPriority = 1_000_000;

    internal sealed record Classification(int? Priority, SloClass? Slo, IReadOnlyDictionary<string, string> Labels, IReadOnlyList<string> Errors);

    /// <summary>Reads the element; a value that is not valid is left out and reported in <see cref="Classification.Errors"/>.</summary>
    internal static Classification Parse(string xml)
    {
        var errors = new List<string>();
        var labels = new Dictionary<string, string>(StringComparer.Ordinal);
        XElement root;
        try
        {
            var settings = new XmlReaderSettings { DtdProcessing = DtdProcessing.Prohibit, XmlResolver = null, MaxCharactersInDocument = 64 * 1024 };
            using var reader = XmlReader.Create(new StringReader(xml), settings);
            root = XElement.Load(reader);
        }
        catch (XmlException ex)
        {
            return new Classification(null, null, labels, [$"the metadata is not well-formed XML: {ex.Message}"]);
        }

        int? priority = null;
        SloClass? slo = null;
        foreach (var e in root.Elements())
        {
            string value = e.Value.Trim();
            switch (e.Name.LocalName)
            {
                case "priority":
                    if (int.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out int p) && Math.Abs((long)p) <= MaxPriority)
                    {
                        priority = p;
                    }
                    else
                    {
                        errors.Add($"priority must be an integer between -{MaxPriority} and {MaxPriority}; got '{Shorten(value)}'");
                    }

                    break;
                case "slo":
                    if (Enum.TryParse<SloClass>(value.Replace("-", string.Empty, StringComparison.Ordinal), ignoreCase: true, out var s) && Enum.IsDefined(s)
                        && !int.TryParse(value, out _))
                    {
                        slo = s;
                    }
                    else
                    {
                        errors.Add($"slo must be one of best-effort, standard, premium, critical; got '{Shorten(value)}'");
                    }

                    break;
                case "label":
                    if (e.Attribute("key")?.Value is { Length: > 0 } key)
                    {
                        labels[key] = value;
                    }
                    else
                    {
                        errors.Add("a label needs a non-empty key attribute");
                    }

                    break;
                default:
                    errors.Add($"unknown element '{Shorten(e.Name.LocalName)}'; expected priority, slo or label");
                    break;
            }
        }

        return new Classification(priority, slo, labels, errors);
    }

    /// <summary>The first entry whose pattern matches the name, or null.</summary>
    internal static LibvirtVmDefaults? DefaultsFor(IEnumerable<LibvirtVmDefaults> defaults, string name) =>
        defaults.FirstOrDefault(d => Matches(d.NamePattern, name));

    /// <summary>Glob match: <c>*</c> any run, <c>?</c> one character.</summary>
    internal static bool Matches(string pattern, string name)
    {
        int p = 0, n = 0, star = -1, mark = 0;
        while (n < name.Length)
        {
            if (p < pattern.Length && (pattern[p] == '?' || pattern[p] == name[n]))
            {
                p++;
                n++;
            }
            else if (p < pattern.Length && pattern[p] == '*')
            {
                star = p++;
                mark = n;
            }
            else if (star >= 0)
            {
                p = star + 1;
                n = ++mark;
            }
            else
            {
                return false;
            }
        }

        while (p < pattern.Length && pattern[p] == '*')
        {
            p++;
        }

        return p == pattern.Length;
    }

    private static string Shorten(string s) => s.Length <= 40 ? s : s[..40] + "…";
}
