using VmEcosystem.Cluster;

namespace VmEcosystem.Planning;

/// <summary>
/// One run of the planner pipeline over a <see cref="PlanningState"/>: stages ask it for targets
/// (<see cref="FindTarget(int, out double)"/>: filters, then weighted scorers, lowest cost wins, lowest host index on ties) and
/// commit moves (<see cref="Commit"/>: limits checked, state updated, decision recorded with its explanation).
/// </summary>
public sealed class PlanningPass
{
    private readonly IReadOnlyList<IPlacementFilter> _filters;
    private readonly IReadOnlyList<IPlacementScorer> _scorers;
    private readonly IReadOnlyList<IMigrationLimit> _limits;
    private readonly List<MigrationDecision> _decisions = [];
    private readonly List<BlockedMove> _blocked = [];
    private readonly List<(int Vm, int Source, int Target)> _committed = [];
    private readonly int _alternatives;
    private readonly List<(int Host, double Cost, string? RejectedBy)> _candidates = [];
    private readonly double[] _weights;
    private readonly Dictionary<Type, object> _features = [];
    private readonly List<IPlanningPassObserver> _observers = [];
    private int _nextGroup;

    internal PlanningPass(PlanningState state, PlanningContext context, MigrationPlanner planner, HostMask overloaded)
    {
        var filters = planner.Filters;
        var scorers = planner.Scorers;
        var limits = planner.Limits;
        var candidates = planner.Settings.Candidates;
        int alternativesToExplain = planner.AlternativesToExplain;
        string policy = planner.Name;
        State = state;
        Context = context;
        _filters = filters;
        _scorers = scorers;
        _limits = limits;
        Candidates = candidates;
        _alternatives = alternativesToExplain;
        OverloadedHosts = overloaded;
        Policy = policy;
        _weights = new double[scorers.Count];
        for (int i = 0; i < scorers.Count; i++)
        {
            _weights[i] = scorers[i].Weight / scorers[i].Scale;
        }
    }

    /// <summary>The cluster being planned.</summary>
    public PlanningState State { get; }

    /// <summary>Inputs beyond the cluster state: forecasts, reservations, cooldowns, randomness.</summary>
    public PlanningContext Context { get; }

    /// <summary>The policy's name.</summary>
    public string Policy { get; }

    /// <summary>Hosts found overloaded by an earlier stage (later stages exclude them as targets).</summary>
    internal HostMask OverloadedHosts { get; }

    /// <summary>True when an earlier stage found <paramref name="host"/> overloaded this pass.</summary>
    public bool IsOverloaded(int host) => OverloadedHosts.Contains(host);

    /// <summary>Marks <paramref name="host"/> overloaded for the rest of the pass: later stages move VMs off it, never onto it.</summary>
    public void MarkOverloaded(int host) => OverloadedHosts.Add(host);

    /// <summary>
    /// Finds the best target for <paramref name="vm"/> among the hosts not found overloaded: the one that passes every
    /// filter and limit with the lowest weighted cost (ties: lowest index). Returns -1 when none fits.
    /// </summary>
    public int FindTarget(int vm, out double cost) => FindTarget(vm, OverloadedHosts, out cost);

    /// <summary>Where target candidates come from (null: every host, in index order).</summary>
    public ICandidateHostSource? Candidates { get; }

    /// <summary>Moves committed so far.</summary>
    public IReadOnlyList<MigrationDecision> Decisions => _decisions;

    /// <summary>Number of moves committed so far.</summary>
    public int CommittedCount => _committed.Count;

    /// <summary>The VMs committed in this pass, with source and target indexes.</summary>
    public IReadOnlyList<(int Vm, int Source, int Target)> Committed => _committed;

    /// <summary>
    /// A helper shared by the stages, filters and scorers of this pass, created on first use; when it implements
    /// <see cref="IPlanningPassObserver"/> it follows every commit and rollback.
    /// </summary>
    public T Feature<T>(Func<PlanningPass, T> create)
        where T : class
    {
        ArgumentNullException.ThrowIfNull(create);
        if (_features.TryGetValue(typeof(T), out var existing))
        {
            return (T)existing;
        }

        var feature = create(this);
        _features[typeof(T)] = feature;
        if (feature is IPlanningPassObserver observer)
        {
            _observers.Add(observer);
        }

        return feature;
    }

    /// <summary>Allocates an id for an all-or-nothing group of moves.</summary>
    public int NewGroup() => ++_nextGroup;

