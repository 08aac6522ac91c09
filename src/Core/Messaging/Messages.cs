using System.Text.Json;
using System.Text.Json.Serialization;
using VmEcosystem.Cluster;
using VmEcosystem.Policies;

namespace VmEcosystem.Messaging;

/// <summary>
/// Set one resource of a VM to an absolute size (never "add one": a command applied twice changes nothing).
/// </summary>
/// <param name="CommandId">Unique; the outcome carries it back.</param>
/// <param name="Vm">The VM.</param>
/// <param name="Resource">Which resource.</param>
/// <param name="To">The size: cores (vCPUs hot-plugged as needed, the rest a quota), MiB, IOPS or Mbit/s.</param>
/// <param name="Reason">Why (audited by the sender, logged by the connector).</param>
/// <param name="IssuedAt">When the engine decided it.</param>
public sealed record AdjustmentCommand(string CommandId, VmId Vm, PolicyResource Resource, double To, string Reason, DateTimeOffset IssuedAt)
{
    /// <summary>The topic the outcome goes to (null: <see cref="MessageTopics.Outcomes"/>): an engine's own, so replicas never take each other's outcomes.</summary>
    public string? ReplyTo { get; init; }
}

/// <summary>What the platform connector did with a command.</summary>
/// <param name="CommandId">The command's id.</param>
/// <param name="Vm">The VM.</param>
/// <param name="Succeeded">True when the VM has the size asked (also when it already had it).</param>
/// <param name="Changed">True when this delivery changed the VM (false for a repeat, or a size it already had).</param>
/// <param name="Message">One line: what was done, or why not.</param>
/// <param name="At">When.</param>
public sealed record AdjustmentOutcome(string CommandId, VmId Vm, bool Succeeded, bool Changed, string Message, DateTimeOffset At);

/// <summary>One forecast of the prediction module.</summary>
/// <param name="Vm">The VM.</param>
/// <param name="Metric">The metric (<c>cpu</c>, <c>memory</c>, <c>disk</c>, <c>network</c>).</param>
/// <param name="Horizon">How far ahead.</param>
/// <param name="Point">The point forecast.</param>
/// <param name="Lower">The interval's lower bound.</param>
/// <param name="Upper">The interval's upper bound.</param>
/// <param name="Confidence">The interval's confidence.</param>
/// <param name="At">When it was made.</param>
public sealed record ForecastMessage(VmId Vm, string Metric, TimeSpan Horizon, double Point, double Lower, double Upper, double Confidence, DateTimeOffset At);

/// <summary>The library's messages as UTF-8 JSON (camelCase, enums as names, ids as strings).</summary>
public static class MessageJson
{
    private static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web)
    {
        Converters = { new JsonStringEnumConverter(), new VmIdConverter() },
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
    };

    /// <summary>Serializes a message.</summary>
    public static byte[] Serialize<T>(T message) => JsonSerializer.SerializeToUtf8Bytes(message, Options);

    /// <summary>Reads a message; a body that is not one throws <see cref="PoisonMessageException"/> (it will never read).</summary>
    public static T Deserialize<T>(ReadOnlyMemory<byte> body)
        where T : class
    {
        try
        {
            return JsonSerializer.Deserialize<T>(body.Span, Options) ?? throw new PoisonMessageException($"not a {typeof(T).Name}: null");
        }
        catch (Exception ex) when (ex is JsonException or ArgumentException or NotSupportedException or InvalidOperationException)
        {
            throw new PoisonMessageException($"not a {typeof(T).Name}: {ex.Message}", ex);
        }
    }

    private sealed class VmIdConverter : JsonConverter<VmId>
    {
        public override VmId Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
            reader.GetString() is { Length: > 0 } s ? new VmId(s) : throw new JsonException("a VM id must be a non-empty string");

        public override void Write(Utf8JsonWriter writer, VmId value, JsonSerializerOptions options) => writer.WriteStringValue(value.Value);
    }
}
