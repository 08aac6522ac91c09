namespace VmEcosystem.Runtime.Leadership;

/// <summary>
/// This runtime's standing in the election, read by every path that acts (proposals, execution, intents). Without an
/// election the runtime always may act. Lock-free reads; writes come from the leadership controller and, when the store
/// refuses a fencing token, from the audit writer.
/// </summary>
internal sealed class LeadershipState(LeadershipOptions? options)
{
    private readonly object _gate = new();
    private bool _leading;
    private long _token, _term, _refused, _changes;
    private string? _leader, _demotedBecause;
    private DateTimeOffset? _expires;

    public bool Enabled => options is not null;

    public string Scope => options?.Scope ?? "cluster";

    public string Instance => options?.InstanceName ?? Environment.MachineName;

    /// <summary>True when this runtime's actions may be proposed and executed: no election, or it leads.</summary>
    public bool MayAct => options is null || Volatile.Read(ref _leading);

    /// <summary>
    /// The fence this runtime's action records carry: its own (latest) term, also after it lost the lead, so that what
    /// it still records about its actions is refused once a newer term began (null without an election).
    /// </summary>
    public (string Scope, long Token)? Fence
    {
        get
        {
            lock (_gate)
            {
                return options is null ? null : (Scope, _term);
            }
        }
    }

    /// <summary>This runtime's latest term (0 before any), part of plan ids so two leaders' plans never share an id.</summary>
    public long Term
    {
        get
        {
            lock (_gate)
            {
                return _term;
            }
        }
    }

    /// <summary>The newest term the store refused (0: none): this runtime never leads under it or an older one again.</summary>
    public long Refused
    {
        get
        {
            lock (_gate)
            {
                return _refused;
            }
        }
    }

    public string? Leader
    {
        get
        {
            lock (_gate)
            {
                return _leader;
            }
        }
    }

    public LeadershipStatus? Status
    {
        get
        {
            lock (_gate)
            {
                return options is null ? null : new LeadershipStatus(Scope, Instance, _leading, _leader, _token, _expires, _changes);
            }
        }
    }

    public void Observed(LeaderLease? lease)
    {
        lock (_gate)
        {
            _leader = lease?.Holder;
            _expires = lease?.Expires;
            _token = lease?.Token ?? _token;
        }
    }

    /// <summary>Starts this runtime's term (what it records from here carries its token) before it may act.</summary>
    public void BeginTerm(LeaderLease lease)
    {
        lock (_gate)
        {
            _term = lease.Token;
        }
    }

    /// <summary>Records that the store refused <paramref name="token"/>'s term, then stops acting.</summary>
    public bool Fenced(long token, string because)
    {
        lock (_gate)
        {
            _refused = Math.Max(_refused, token);
        }

        return Demote(because);
    }

    public void Lead(LeaderLease lease)
    {
        lock (_gate)
        {
            _term = lease.Token;
            _token = lease.Token;
            _leader = lease.Holder;
            _expires = lease.Expires;
            _demotedBecause = null;
            _changes++;
            Volatile.Write(ref _leading, true);
        }
    }

    /// <summary>Stops acting at once; true when it led until now.</summary>
    public bool Demote(string because)
    {
        lock (_gate)
        {
            if (!_leading)
            {
                return false;
            }

            Volatile.Write(ref _leading, false);
            _demotedBecause = because;
            _changes++;
            return true;
        }
    }

    /// <summary>Why the last demotion outside the controller happened (read once by the controller, for the trail).</summary>
    public string? TakeDemotion()
    {
        lock (_gate)
        {
            var why = _demotedBecause;
            _demotedBecause = null;
            return why;
        }
    }
}
