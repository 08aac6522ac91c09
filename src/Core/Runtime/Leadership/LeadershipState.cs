using VmEcosystem.Cluster;

namespace VmEcosystem.Runtime.Leadership;

/// <summary>
/// This runtime's standing in the election, read by every path that acts (proposals, execution, intents): which scopes
/// it leads (one, or with <see cref="LeadershipOptions.ShardByHostSet"/> the host sets it leads), under which terms,
/// and which scope a host belongs to. Without an election the runtime always may act. Writes come from the leadership
/// controller and, when the store refuses a fencing token, from the audit writer.
/// </summary>
/// <remarks>
/// A scope counts as led only until its lease's expiry on this runtime's clock: a leader whose heartbeats stall stops
/// acting when its lease lapses, without waiting for its next heartbeat to find out (the followers may take over then).
/// </remarks>
internal sealed class LeadershipState(LeadershipOptions? options, TimeProvider? time = null)
{
    private readonly object _gate = new();
    private readonly Dictionary<string, (long Term, DateTimeOffset Expires)> _led = new(StringComparer.Ordinal); // scope → the term this runtime leads it under
    private readonly Dictionary<string, long> _terms = new(StringComparer.Ordinal); // scope → this runtime's latest term (kept after a loss)
    private readonly Dictionary<string, long> _refused = new(StringComparer.Ordinal);
    private readonly Dictionary<string, LeaderLease> _seen = new(StringComparer.Ordinal);
    private readonly List<(string Scope, string Why)> _demotions = [];
    private Dictionary<HostId, string> _scopeOfHost = [];
    private string[] _shards = [];
    private volatile int _ledCount;
    private long _changes;

    /// <summary>What <see cref="LeadershipStatus.Leaders"/> shows for a set no live instance is known to lead.</summary>
    public const string NoLeader = "(none)";

    public bool Enabled => options is not null;

    /// <summary>Called (on the leadership controller) each time this runtime starts leading a scope.</summary>
    public Action? OnLead { get; set; }

    public bool Sharded => options?.ShardByHostSet == true;

    public string Scope => options?.Scope ?? "cluster";

    public string Instance => options?.InstanceName ?? Environment.MachineName;

    /// <summary>True when this runtime may propose: no election, or it leads at least one scope.</summary>
    public bool MayAct
    {
        get
        {
            if (options is null)
            {
                return true;
            }

            if (_ledCount == 0)
            {
                return false;
            }

            var now = Now;
            lock (_gate)
            {
                return _led.Values.Any(l => l.Expires > now);
            }
        }
    }

    private DateTimeOffset Now => (time ?? TimeProvider.System).GetUtcNow();

    /// <summary>The scope <paramref name="host"/> belongs to: its host set's when sharded, the one scope otherwise.</summary>
    public string ScopeOf(HostId? host)
    {
        if (!Sharded || host is not { } h)
        {
            return Scope;
        }

        lock (_gate)
        {
            return _scopeOfHost.GetValueOrDefault(h) ?? Scope;
        }
    }

    /// <summary>True when an action on <paramref name="host"/> may be executed here: no election, or this runtime leads its scope.</summary>
    public bool MayActOn(HostId? host)
    {
        if (options is null)
        {
            return true;
        }

        string scope = ScopeOf(host);
        var now = Now;
        lock (_gate)
        {
            return _led.TryGetValue(scope, out var led) && led.Expires > now;
        }
    }

    /// <summary>
    /// The fence of a record about <paramref name="host"/>: this runtime's latest term of the host's scope, also after
    /// it lost the lead, so what it still records is refused once a newer term began (null without an election).
    /// </summary>
    public (string Scope, long Token)? FenceFor(HostId? host)
    {
        if (options is null)
        {
            return null;
        }

        string scope = ScopeOf(host);
        lock (_gate)
        {
            return (scope, _terms.GetValueOrDefault(scope));
        }
    }

    /// <summary>This runtime's latest term of the one scope (0 before any), part of plan ids (not sharded).</summary>
    public long Term
    {
        get
        {
            lock (_gate)
            {
                return _terms.GetValueOrDefault(Scope);
            }
        }
    }

    /// <summary>The scopes to lead when sharded: one per host set (and the base scope for hosts in none).</summary>
    public IReadOnlyList<string> Shards
    {
        get
        {
            lock (_gate)
            {
                return Sharded ? _shards : [Scope];
            }
        }
    }

