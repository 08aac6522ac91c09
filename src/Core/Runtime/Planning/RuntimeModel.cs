using VmEcosystem.Cluster;
using VmEcosystem.Ecosystem.Declarations;
using VmEcosystem.Ecosystem.Graph;
using VmEcosystem.Planning;
using VmEcosystem.Reservations;

namespace VmEcosystem.Runtime;

/// <summary>
/// The planning model the controllers share under one lock: the planning session (forecasters, shadow slots,
/// history), the planning context, the ecosystem graph, the last observed state, the runtime's own moves and the
/// hosts in maintenance. The executor reports migrations to it (<see cref="IMigrationObserver"/>).
/// </summary>
internal sealed class RuntimeModel : IMigrationObserver
{
    private readonly HashSet<HostId> _maintenance = [];
    private readonly HashSet<VmId> _ownMoves = [];
    private readonly StatePool _pool;

    // The declarations in force, by VM name: the graph is (re)loaded from them, so changes made at run time survive
    // a reload after a resync. Guarded by Gate.
    private readonly Dictionary<string, VmDeclaration> _declarations = new(StringComparer.Ordinal);
    private EcosystemSnapshot? _snapshot;
    private bool _hasDerivedRules;

    public RuntimeModel(PlanningCycle cycle, EcosystemGraph? graph, IReadOnlyList<VmDeclaration> declarations, int poolSize, PlacementRecheck recheck)
    {
        Cycle = cycle;
        Recheck = recheck;
        Graph = graph;
        foreach (var d in declarations)
        {
            _declarations[d.VmName] = d;
        }

        _pool = new StatePool(poolSize);
    }

    public Lock Gate { get; } = new();

    /// <summary>The latest observation as it stands now (moved by the change feed and the executor), for re-validating actions.</summary>
    public PlacementRecheck Recheck { get; }

    public PlanningCycle Cycle { get; }

    public PlanningSession Session => Cycle.Session;

    public EcosystemGraph? Graph { get; }

    public IReadOnlyList<VmDeclaration> Declarations
    {
        get
        {
            lock (Gate)
            {
                return [.. _declarations.Values];
            }
        }
    }

    /// <summary>Adds or replaces a declaration in force (and in the graph).</summary>
    public void SetDeclaration(VmDeclaration declaration)
    {
        lock (Gate)
        {
            _declarations[declaration.VmName] = declaration;
            Graph?.SetDeclaration(declaration);
        }
    }

    /// <summary>Removes a declaration in force (and from the graph); false when there was none.</summary>
    public bool RemoveDeclaration(string vmName)
    {
        lock (Gate)
        {
            if (!_declarations.Remove(vmName))
            {
                return false;
            }

            Graph?.RemoveDeclaration(vmName);
            return true;
        }
    }

    /// <summary>The graph as an immutable snapshot, taken under the lock and reused while the graph is unchanged.</summary>
    public EcosystemSnapshot? Snapshot()
    {
        lock (Gate)
        {
            if (Graph is null)
            {
                return null;
            }

            if (_snapshot is null || _snapshot.Version != Graph.Version)
            {
                _snapshot = Graph.Snapshot();
            }

            return _snapshot;
        }
    }

    /// <summary>True once the graph holds the inventory (false again after a resync).</summary>
    public bool GraphLoaded { get; set; }

    /// <summary>The cluster as last observed, before planning changed the state (read without the lock: replaced whole).</summary>
    public ClusterView? View { get; set; }

    /// <summary>The state of the last planning pass (the executor's reservations read sizes from it).</summary>
    public PlanningState? LastState { get; private set; }

    /// <summary>Cluster-wide dependency score of the last pass (read by gauges without the lock).</summary>
    public double DependencyScore { get; set; } = double.NaN;

    public PlanningState RentState() => _pool.Rent();

    public void ReturnState(PlanningState state) => _pool.Return(state);

    /// <summary>Makes <paramref name="state"/> the last one (under <see cref="Gate"/>); the previous one returns to the pool.</summary>
    public void SetLastState(PlanningState state)
    {
        if (LastState is { } previous && !ReferenceEquals(previous, state))
        {
            _pool.Return(previous);
        }

        LastState = state;
    }

    public bool EnterMaintenance(HostId host)
    {
        lock (_maintenance)
        {
            return _maintenance.Add(host);
        }
    }

    public bool ExitMaintenance(HostId host)
    {
        lock (_maintenance)
        {
            return _maintenance.Remove(host);
        }
    }

    public HashSet<HostId> Maintenance()
    {
        lock (_maintenance)
        {
            return [.. _maintenance];
        }
    }

    /// <summary>True (and forgotten) when <paramref name="vm"/>'s move was the runtime's own.</summary>
    public bool TakeOwnMove(VmId vm)
    {
        lock (Gate)
        {
            return _ownMoves.Remove(vm);
        }
    }

    public string? Revalidate(ClusterAction action)
    {
        lock (Gate)
        {
            // The placement as it stands, then (for a move) whether its destination can hold its reservation: the
            // request is held from here, and released by whichever path the move takes next.
            return Recheck.Check(action, GraphLoaded ? Graph : null)
                ?? (action is MigrateAction m && Reservations is { } r ? r.Admit(m.Decision, LastState, Cycle, Cycle.Context.Now) : null);
        }
    }

