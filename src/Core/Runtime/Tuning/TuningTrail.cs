using System.Text;
using System.Text.Json;
using VmEcosystem.Runtime.Audit;
using VmEcosystem.Tuning;

namespace VmEcosystem.Runtime.Tuning;

/// <summary>
/// Tuning runs in the audit store: each <see cref="AuditKind.TuningRunChanged"/> record carries the run's request and
/// status as its detail, and the run's last checkpoint (engine state, baseline, every evaluation) is a named
/// <see cref="RuntimeCheckpoint"/> (<c>tuning-run/&lt;id&gt;</c>).
/// </summary>
internal static class TuningTrail
{
    public const string Controller = "tuning";

    private static readonly AuditQuery Changed = new() { Kinds = [AuditKind.TuningRunChanged], Controller = Controller };

    private static readonly JsonSerializerOptions Json = new() { NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals };

    internal sealed record Entry(TuningRunRequest Request, TuningRunStatus Status);

    public static string Detail(TuningRunRequest request, TuningRunStatus status) => JsonSerializer.Serialize(new Entry(request, status), Json);

    /// <summary>Every run's last record, in the order they were first recorded.</summary>
    public static Task<IReadOnlyList<Entry>> ReadAsync(IAuditStore store, CancellationToken cancellationToken) =>
        AuditDetails.LastByIdAsync(store, Changed, Read, e => e.Request.Id, cancellationToken);

    private static Entry? Read(string detail)
    {
        try
        {
            return JsonSerializer.Deserialize<Entry>(detail, Json) is { Request.Id: not null, Status: not null } e ? e : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    public static ValueTask SaveAsync(IRuntimeCheckpointStore store, string id, TuningCheckpoint checkpoint, DateTimeOffset at) =>
        store.SaveCheckpointAsync(new RuntimeCheckpoint(Name(id), at, Encoding.UTF8.GetBytes(checkpoint.ToJson())));

    /// <summary>The run's last checkpoint, or null when the store keeps none (or it does not fit the run's space).</summary>
    public static async Task<TuningCheckpoint?> LoadAsync(IAuditStore store, TuningRun run, CancellationToken cancellationToken)
    {
        if (store is not IRuntimeCheckpointStore checkpoints
            || await checkpoints.LoadCheckpointAsync(Name(run.Request.Id), cancellationToken).ConfigureAwait(false) is not { } saved)
        {
            return null;
        }

        try
        {
            var checkpoint = TuningCheckpoint.FromJson(Encoding.UTF8.GetString(saved.Data.Span));
            return checkpoint.Engine.Genes == run.Space.Genes.Count ? checkpoint : null;
        }
        catch (FormatException)
        {
            return null;
        }
    }

    private static string Name(string id) => $"tuning-run/{id}";
}
