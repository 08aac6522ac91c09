using System.Text.Json;

namespace VmEcosystem.Runtime;

/// <summary>
/// One landed move's copy cost on its destination: measured against the model's estimate (uncorrected), MHz; when
/// and in which order it was learnt (the correction is an exponential average: replaying must keep the order, and two
/// moves ending together may reach the trail the other way round).
/// </summary>
internal sealed record SpikeRecord(string WorkloadClass, double EstimatedMhz, double MeasuredMhz, DateTimeOffset LearntAt, long Order)
{
    public string ToJson() => JsonSerializer.Serialize(this, SpikeRecordJson.Default.SpikeRecord);

    /// <summary>The measurement in an audit detail, or null when it holds none.</summary>
    public static SpikeRecord? FromJson(string? detail)
    {
        if (string.IsNullOrEmpty(detail))
        {
            return null;
        }

        try
        {
            return JsonSerializer.Deserialize(detail, SpikeRecordJson.Default.SpikeRecord);
        }
        catch (JsonException)
        {
            return null;
        }
    }
}

[System.Text.Json.Serialization.JsonSourceGenerationOptions(PropertyNamingPolicy = System.Text.Json.Serialization.JsonKnownNamingPolicy.CamelCase)]
[System.Text.Json.Serialization.JsonSerializable(typeof(SpikeRecord))]
internal sealed partial class SpikeRecordJson : System.Text.Json.Serialization.JsonSerializerContext;
