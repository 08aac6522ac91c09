using VmEcosystem.Cluster;

namespace VmEcosystem.Runtime.Rollout;

/// <summary>
/// Applies a configuration to a VM through the shared executor (its modes, limits and audit). On success the new
/// configuration is recorded as the VM's next version.
/// </summary>
/// <param name="Vm">The VM.</param>
/// <param name="Host">Where it runs.</param>
/// <param name="Settings">The configuration to apply.</param>
/// <param name="Origin">What makes it (recorded with the version).</param>
/// <param name="Reason">Why, in one line.</param>
internal sealed record ConfigureAction(VmId Vm, HostId Host, IReadOnlyDictionary<string, string> Settings, string Origin, string Reason) : ClusterAction(Vm, Host, Reason)
{
    /// <summary>The action kind name.</summary>
    public const string KindName = "configure";

    public override string Kind => KindName;

    /// <summary>Where the configuration goes.</summary>
    public required IConfigurationApplier Applier { get; init; }

    /// <summary>Where the version is recorded.</summary>
    public required ConfigurationVersionStore Versions { get; init; }

    /// <summary>A version this one restores (a revert), recorded as a second parent.</summary>
    public int? RevertsTo { get; init; }

    /// <summary>The tuning score of the configuration, when known.</summary>
    public double? Score { get; init; }

    internal override string? PendingPayload => System.Text.Json.JsonSerializer.Serialize(new Payload(Settings, Origin, RevertsTo, Score));

    /// <summary>Rebuilds the action from <see cref="PendingPayload"/> (null: not one of its payloads).</summary>
    internal static ConfigureAction? FromPayload(VmId vm, HostId host, string reason, string? payload, IConfigurationApplier applier, ConfigurationVersionStore versions)
    {
        Payload? p;
        try
        {
            p = payload is null ? null : System.Text.Json.JsonSerializer.Deserialize<Payload>(payload);
        }
        catch (System.Text.Json.JsonException)
        {
            return null;
        }

        return p is { Settings: not null, Origin: not null }
            ? new ConfigureAction(vm, host, p.Settings, p.Origin, reason) { Applier = applier, Versions = versions, RevertsTo = p.RevertsTo, Score = p.Score }
            : null;
    }

    private sealed record Payload(IReadOnlyDictionary<string, string> Settings, string Origin, int? RevertsTo, double? Score);

    /// <summary>Applies, records the version (audited under <paramref name="controller"/>); returns what happened in one line.</summary>
    internal async Task<string> ExecuteAsync(RuntimeAudit audit, string controller, string planId, DateTimeOffset now, CancellationToken cancellationToken)
    {
        await Applier.ApplyAsync(Vm, Settings, cancellationToken).ConfigureAwait(false);
        int? parent = Versions.Current(Vm)?.Number;
        IReadOnlyList<int> parents = parent is { } p ? RevertsTo is { } r ? [p, r] : [p] : [];
        var version = await Versions.AddAsync(Vm, Settings, parents, Origin, Score, now,
            (kind, vm, message, detail) => audit.AppendAsync(kind, controller, planId, vm, Host, null, message, detail)).ConfigureAwait(false);
        return $"{Vm} now runs configuration v{version.Number}";
    }
}