    /// <summary>
    /// What the executor's re-check says of moving <paramref name="vm"/> to <paramref name="target"/> from where it is
    /// now (capacity with the moves in flight, placement rules, dependencies): null when it may go.
    /// </summary>
    public string? RecheckMove(VmId vm, HostId target)
    {
        lock (Gate)
        {
            if (Recheck.HostOf(vm) is not { } source)
            {
                return $"{vm} is not in this instance's latest observation";
            }

            var decision = new MigrationDecision
            {
                Vm = vm, Source = source, Target = target, VmIndex = -1, TargetIndex = -1, Stage = "claim", Rule = "claimed by another instance",
                Trigger = new TriggerEvidence("claim", "a move into a host set this instance leads"),
            };
            return Recheck.Check(new MigrateAction(decision), GraphLoaded ? Graph : null);
        }
    }

    /// <summary>Migration reservations (null: <see cref="Reservations.ReservationMode.None"/>, the planner's own in-flight slot only).</summary>
    public ReservationTracker? Reservations { get; init; }

    /// <summary>The placement rules (those added in code and configuration, plus those derived from VM labels).</summary>
    public PlacementConstraints? Constraints { get; init; }

    /// <summary>Replaces the rules the VMs' labels declare (<see cref="PlacementLabels"/>) with those of this inventory.</summary>
    public void DeriveRules(IReadOnlyList<VmInfo> vms)
    {
        if (Constraints is null || (!_hasDerivedRules && !vms.Any(v => v.Labels.Count > 0)))
        {
            return; // no labels now and none before: nothing to replace
        }

        var derived = PlacementLabels.Rules(vms);
        _hasDerivedRules = derived.Count > 0;
        lock (Gate)
        {
            Constraints.ReplaceDerived(derived);
        }
    }

    /// <summary>What the runtime learns from its moves (null: learning is off).</summary>
    public OutcomeRecorder? Outcomes { get; init; }

    public string? OnMigrationOutcome(MigrationDecision d, bool succeeded, double actualSeconds, ApplicationMetrics? after)
    {
        lock (Gate)
        {
            return Outcomes?.Ended(d, succeeded, actualSeconds, after, Cycle.Context.Now);
        }
    }

    public InFlightReservation? OnMigrationStarting(MigrationDecision d, DateTimeOffset now, ApplicationMetrics? before = null)
    {
        lock (Gate)
        {
            _ownMoves.Add(d.Vm);
            Recheck.Started(d.Vm, d.Target);
            // The in-flight reservation: the VM's upper demand and memory on the target until the migration ends.
            var state = LastState;
            int v = state?.IndexOf(d.Vm) ?? -1;
            double memory = v >= 0 ? state!.VmMemoryMiB[v] : 0;
            int target = state is null ? -1 : Array.IndexOf(state.HostIds, d.Target, 0, state.HostCount);
            double bandwidth = target >= 0 ? state!.HostBandwidthMbps[target] : 1000;
            double dirty = v >= 0 ? state!.DirtyMiBps(v) : 0;
            var context = Cycle.Context;
            var estimate = context.MigrationModel.Estimate(memory, dirty, Math.Max(1e-9, bandwidth * context.MigrationBandwidthShare / 8));
            double expected = context.MigrationSeconds(memory, bandwidth, dirty);
            Outcomes?.Started(d.Vm, expected, before);
            Cycle.MigrationStarted(d, d.Source, now, TimeSpan.FromSeconds(expected), v, memory);
            // What the cycle holds on the target, read from the ledger itself (nothing with a policy that plans without forecasts).
            var request = Reservations?.OnStarted(d.Vm, now, state);
            var held = Cycle.Session.Ledger.Find(d.Vm.Value, Planning.ShadowSlots.ReservationKind.MigrationInFlight)?.Amount ?? default;
            return v < 0 ? null : new InFlightReservation(held.CpuMhz, held.MemoryMiB, expected, estimate.DowntimeSeconds * 1000, dirty, bandwidth, estimate.Converged)
            {
                Request = request,
            };
        }
    }

    public SpikeRecord? TakeSpikeMeasurement(VmId vm)
    {
        lock (Gate)
        {
            return Reservations?.TakeMeasured(vm);
        }
    }

    public void OnMigrationEnded(VmId vm, bool moved, DateTimeOffset now)
    {
        lock (Gate)
        {
            // A move that landed keeps its reservation for the hold after switch-over; any other end frees it now.
            if (Reservations?.OnEnded(vm, moved, now) != true)
            {
                Cycle.MigrationEnded(vm);
            }

            Recheck.Ended(vm, moved);
            if (!moved)
            {
                // No move event will come for it: a later move of this VM is someone else's news.
                _ownMoves.Remove(vm);
            }
        }
    }

    /// <summary>
    /// At stop, after the executor drained: the holds after switch-over that the (stopped) reservation controller would
    /// have ended are released, so a stopped runtime holds nothing. Their controls are restored by the next start.
    /// </summary>
    /// <returns>How many were released.</returns>
    public int ReleaseHoldsAtStop()
    {
        lock (Gate)
        {
            int released = 0;
            foreach (var e in Reservations?.Snapshot() ?? [])
            {
                released += Reservations!.Release(e.Decision.Vm) ? 1 : 0;
            }

            return released;
        }
    }

    /// <summary>Planning states are large; they are reused (bounded: queue capacity plus the ones in use).</summary>
    private sealed class StatePool(int size)
    {
        private readonly Stack<PlanningState> _free = new();

        public PlanningState Rent()
        {
            lock (_free)
            {
                return _free.Count > 0 ? _free.Pop() : new PlanningState();
            }
        }

        public void Return(PlanningState state)
        {
            lock (_free)
            {
                if (_free.Count < size)
                {
                    _free.Push(state);
                }
            }
        }
    }
}
