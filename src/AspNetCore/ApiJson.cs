using System.Text.Json;
using System.Text.Json.Serialization;
using VmEcosystem.Cluster;

namespace VmEcosystem.AspNetCore;

/// <summary>How the API writes JSON: web names, enums as text, identifiers as plain strings, no NaN.</summary>
internal static class ApiJson
{
    public static JsonSerializerOptions Options { get; } = Create();

    private static JsonSerializerOptions Create()
    {
        var o = new JsonSerializerOptions(JsonSerializerDefaults.Web)
        {
            NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
            DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        };
        o.Converters.Add(new JsonStringEnumConverter(JsonNamingPolicy.CamelCase));
        o.Converters.Add(new IdText<VmId>(v => v.Value, s => new VmId(s)));
        o.Converters.Add(new IdText<HostId>(v => v.Value, s => new HostId(s)));
        o.Converters.Add(new IdText<HostSetId>(v => v.Value, s => new HostSetId(s)));
        o.MakeReadOnly(populateMissingResolver: true);
        return o;
    }

    /// <summary>A finite number for JSON (NaN and infinities become null: a dashboard cannot plot them).</summary>
    public static double? Finite(double value) => double.IsFinite(value) ? value : null;

    private sealed class IdText<T>(Func<T, string> write, Func<string, T> read) : JsonConverter<T>
    {
        public override T Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
            read(reader.GetString() ?? throw new JsonException("expected a string"));

        public override void Write(Utf8JsonWriter writer, T value, JsonSerializerOptions options) => writer.WriteStringValue(write(value));
    }
}