    /// <summary>True when every limit lets <paramref name="vm"/> move in this pass.</summary>
    public bool MayMove(int vm)
    {
        for (int i = 0; i < _limits.Count; i++)
        {
            if (!_limits[i].AllowsVm(this, vm))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>
    /// Finds the best target for <paramref name="vm"/>: the host not in <paramref name="excluded"/> that passes
    /// every filter and limit with the lowest weighted cost (ties: lowest index). Returns -1 when none fits.
    /// </summary>
    internal int FindTarget(int vm, HostMask? excluded, out double cost)
    {
        int source = State.VmHost[vm];
        int best = -1;
        double bestCost = double.MaxValue;
        bool explain = _alternatives > 0;
        if (explain)
        {
            _candidates.Clear();
        }

        if (Candidates is null)
        {
            int hosts = State.HostCount;
            for (int h = 0; h < hosts; h++)
            {
                Consider(vm, source, h, excluded, explain, ref best, ref bestCost);
            }
        }
        else
        {
            // Pages of candidates until one passes the filters (or the source runs out).
            for (int page = 0; best < 0; page++)
            {
                var list = Candidates.CandidatesFor(this, vm, page);
                if (list.Count == 0)
                {
                    break;
                }

                for (int i = 0; i < list.Count; i++)
                {
                    Consider(vm, source, list[i], excluded, explain, ref best, ref bestCost);
                }
            }
        }

        cost = bestCost;
        return best;
    }

    /// <summary>
    /// Finds the best target for <paramref name="vm"/> among <paramref name="hosts"/> (for stages that know where a
    /// VM should go, such as near its dependencies): every filter and limit applies, plus <paramref name="accept"/>
    /// when given. Returns -1 when none qualifies.
    /// </summary>
    public int FindTargetAmong(int vm, IReadOnlyList<int> hosts, Func<int, bool>? accept, out double cost)
    {
        ArgumentNullException.ThrowIfNull(hosts);
        int source = State.VmHost[vm];
        int best = -1;
        double bestCost = double.MaxValue;
        bool explain = _alternatives > 0;
        if (explain)
        {
            _candidates.Clear();
        }

        for (int i = 0; i < hosts.Count; i++)
        {
            int h = hosts[i];
            if (accept is not null && h != source && !accept(h))
            {
                continue;
            }

            Consider(vm, source, h, null, explain, ref best, ref bestCost);
        }

        cost = bestCost;
        return best;
    }

    /// <summary>The weighted total cost of a placement (after filters); used by stages that compare options.</summary>
    public double CostOf(int vm, int host)
    {
        double total = 0;
        for (int i = 0; i < _scorers.Count; i++)
        {
            total += _weights[i] * _scorers[i].Cost(this, vm, host);
        }

        return total;
    }

    /// <summary>True when <paramref name="vm"/> may go to <paramref name="host"/> (every filter accepts).</summary>
    public bool Accepts(int vm, int host) => RejectingFilter(vm, host) is null;

    /// <summary>
    /// Commits a move: updates the state as if the VM were on <paramref name="target"/> (it stays on its source's
    /// list as well, as the real VM does until the migration ends), informs the limits and records the decision.
    /// </summary>
    public MigrationDecision Commit(int vm, int target, string stage, string rule, TriggerEvidence trigger, int? group = null)
    {
        int source = State.VmHost[vm];
        double total = 0;
        CostComponent[] costs = [];
        if (_scorers.Count > 0)
        {
            costs = new CostComponent[_scorers.Count];
            for (int i = 0; i < _scorers.Count; i++)
            {
                double raw = _scorers[i].Cost(this, vm, target);
                double weighted = _weights[i] * raw;
                costs[i] = new CostComponent(_scorers[i].Name, raw, weighted);
                total += weighted;
            }
        }

        var alternatives = _alternatives > 0 ? BuildAlternatives(vm, target) : (IReadOnlyList<RejectedAlternative>)[];
        State.Place(vm, target);
        for (int i = 0; i < _limits.Count; i++)
        {
            _limits[i].OnCommitted(this, vm, source, target);
        }

        _committed.Add((vm, source, target));
        foreach (var observer in _observers)
        {
            observer.OnCommitted(this, vm, source, target);
        }

        var decision = new MigrationDecision
        {
            Vm = State.VmIds[vm],
            Source = source >= 0 ? State.HostIds[source] : State.HostIds[target],
            Target = State.HostIds[target],
            VmIndex = vm,
            TargetIndex = target,
            Stage = stage,
            Rule = rule,
            Trigger = trigger,
            TotalCost = total,
            Costs = costs,
            Alternatives = alternatives,
            Group = group,
        };
        _decisions.Add(decision);
        return decision;
    }

    /// <summary>Removes every committed move of an all-or-nothing group and undoes its state changes.</summary>
    public void RollBackGroup(int group)
    {
        for (int i = _decisions.Count - 1; i >= 0; i--)
        {
            if (_decisions[i].Group != group)
            {
                continue;
            }

            var (vm, source, target) = _committed[i];
            State.Remove(vm, target);
            State.VmHost[vm] = source;
            foreach (var observer in _observers)
            {
                observer.OnRolledBack(this, vm, source, target);
            }

            for (int l = 0; l < _limits.Count; l++)
            {
                _limits[l].OnUncommitted(this, vm, source, target);
            }

            _decisions.RemoveAt(i);
            _committed.RemoveAt(i);
        }
    }

    /// <summary>Records a move that was wanted but not made.</summary>
    public void Block(int vm, string stage, string reason)
    {
        if (_alternatives > 0 || _blocked.Count < 1000)
        {
            _blocked.Add(new BlockedMove(State.VmIds[vm], stage, reason));
        }
    }

    internal MigrationPlan ToPlan() => new()
    {
        Time = State.Time,
        Policy = Policy,
        Decisions = _decisions.ToArray(),
        Blocked = _blocked.ToArray(),
    };

    private void Consider(int vm, int source, int h, HostMask? excluded, bool explain, ref int best, ref double bestCost)
    {
        if (h == source || (excluded is not null && excluded.Contains(h)))
        {
            return;
        }

        string? rejectedBy = RejectingFilter(vm, h);
        if (rejectedBy is null)
        {
            for (int i = 0; i < _limits.Count; i++)
            {
                if (!_limits[i].AllowsMove(this, vm, source, h))
                {
                    rejectedBy = _limits[i].Name;
                    break;
                }
            }
        }

        if (rejectedBy is not null)
        {
            if (explain && _candidates.Count < 4 * _alternatives)
            {
                _candidates.Add((h, double.NaN, rejectedBy));
            }

            return;
        }

        double total = 0;
        for (int i = 0; i < _scorers.Count; i++)
        {
            total += _weights[i] * _scorers[i].Cost(this, vm, h);
        }

        if (explain)
        {
            _candidates.Add((h, total, null));
        }

        if (total < bestCost)
        {
            bestCost = total;
            best = h;
        }
    }

    private string? RejectingFilter(int vm, int h)
    {
        for (int i = 0; i < _filters.Count; i++)
        {
            if (!_filters[i].Accepts(this, vm, h))
            {
                return _filters[i].Name;
            }
        }

        return null;
    }

    private IReadOnlyList<RejectedAlternative> BuildAlternatives(int vm, int chosen)
    {
        var scored = _candidates.Where(c => c.RejectedBy is null && c.Host != chosen).OrderBy(c => c.Cost).ThenBy(c => c.Host)
            .Take(_alternatives);
        var rejected = _candidates.Where(c => c.RejectedBy is not null).Take(_alternatives);
        var result = new List<RejectedAlternative>();
        foreach (var (host, cost, by) in scored.Concat(rejected))
        {
            result.Add(new RejectedAlternative(State.HostIds[host], cost, by, by is null ? CostsOf(vm, host) : []));
        }

        return result;
    }

    private CostComponent[] CostsOf(int vm, int host)
    {
        var list = new CostComponent[_scorers.Count];
        for (int i = 0; i < _scorers.Count; i++)
        {
            double raw = _scorers[i].Cost(this, vm, host);
            list[i] = new CostComponent(_scorers[i].Name, raw, _weights[i] * raw);
        }

        return list;
    }
}

/// <summary>Supplies target candidates for a VM (for example from a free-capacity index) instead of every host.</summary>
public interface ICandidateHostSource
{
    /// <summary>
    /// Host indexes to consider for <paramref name="vm"/>, page by page (page 0 first): the pass asks for the next
    /// page only when no host of the previous ones passed the filters; an empty page ends the search.
    /// </summary>
    IReadOnlyList<int> CandidatesFor(PlanningPass pass, int vm, int page);
}
