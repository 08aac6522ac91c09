using VmEcosystem.Cluster;

namespace VmEcosystem.Runtime.Rollout;

/// <summary>
/// Applies a configuration (named settings such as <c>threads=8</c>, <c>gc=parallel</c>) to a VM: through the
/// provider, a configuration-management tool or the application's own API. The application implements it and
/// registers it with <c>builder.AddConfigurationRollout&lt;T&gt;()</c>.
/// </summary>
public interface IConfigurationApplier
{
    /// <summary>The settings the VM runs with now (its first version when nothing was recorded yet).</summary>
    Task<IReadOnlyDictionary<string, string>> ReadAsync(VmId vm, CancellationToken cancellationToken);

    /// <summary>Applies the settings; throws when it could not (the VM then keeps its version).</summary>
    Task ApplyAsync(VmId vm, IReadOnlyDictionary<string, string> settings, CancellationToken cancellationToken);
}

/// <summary>One configuration a VM has had.</summary>
/// <param name="Vm">The VM.</param>
/// <param name="Number">1 for the first, then counting up.</param>
/// <param name="Settings">The settings.</param>
/// <param name="Parents">The versions it came from (the one it replaced; a revert or rollback also names the version it restores).</param>
/// <param name="Origin">Who or what made it: <c>initial</c>, <c>rollout r1 step 2</c>, <c>rollback of rollout r1</c>, <c>revert to v1</c>.</param>
/// <param name="Score">Its fitness from the tuning run that found it (lower is better), when known.</param>
/// <param name="CreatedAt">When it was applied.</param>
public sealed record ConfigurationVersion(VmId Vm, int Number, IReadOnlyDictionary<string, string> Settings, IReadOnlyList<int> Parents, string Origin, double? Score, DateTimeOffset CreatedAt);

/// <summary>One setting that differs between two versions (null: absent on that side).</summary>
/// <param name="Setting">The setting's name.</param>
/// <param name="From">Its value in the first version.</param>
/// <param name="To">Its value in the second version.</param>
public sealed record SettingChange(string Setting, string? From, string? To);

/// <summary>A rollout to start: the configuration, the VMs, and where it comes from.</summary>
/// <param name="Id">Its id (unique among rollouts in progress).</param>
/// <param name="Group">The VMs: the canaries are taken in id order, the rest are the control.</param>
/// <param name="Settings">The configuration to roll out.</param>
/// <param name="Origin">Where it comes from (a tuning run, a person), recorded with each version.</param>
/// <param name="Score">Its tuning score, when known.</param>
public sealed record RolloutRequest(string Id, IReadOnlyList<VmId> Group, IReadOnlyDictionary<string, string> Settings, string Origin, double? Score = null);

/// <summary>Where a rollout stands.</summary>
public enum RolloutState
{
    /// <summary>A step is applied or observed.</summary>
    Observing = 0,

    /// <summary>Every VM of the group runs the configuration.</summary>
    Completed = 1,

    /// <summary>The canaries went back to their versions.</summary>
    RolledBack = 2,
}

/// <summary>A rollout's state.</summary>
/// <param name="Id">Its id.</param>
/// <param name="State">Where it stands.</param>
/// <param name="Members">The VMs still in it (an operator's revert takes a VM out).</param>
/// <param name="OnCandidate">How many of them run the new configuration.</param>
/// <param name="Decision">The last decision, with its figures.</param>
public sealed record RolloutStatus(string Id, RolloutState State, IReadOnlyList<VmId> Members, int OnCandidate, string? Decision);

/// <summary>Configuration rollouts and versions: start a rollout, follow it, list, compare and revert versions.</summary>
public interface IConfigurationRollouts
{
    /// <summary>Starts a rollout at the controller's next pass.</summary>
    /// <exception cref="ArgumentException">No VM or no setting.</exception>
    /// <exception cref="InvalidOperationException">A rollout with this id is in progress.</exception>
    void Start(RolloutRequest request);

    /// <summary>Puts a VM back on one of its versions at the next pass (a new version with the old settings); the VM leaves any rollout in progress.</summary>
    /// <exception cref="ArgumentException">The VM has no such version.</exception>
    void Revert(VmId vm, int version);

    /// <summary>A rollout's state, or null when there is none with this id.</summary>
    RolloutStatus? GetStatus(string id);

    /// <summary>Every version of a VM, oldest first.</summary>
    IReadOnlyList<ConfigurationVersion> Versions(VmId vm);

    /// <summary>The settings that changed from one version to another.</summary>
    /// <exception cref="KeyNotFoundException">A version does not exist.</exception>
    IReadOnlyList<SettingChange> Diff(VmId vm, int from, int to);
}

/// <summary>Settings of configuration rollouts, bound from <c>VmEcosystem:Rollout</c> and validated at start.</summary>
public sealed class RolloutOptions
{
    /// <summary>Shares of the group on the new configuration at each step, ascending, the last 1 (default 0.25, 0.5, 1).</summary>
    public IList<double> Steps { get; } = [0.25, 0.5, 1.0];

    /// <summary>How long each step is observed before the groups are compared (default 10 min).</summary>
    public TimeSpan Window { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>How often every VM's latency is sampled (default 1 min).</summary>
    public TimeSpan SampleInterval { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>The least relative change of median latency that counts (default 0.05: 5 %).</summary>
    public double MinEffect { get; set; } = 0.05;

    /// <summary>Significance of the one-sided Mann–Whitney U test (default 0.05).</summary>
    public double Alpha { get; set; } = 0.05;

    /// <summary>A canary sample above this latency rolls the rollout back at once (null: no SLO).</summary>
    public double? SloLatencyMs { get; set; }

    /// <summary>Windows without a significant difference before the rollout is rolled back (default 2).</summary>
    public int MaxInconclusiveWindows { get; set; } = 2;
}
