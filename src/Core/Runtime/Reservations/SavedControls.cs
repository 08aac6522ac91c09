using System.Text.Json;
using VmEcosystem.Hypervisor;

namespace VmEcosystem.Runtime;

/// <summary>
/// The controls a landed VM had before its reservation's controls replaced them, as written in the audit record of
/// that change (<c>{"restore": {...}}</c>), so they can be put back even by a later process.
/// </summary>
internal sealed record SavedControls(int? CpuShares, double? MemoryReservationMiB, int? DiskWeight)
{
    public static string ToJson(ResourceControls before) => JsonSerializer.Serialize(
        new SavedControlsDetail(new SavedControls(before.CpuShares, Finite(before.MemoryReservationMiB), before.DiskWeight)), SavedControlsJson.Default.SavedControlsDetail);

    /// <summary>The saved controls in an audit detail, or null when it holds none.</summary>
    public static SavedControls? FromJson(string? detail)
    {
        if (string.IsNullOrEmpty(detail))
        {
            return null;
        }

        try
        {
            return JsonSerializer.Deserialize(detail, SavedControlsJson.Default.SavedControlsDetail)?.Restore;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    public ResourceControls ToControls() => new() { CpuShares = CpuShares, MemoryReservationMiB = MemoryReservationMiB, DiskWeight = DiskWeight };

    private static double? Finite(double? value) => value is { } v && double.IsFinite(v) ? v : null;
}

internal sealed record SavedControlsDetail(SavedControls Restore);

[System.Text.Json.Serialization.JsonSourceGenerationOptions(PropertyNamingPolicy = System.Text.Json.Serialization.JsonKnownNamingPolicy.CamelCase)]
[System.Text.Json.Serialization.JsonSerializable(typeof(SavedControlsDetail))]
internal sealed partial class SavedControlsJson : System.Text.Json.Serialization.JsonSerializerContext;
