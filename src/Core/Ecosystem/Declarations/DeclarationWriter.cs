using System.Globalization;
using System.Text;
using System.Text.Json;

namespace VmEcosystem.Ecosystem.Declarations;

/// <summary>
/// Writes declarations as the snake_case JSON <see cref="DeclarationParser"/> reads (and the shipped schema
/// describes): parsing what it writes gives an equal declaration. The runtime keeps declarations changed at run time
/// in its audit store this way, and an API can return a VM's declaration in the form it was given.
/// </summary>
public static class DeclarationWriter
{
    /// <summary>One declaration as a JSON object.</summary>
    public static string ToJson(VmDeclaration declaration)
    {
        ArgumentNullException.ThrowIfNull(declaration);
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer))
        {
            Write(w, declaration);
        }

        return Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
    }

    /// <summary>Declarations as a JSON array.</summary>
    public static string ToJson(IEnumerable<VmDeclaration> declarations)
    {
        ArgumentNullException.ThrowIfNull(declarations);
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartArray();
            foreach (var d in declarations)
            {
                Write(w, d);
            }

            w.WriteEndArray();
        }

        return Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
    }

    private static void Write(Utf8JsonWriter w, VmDeclaration d)
    {
        w.WriteStartObject();
        w.WriteString("vm_name", d.VmName);
        if (d.Required.Count > 0 || d.Preferred.Count > 0)
        {
            w.WriteStartObject("dependencies");
            Specs(w, "required", d.Required);
            Specs(w, "preferred", d.Preferred);
            w.WriteEndObject();
        }

        if (d.Provides is { } p)
        {
            w.WriteStartObject("provides");
            Optional(w, "type", p.Type);
            if (p.Software is { } software)
            {
                Strings(w, "software", software.Select(s => s.ToString()));
            }

            if (p.Tags is { } tags)
            {
                Strings(w, "tags", tags.Order(StringComparer.Ordinal));
            }

            Numbers(w, "signature", p.Signature);
            Optional(w, "storage_type", p.StorageType);
            Optional(w, "workload_class", p.WorkloadClass);
            w.WriteEndObject();
        }

        w.WriteEndObject();
    }

    private static void Specs(Utf8JsonWriter w, string name, IReadOnlyList<DependencySpec> specs)
    {
        if (specs.Count == 0)
        {
            return;
        }

        w.WriteStartArray(name);
        foreach (var s in specs)
        {
            w.WriteStartObject();
            w.WriteString("type", s.Type);
            Optional(w, "version", s.Version?.ToString());
            Optional(w, "network_latency_requirement", s.Latency?.ToString());
            Optional(w, "resource_profile", s.ResourceProfile);
            if (s.Fuzzy is { } f)
            {
                w.WriteStartObject("fuzzy_match");
                Optional(w, "text", f.Text);
                if (f.Tags.Count > 0)
                {
                    Strings(w, "tags", f.Tags.Order(StringComparer.Ordinal));
                }

                Numbers(w, "signature", f.Signature);
                if (f.Threshold is { } threshold)
                {
                    w.WriteNumber("threshold", threshold);
                }

                w.WriteEndObject();
            }

            Optional(w, "cpu_architecture", s.CpuArchitecture);
            Optional(w, "min_memory", s.MinMemoryMiB is { } mib ? $"{mib.ToString("R", CultureInfo.InvariantCulture)} MiB" : null);
            Optional(w, "min_bandwidth", s.MinBandwidthMbps is { } mbps ? $"{mbps.ToString("R", CultureInfo.InvariantCulture)} Mbps" : null);
            Optional(w, "storage_type", s.StorageType);
            w.WriteEndObject();
        }

        w.WriteEndArray();
    }

    private static void Optional(Utf8JsonWriter w, string name, string? value)
    {
        if (value is not null)
        {
            w.WriteString(name, value);
        }
    }

    private static void Strings(Utf8JsonWriter w, string name, IEnumerable<string> values)
    {
        w.WriteStartArray(name);
        foreach (var v in values)
        {
            w.WriteStringValue(v);
        }

        w.WriteEndArray();
    }

    private static void Numbers(Utf8JsonWriter w, string name, IReadOnlyList<double>? values)
    {
        if (values is null)
        {
            return;
        }

        w.WriteStartArray(name);
        foreach (var v in values)
        {
            w.WriteNumberValue(v);
        }

        w.WriteEndArray();
    }
}