    /// <summary>The scopes led now (lease not lapsed on this runtime's clock).</summary>
    public IReadOnlyList<string> Led
    {
        get
        {
            var now = Now;
            lock (_gate)
            {
                return [.. _led.Where(l => l.Value.Expires > now).Select(l => l.Key).Order(StringComparer.Ordinal)];
            }
        }
    }

    /// <summary>Who leads <paramref name="host"/>'s scope, as last seen (null: none known).</summary>
    public string? LeaderOf(HostId? host)
    {
        string scope = ScopeOf(host);
        lock (_gate)
        {
            return _seen.GetValueOrDefault(scope)?.Holder;
        }
    }

    /// <summary>The newest term of <paramref name="scope"/> the store refused (0: none): never led under it or an older one again.</summary>
    public long RefusedOf(string scope)
    {
        lock (_gate)
        {
            return _refused.GetValueOrDefault(scope);
        }
    }

    public LeadershipStatus? Status
    {
        get
        {
            lock (_gate)
            {
                if (options is null)
                {
                    return null;
                }

                var main = _seen.GetValueOrDefault(Scope);
                var now = Now;
                var led = _led.Where(l => l.Value.Expires > now).Select(l => l.Key).Order(StringComparer.Ordinal).ToList();
                bool leads = Sharded ? led.Count > 0 : led.Contains(Scope);
                return new LeadershipStatus(Scope, Instance, leads, Sharded ? null : main?.Holder,
                    Sharded ? 0 : leads ? _led[Scope].Term : main?.Token ?? 0, Sharded ? null : main?.Expires, _changes)
                {
                    Scopes = led,
                    Leaders = Sharded
                        ? _shards.ToDictionary(s => s, s => _seen.TryGetValue(s, out var l) && l.Expires > now ? l.Holder : NoLeader, StringComparer.Ordinal)
                        : null,
                };
            }
        }
    }

    /// <summary>The host sets of the latest inventory (sharded only).</summary>
    public void SetShards(InventorySnapshot inventory)
    {
        var map = new Dictionary<HostId, string>();
        bool unset = false;
        foreach (var h in inventory.Hosts)
        {
            if (h.HostSet is { } set)
            {
                map[h.Id] = $"{Scope}/{set.Value}";
            }
            else
            {
                unset = true;
            }
        }

        var shards = map.Values.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
        if (unset)
        {
            shards.Insert(0, Scope);
        }

        lock (_gate)
        {
            _scopeOfHost = map;
            _shards = [.. shards];
        }
    }

    public void Observed(string scope, LeaderLease? lease)
    {
        lock (_gate)
        {
            if (lease is null)
            {
                _seen.Remove(scope);
            }
            else
            {
                _seen[scope] = lease;
            }
        }
    }

    /// <summary>Starts this runtime's term of a scope (what it records there carries its token) before it may act there.</summary>
    public void BeginTerm(LeaderLease lease)
    {
        lock (_gate)
        {
            _terms[lease.Scope] = lease.Token;
        }
    }

    public void Lead(LeaderLease lease)
    {
        lock (_gate)
        {
            _terms[lease.Scope] = lease.Token;
            _led[lease.Scope] = (lease.Token, lease.Expires);
            _seen[lease.Scope] = lease;
            _changes++;
            _ledCount = _led.Count;
        }
    }

    /// <summary>A renewal of a scope it leads: led until the new expiry.</summary>
    public void Renewed(LeaderLease lease)
    {
        lock (_gate)
        {
            if (_led.ContainsKey(lease.Scope))
            {
                _led[lease.Scope] = (lease.Token, lease.Expires);
                _seen[lease.Scope] = lease;
            }
        }
    }

    /// <summary>Stops acting on <paramref name="scope"/> at once; true when it led it until now.</summary>
    public bool Demote(string scope, string because)
    {
        lock (_gate)
        {
            if (!_led.Remove(scope))
            {
                return false;
            }

            _ledCount = _led.Count;
            _demotions.Add((scope, because));
            _changes++;
            return true;
        }
    }

    /// <summary>Records that the store refused <paramref name="token"/>'s term of <paramref name="scope"/>, then stops acting there.</summary>
    public bool Fenced(string scope, long token, string because)
    {
        lock (_gate)
        {
            _refused[scope] = Math.Max(_refused.GetValueOrDefault(scope), token);
        }

        return Demote(scope, because);
    }

    /// <summary>Demotions since the last call (the controller audits those it did not make itself).</summary>
    public IReadOnlyList<(string Scope, string Why)> TakeDemotions()
    {
        lock (_gate)
        {
            var taken = _demotions.ToList();
            _demotions.Clear();
            return taken;
        }
    }
}
