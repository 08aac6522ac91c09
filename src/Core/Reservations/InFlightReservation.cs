using System.Text.Json;
using System.Text.Json.Serialization;

namespace VmEcosystem.Reservations;

/// <summary>
/// What the runtime holds on a migration's destination while it runs (its in-flight shadow slot) and the pre-copy
/// estimate behind the window: audited as the detail of the <c>MigrationStarted</c> record, so an operator sees what
/// was reserved for a move and why.
/// </summary>
/// <param name="CpuMhz">CPU held on the destination: the VM's forecast upper bound (0 with a policy that plans without forecasts: nothing is held).</param>
/// <param name="MemoryMiB">Memory held on the destination: the VM's allocation (0 when nothing is held).</param>
/// <param name="ExpectedSeconds">How long the move is expected to take (the pre-copy model), before the slot's grace.</param>
/// <param name="DowntimeMs">Expected pause of the guest at switch-over.</param>
/// <param name="DirtyMiBps">The VM's dirty-page rate the estimate used (measured by the provider, else estimated).</param>
/// <param name="BandwidthMbps">The destination link the estimate used (the migration gets its planning share).</param>
/// <param name="Converged">False when the model expects the pre-copy not to converge (a long stop-and-copy).</param>
internal sealed record InFlightReservation(
    double CpuMhz, double MemoryMiB, double ExpectedSeconds, double DowntimeMs, double DirtyMiBps, double BandwidthMbps, bool Converged)
{
    /// <summary>The admitted reservation request, per resource with its explanation (null without migration reservations).</summary>
    public ReservationRequest? Request { get; init; }

    /// <summary>The record as audit detail JSON.</summary>
    public string ToJson() => JsonSerializer.Serialize(this, InFlightReservationJson.Default.InFlightReservation);
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, UseStringEnumConverter = true, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(InFlightReservation))]
internal sealed partial class InFlightReservationJson : JsonSerializerContext;
