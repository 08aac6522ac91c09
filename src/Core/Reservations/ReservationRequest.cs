using System.Text.Json;
using System.Text.Json.Serialization;
using VmEcosystem.Cluster;

namespace VmEcosystem.Reservations;

/// <summary>Why a reservation request has the size it has.</summary>
/// <param name="BaselineMhz">The VM's own CPU at the destination over the window: its forecast's upper bound at <paramref name="Confidence"/> (at least what it asks for now).</param>
/// <param name="SpikeMhz">The copy's CPU on the destination: the model's overhead at the expected copy rate, times <paramref name="SpikeCorrection"/>.</param>
/// <param name="SpikeCorrection">The correction learnt for the class from spikes measured on past moves (1 before any).</param>
/// <param name="WorkloadClass">The VM's workload class.</param>
/// <param name="Confidence">Confidence of the forecast interval used.</param>
/// <param name="Priority">The VM's service-level priority.</param>
/// <param name="CopyMiBps">Copy rate the estimate assumes.</param>
/// <param name="ExpectedSeconds">Expected duration of the move (pre-copy model), before the hold after switch-over.</param>
public sealed record ReservationExplanation(
    double BaselineMhz, double SpikeMhz, double SpikeCorrection, string WorkloadClass, double Confidence, SloPriority Priority, double CopyMiBps, double ExpectedSeconds)
{
    /// <summary>The copy's disk operations per second on the destination, at their peak (the storage copy's writes, the memory copy's where the model gives it any), included in the request's disk IOPS.</summary>
    public double CopyDiskIops { get; init; }
}

/// <summary>
/// What a planned move should hold on its destination for its window, per resource: CPU (cores and MHz), memory,
/// network (the copy plus the VM's own traffic), disk I/O (the VM's own plus the copy's) and GPU memory (the VM's
/// own), with its explanation.
/// </summary>
/// <param name="Vm">The VM.</param>
/// <param name="Destination">Where it moves.</param>
/// <param name="Amount">The request per resource.</param>
/// <param name="Window">How long it is held: the expected move plus the hold after switch-over.</param>
/// <param name="Explanation">Where the CPU figure comes from.</param>
public sealed record ReservationRequest(
    [property: JsonConverter(typeof(VmIdText))] VmId Vm,
    [property: JsonConverter(typeof(HostIdText))] HostId Destination,
    ResourceVector Amount,
    TimeSpan Window,
    ReservationExplanation Explanation)
{
    /// <summary>The request as JSON (audit detail, HTTP API).</summary>
    public string ToJson() => JsonSerializer.Serialize(this, ReservationJson.Default.ReservationRequest);
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, UseStringEnumConverter = true)]
[JsonSerializable(typeof(ReservationRequest))]
internal sealed partial class ReservationJson : JsonSerializerContext;

/// <summary>A VM id as its text in JSON.</summary>
internal sealed class VmIdText : JsonConverter<VmId>
{
    public override VmId Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) => new(reader.GetString()!);

    public override void Write(Utf8JsonWriter writer, VmId value, JsonSerializerOptions options) => writer.WriteStringValue(value.Value);
}

/// <summary>A host id as its text in JSON.</summary>
internal sealed class HostIdText : JsonConverter<HostId>
{
    public override HostId Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) => new(reader.GetString()!);

    public override void Write(Utf8JsonWriter writer, HostId value, JsonSerializerOptions options) => writer.WriteStringValue(value.Value);
}
