using System.Collections.Concurrent;
using System.Globalization;
using VmEcosystem.Cluster;
using VmEcosystem.Runtime.Audit;
using VmEcosystem.Tuning.Rollout;

namespace VmEcosystem.Runtime.Rollout;

/// <summary>
/// The runtime's <c>rollout</c> loop: A/B rollouts of a configuration over a group of VMs. The first step's canaries
/// get the new configuration through the executor, the rest are the control; every VM's latency is sampled each
/// <see cref="RolloutOptions.SampleInterval"/>. A canary sample above the SLO rolls back at once. After each window the
/// groups are compared with a one-sided Mann–Whitney U test: significantly better by at least the minimum effect
/// promotes to the next step; significantly worse, or inconclusive for too long, rolls every canary back to the
/// version it had. Every decision is audited with its figures; every configuration applied is a version.
/// </summary>
internal sealed class RolloutController(IConfigurationApplier applier, ConfigurationVersionStore versions, RolloutOptions options, IAuditStore? trail = null)
    : IRuntimeController, IConfigurationRollouts, IPendingActionRestorer
{
    public const string ControllerName = "rollout";
    private readonly ConcurrentQueue<RolloutRequest> _starts = new();
    private readonly ConcurrentQueue<(VmId Vm, int Version)> _reverts = new();
    private readonly ConcurrentDictionary<string, Rollout> _rollouts = new(StringComparer.Ordinal);
    private bool _restored;

    public string Name => ControllerName;

    /// <summary>The action kind this controller rebuilds from plans held for approval (<see cref="IPendingActionRestorer"/>).</summary>
    public string Kind => ConfigureAction.KindName;

    /// <summary>A <c>configure</c> action held for approval when the runtime stopped, with this controller's applier and versions.</summary>
    public ClusterAction? Restore(VmId vm, HostId host, string reason, string? payload) => ConfigureAction.FromPayload(vm, host, reason, payload, applier, versions);

    public void Start(RolloutRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentException.ThrowIfNullOrWhiteSpace(request.Id);
        if (request.Group.Count == 0 || request.Settings.Count == 0)
        {
            throw new ArgumentException($"Rollout '{request.Id}' needs at least one VM and one setting.", nameof(request));
        }

        if (_rollouts.TryGetValue(request.Id, out var existing) && existing.State == RolloutState.Observing)
        {
            throw new InvalidOperationException($"Rollout '{request.Id}' is already in progress.");
        }

        _starts.Enqueue(request);
    }

    public void Revert(VmId vm, int version)
    {
        if (versions.Get(vm, version) is null)
        {
            throw new ArgumentException($"VM '{vm}' has no configuration version {version}.", nameof(version));
        }

        _reverts.Enqueue((vm, version));
    }

    /// <summary>A rollout's state, the VMs on the new configuration and the last decision, or null.</summary>
    public RolloutStatus? GetStatus(string id) =>
        _rollouts.TryGetValue(id, out var r) ? new RolloutStatus(id, r.State, [.. r.Members], r.Members.Count(v => r.OnCandidate(versions, v)), r.Decision) : null;

    public IReadOnlyList<ConfigurationVersion> Versions(VmId vm) => versions.List(vm);

    public IReadOnlyList<SettingChange> Diff(VmId vm, int from, int to) => versions.Diff(vm, from, to);

    public async Task RunOnceAsync(ControllerContext context, CancellationToken cancellationToken)
    {
        if (!_restored && trail is not null)
        {
            await versions.RestoreAsync(trail, cancellationToken).ConfigureAwait(false);
            await RestoreAsync(context, trail, cancellationToken).ConfigureAwait(false);
        }

        _restored = true;
        await context.DelayAsync(options.SampleInterval, cancellationToken).ConfigureAwait(false);
        var inventory = await context.CallAsync("GetInventory", (h, ct) => h.GetInventoryAsync(ct), cancellationToken).ConfigureAwait(false);
        var actions = new List<ClusterAction>();
        while (_reverts.TryDequeue(out var revert))
        {
            if (versions.Get(revert.Vm, revert.Version) is { } target && inventory.TryGetHostOf(revert.Vm, out var host))
            {
                // An operator's revert wins: the VM leaves any rollout in progress.
                foreach (var r in _rollouts.Values.Where(r => r.State == RolloutState.Observing && r.Members.Remove(revert.Vm)))
                {
                    await context.AuditAsync(AuditKind.RolloutDecided, $"rollout {r.Request.Id}: {revert.Vm} left the rollout (reverted to v{revert.Version})", Detail(r)).ConfigureAwait(false);
                }

                actions.Add(Configure(revert.Vm, host, target.Settings, $"revert to v{revert.Version}", $"revert {revert.Vm} to configuration v{revert.Version}") with { RevertsTo = revert.Version });
            }
        }

        while (_starts.TryDequeue(out var request))
        {
            await BeginAsync(context, request, inventory, actions, cancellationToken).ConfigureAwait(false);
        }

        foreach (var rollout in _rollouts.Values.Where(r => r.State == RolloutState.Observing))
        {
            await StepAsync(context, rollout, inventory, actions, cancellationToken).ConfigureAwait(false);
        }

        foreach (var rollout in _rollouts.Values.Where(r => r.State == RolloutState.RolledBack && r.Members.Any(v => r.OnCandidate(versions, v))))
        {
            // A rollback the executor skipped or that failed is proposed again until no VM is left on the configuration.
            if (rollout.RolledBackAt != context.Time.GetUtcNow())
            {
                RollBack(rollout, inventory, actions, "retrying the rollback");
            }
        }

        if (actions.Count > 0)
        {
            await context.ProposeAsync(actions, "rollout").ConfigureAwait(false);
        }
    }

    private async Task BeginAsync(ControllerContext context, RolloutRequest request, InventorySnapshot inventory, List<ClusterAction> actions, CancellationToken cancellationToken)
    {
        var group = request.Group.Where(v => inventory.TryGetVm(v, out _)).OrderBy(v => v.Value, StringComparer.Ordinal).ToArray();
        foreach (var vm in group.Where(v => versions.Current(v) is null))
        {
            // What each VM runs now becomes its version 1, so a rollback has something to return to.
            var settings = await context.WaitAsync(applier.ReadAsync(vm, cancellationToken)).ConfigureAwait(false);
            await versions.AddAsync(vm, settings, [], "initial", null, context.Time.GetUtcNow(),
                (kind, v, message, detail) => context.AuditAsync(kind, v, message, detail)).ConfigureAwait(false);
        }

        var rollout = new Rollout(request with { Group = group }, context.Time.GetUtcNow());
        _rollouts[request.Id] = rollout;
        string changes = group.Length == 0 ? "" : string.Join(", ", ConfigurationVersionStore.Diff(versions.Current(group[0])!.Settings, request.Settings)
            .Select(c => $"{c.Setting} {c.From ?? "-"} -> {c.To ?? "-"}"));
        rollout.Decision = $"rollout {request.Id} started on {group.Length} VMs ({request.Origin}): {changes}; steps {string.Join(", ", options.Steps.Select(s => s.ToString("P0", CultureInfo.InvariantCulture)))}, window {options.Window.TotalMinutes:0} min";
        await context.AuditAsync(AuditKind.RolloutDecided, rollout.Decision, Detail(rollout)).ConfigureAwait(false);
        Promote(rollout, inventory, actions);
    }

    private async Task StepAsync(ControllerContext context, Rollout rollout, InventorySnapshot inventory, List<ClusterAction> actions, CancellationToken cancellationToken)
    {
        var now = context.Time.GetUtcNow();
        var group = rollout.Members;
        if (rollout.Target == 0)
        {
            Promote(rollout, inventory, actions); // restored: the step's share is applied again where it is missing
        }

        var canaries = group.Where(v => rollout.OnCandidate(versions, v)).ToArray();
        if (canaries.Length < rollout.Target)
        {
            // The step's configuration is not applied yet (the executor skipped it, or it waits for approval): the
            // window starts once it is, and what is missing is proposed again (a newer proposal supersedes the older).
            rollout.StepStarted = now;
            Promote(rollout, inventory, actions);
            return;
        }

        if (canaries.Length == group.Count)
        {
            await DecideAsync(context, rollout, RolloutState.Completed, $"rollout {rollout.Request.Id} completed: all {group.Count} VMs run the new configuration").ConfigureAwait(false);
            return;
        }

        foreach (var vm in group)
        {
            if (await context.ReadApplicationAsync(vm, cancellationToken).ConfigureAwait(false) is { LatencyMs: { } latency })
            {
                bool canary = canaries.Contains(vm);
                (canary ? rollout.Canary : rollout.Control).Add(latency);
                if (canary && options.SloLatencyMs is { } slo && latency > slo)
                {
                    await RollBackAsync(context, rollout, inventory, actions,
                        $"SLO broken on canary {vm}: latency {latency:F1} ms > {slo:F0} ms").ConfigureAwait(false);
                    return;
                }
            }
        }

        if (now - rollout.StepStarted < options.Window)
        {
            return;
        }

        if (rollout.Canary.Count == 0 || rollout.Control.Count == 0)
        {
            // Nothing to compare (no IApplicationMetricsSource, or it reports no latency for these VMs).
            rollout.StepStarted = now;
            if (++rollout.Inconclusive >= options.MaxInconclusiveWindows)
            {
                await RollBackAsync(context, rollout, inventory, actions, "no latency samples to compare (register an IApplicationMetricsSource)").ConfigureAwait(false);
            }

            return;
        }

        var test = MannWhitney.Test(rollout.Canary, rollout.Control);
        double canaryMedian = MannWhitney.Median(rollout.Canary), controlMedian = MannWhitney.Median(rollout.Control);
        double effect = (controlMedian - canaryMedian) / controlMedian;
        string figures = $"canary {canaries.Length} VMs median latency {canaryMedian:F1} ms vs control {group.Count - canaries.Length} VMs {controlMedian:F1} ms "
            + $"({rollout.Canary.Count} vs {rollout.Control.Count} samples), U={test.U:F0}";
        if (test.PLess < options.Alpha && effect >= options.MinEffect)
        {
            rollout.Decision = $"rollout {rollout.Request.Id}: {figures}, p={test.PLess:G2}, {effect:P0} better (at least {options.MinEffect:P0}): promoted";
            rollout.Step++;
            rollout.Canary.Clear();
            rollout.Control.Clear();
            rollout.StepStarted = now;
            await context.AuditAsync(AuditKind.RolloutDecided, rollout.Decision, Detail(rollout)).ConfigureAwait(false);
            Promote(rollout, inventory, actions);
        }
        else if (test.PGreater < options.Alpha && -effect >= options.MinEffect)
        {
            await RollBackAsync(context, rollout, inventory, actions, $"{figures}, p={test.PGreater:G2}, {-effect:P0} worse").ConfigureAwait(false);
        }
        else if (++rollout.Inconclusive >= options.MaxInconclusiveWindows)
        {
            await RollBackAsync(context, rollout, inventory, actions, $"{figures}: no significant improvement in {rollout.Inconclusive} windows").ConfigureAwait(false);
        }
    }

    // Puts the next step's share of the group (in id order) on the new configuration.
    private void Promote(Rollout rollout, InventorySnapshot inventory, List<ClusterAction> actions)
    {
        var group = rollout.Members;
        double share = options.Steps[Math.Min(rollout.Step, options.Steps.Count - 1)];
        rollout.Target = Math.Clamp((int)Math.Ceiling(share * group.Count), 1, group.Count);
        foreach (var vm in group.Take(rollout.Target).Where(v => !rollout.OnCandidate(versions, v) && !actions.Any(a => a.Vm == v)))
        {
            if (inventory.TryGetHostOf(vm, out var host))
            {
                actions.Add(Configure(vm, host, rollout.Request.Settings, $"rollout {rollout.Request.Id} step {rollout.Step + 1}",
                    $"rollout {rollout.Request.Id} step {rollout.Step + 1}: {share:P0} of the group on the new configuration") with { Score = rollout.Request.Score });
            }
        }
    }

    private async Task RollBackAsync(ControllerContext context, Rollout rollout, InventorySnapshot inventory, List<ClusterAction> actions, string why)
    {
        RollBack(rollout, inventory, actions, why);
        rollout.RolledBackAt = context.Time.GetUtcNow();
        await DecideAsync(context, rollout, RolloutState.RolledBack, $"rollout {rollout.Request.Id} rolled back: {why}").ConfigureAwait(false);
    }

    // Every VM on the rollout's configuration goes back to the version it had before it.
    private void RollBack(Rollout rollout, InventorySnapshot inventory, List<ClusterAction> actions, string why)
    {
        foreach (var vm in rollout.Members.Where(v => rollout.OnCandidate(versions, v)))
        {
            var current = versions.Current(vm)!;
            if (current.Parents.Count > 0 && versions.Get(vm, current.Parents[0]) is { } previous && inventory.TryGetHostOf(vm, out var host))
            {
                actions.Add(Configure(vm, host, previous.Settings, $"rollback of rollout {rollout.Request.Id}", $"rollback of rollout {rollout.Request.Id}: {why}")
                    with { Restores = true, RevertsTo = previous.Number });
            }
        }
    }

    private static async Task DecideAsync(ControllerContext context, Rollout rollout, RolloutState state, string decision)
    {
        rollout.State = state;
        rollout.Decision = decision;
        await context.AuditAsync(AuditKind.RolloutDecided, decision, Detail(rollout)).ConfigureAwait(false);
    }

    // The rollout's state as the detail of its decision records: what a restarted runtime (or a new leader) resumes from.
    private static string Detail(Rollout r) => RolloutTrail.Detail(new RolloutTrail.Entry(r.Request.Id, [.. r.Request.Group.Select(v => v.Value)],
        [.. r.Members.Select(v => v.Value)], new Dictionary<string, string>(r.Request.Settings), r.Request.Origin, r.Request.Score, r.Step, r.State, r.Decision));

    // Rollouts recorded in the trail come back as they were last decided: one in progress resumes at its step (its
    // window starts again), one rolled back keeps taking VMs off the configuration.
    private async Task RestoreAsync(ControllerContext context, IAuditStore store, CancellationToken cancellationToken)
    {
        foreach (var e in await RolloutTrail.ReadAsync(store, cancellationToken).ConfigureAwait(false))
        {
            var request = new RolloutRequest(e.Id, [.. e.Group.Select(v => new VmId(v))], e.Settings, e.Origin, e.Score);
            var rollout = new Rollout(request, context.Time.GetUtcNow()) { Step = e.Step, State = e.State, Decision = e.Decision };
            rollout.Members.RemoveAll(v => !e.Members.Contains(v.Value));
            _rollouts[e.Id] = rollout;
        }
    }

    private ConfigureAction Configure(VmId vm, HostId host, IReadOnlyDictionary<string, string> settings, string origin, string reason) =>
        new(vm, host, settings, origin, reason) { Applier = applier, Versions = versions };

    private sealed class Rollout(RolloutRequest request, DateTimeOffset started)
    {
        public RolloutRequest Request { get; } = request;

        /// <summary>The VMs still in the rollout, in id order (a reverted VM leaves it).</summary>
        public List<VmId> Members { get; } = [.. request.Group];

        public RolloutState State { get; set; } = RolloutState.Observing;

        public int Step { get; set; }

        public int Target { get; set; }

        public int Inconclusive { get; set; }

        public DateTimeOffset StepStarted { get; set; } = started;

        public DateTimeOffset? RolledBackAt { get; set; }

        public string? Decision { get; set; }

        public List<double> Canary { get; } = [];

        public List<double> Control { get; } = [];

        public bool OnCandidate(ConfigurationVersionStore store, VmId vm) =>
            store.Current(vm) is { } v && ConfigurationVersionStore.Diff(v.Settings, Request.Settings).Count == 0;
    }
}
