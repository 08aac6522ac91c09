using VmEcosystem.Cluster;

namespace VmEcosystem.Runtime;

/// <summary>
/// The one set of limits every action kind shares: concurrent actions per host (source and target both count) and
/// in the cluster, actions started per window, a per-VM cooldown after any action and a backoff after a failed one,
/// maintenance, and where VMs are (an action planned for a VM that has moved since is stale). Not thread-safe: the
/// executor calls it under its lock.
/// </summary>
internal sealed class ExecutionLimits(RuntimeOptions options)
{
    private readonly Dictionary<VmId, DateTimeOffset> _lastStart = [];
    private readonly Dictionary<VmId, DateTimeOffset> _backoffUntil = [];
    private readonly Dictionary<VmId, HostId> _knownHost = [];
    private readonly Queue<DateTimeOffset> _window = new();
    private readonly Dictionary<HostId, int> _perHost = [];
    private readonly HashSet<VmId> _busyVms = [];

    // Starts whose call has not answered yet. The provider may start the action at any moment until the answer
    // (a call retried after a hang reaches it late), so an unanswered start counts in every window and is stamped
    // with the time of its answer: the rate limit then holds for the times the provider really started things.
    private readonly HashSet<VmId> _unanswered = [];

    public int Running => _busyVms.Count;

    /// <summary>Most actions that ever ran at once touching one host, and in the cluster.</summary>
    public (int PerHost, int InCluster) Peak { get; private set; }

    /// <summary>Why <paramref name="action"/> may not start now, or null when it may.</summary>
    public string? SkipReason(ClusterAction action, IReadOnlySet<HostId> maintenance, DateTimeOffset now)
    {
        if (_busyVms.Contains(action.Vm))
        {
            return action is MigrateAction ? "the VM is already migrating" : "another action on the VM is running";
        }

        if (_knownHost.TryGetValue(action.Vm, out var knownHost) && knownHost != action.Host)
        {
            // Planned on an older observation: the VM has moved since, so the action's costs and limits no longer apply.
            return $"the plan is stale: the VM is on {knownHost} now, not {action.Host}";
        }

        if (action.Target is { } target && maintenance.Contains(target))
        {
            return $"target {target} is in maintenance";
        }

        if (!action.Restores && _backoffUntil.TryGetValue(action.Vm, out var until) && now < until)
        {
            return $"the VM's last action failed; retry after {until:O}";
        }

        if (options.VmCooldown > TimeSpan.Zero && _lastStart.TryGetValue(action.Vm, out var last) && now - last < options.VmCooldown)
        {
            return $"the VM was acted on {now - last} ago (cooldown {options.VmCooldown})";
        }

        if (_busyVms.Count >= options.MaxConcurrentMigrationsInCluster)
        {
            return $"{_busyVms.Count} actions already run in the cluster (limit {options.MaxConcurrentMigrationsInCluster})";
        }

        foreach (var host in Hosts(action))
        {
            if (_perHost.GetValueOrDefault(host) >= options.MaxConcurrentMigrationsPerHost)
            {
                return $"{_perHost[host]} actions already touch host {host} (limit {options.MaxConcurrentMigrationsPerHost})";
            }
        }

        while (_window.Count > 0 && now - _window.Peek() >= options.RateWindow)
        {
            _window.Dequeue();
        }

        int started = _window.Count + _unanswered.Count;
        return started >= options.MaxMigrationsPerWindow
            ? $"{started} actions started in the last {options.RateWindow} (limit {options.MaxMigrationsPerWindow})"
            : null;
    }

    /// <summary>Counts a starting action (undone by <see cref="Release"/>).</summary>
    public void Reserve(ClusterAction action, DateTimeOffset now)
    {
        _busyVms.Add(action.Vm);
        int perHost = 0;
        foreach (var host in Hosts(action))
        {
            perHost = Math.Max(perHost, _perHost[host] = _perHost.GetValueOrDefault(host) + 1);
        }

        Peak = (Math.Max(Peak.PerHost, perHost), Math.Max(Peak.InCluster, _busyVms.Count));
        _unanswered.Add(action.Vm);
        _lastStart[action.Vm] = now;
    }

    /// <summary>The start call of the VM's action answered at <paramref name="now"/>: it counts in the window from then.</summary>
    public void Answered(VmId vm, DateTimeOffset now)
    {
        if (_unanswered.Remove(vm))
        {
            _window.Enqueue(now);
        }
    }

    /// <summary>
    /// Releases what <see cref="Reserve"/> counted; a failure starts the VM's backoff. An action whose provider call
    /// was never made (<paramref name="called"/> false) leaves no trace in the rate window.
    /// </summary>
    public void Release(ClusterAction action, bool failed, DateTimeOffset now, bool called = true)
    {
        if (called)
        {
            Answered(action.Vm, now); // a failed start may still have reached the provider
        }
        else
        {
            _unanswered.Remove(action.Vm);
        }

        _busyVms.Remove(action.Vm);
        foreach (var host in Hosts(action))
        {
            _perHost[host]--;
        }

        if (failed)
        {
            _backoffUntil[action.Vm] = TimeMath.Add(now, options.FailureBackoff);
        }
    }

    /// <summary>Notes a VM's host (null: the VM left; its history is forgotten).</summary>
    public void NoteHost(VmId vm, HostId? host)
    {
        if (host is { } h)
        {
            _knownHost[vm] = h;
            return;
        }

        _knownHost.Remove(vm);
        _backoffUntil.Remove(vm);
        _lastStart.Remove(vm);
    }

    /// <summary>Holds a VM back for the failure backoff (its last action's outcome is unknown or it did not complete).</summary>
    public void Hold(VmId vm, DateTimeOffset now) => _backoffUntil[vm] = TimeMath.Add(now, options.FailureBackoff);

    /// <summary>An action a previous process started at <paramref name="at"/> (from the trail): its cooldown and rate-window slot.</summary>
    public void RestoreStart(VmId vm, DateTimeOffset at, DateTimeOffset now)
    {
        if (!_lastStart.TryGetValue(vm, out var last) || last < at)
        {
            _lastStart[vm] = at;
        }

        if (now - at < options.RateWindow)
        {
            _window.Enqueue(at); // the trail is read in order, so the window stays sorted
        }
    }

    /// <summary>An action a previous process saw fail at <paramref name="at"/> (from the trail): the VM's backoff.</summary>
    public void RestoreFailure(VmId vm, DateTimeOffset at) => _backoffUntil[vm] = TimeMath.Add(at, options.FailureBackoff);

    /// <summary>Forgets where a VM is (its last move's outcome is unknown); its cooldown and backoff stay.</summary>
    public void ForgetHost(VmId vm) => _knownHost.Remove(vm);

    private static IEnumerable<HostId> Hosts(ClusterAction action) =>
        action.Target is { } target && target != action.Host ? [action.Host, target] : [action.Host];
}
