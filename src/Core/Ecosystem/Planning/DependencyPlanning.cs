using VmEcosystem.Ecosystem.Declarations;
using VmEcosystem.Ecosystem.Graph;
using VmEcosystem.Planning;

namespace VmEcosystem.Ecosystem.Planning;

/// <summary>
/// Never lets a move break a met required dependency: neither one of the moving VM's own, nor one it serves as
/// the only close-enough candidate. Part of every policy that plans with an ecosystem graph.
/// </summary>
public sealed class DependencyGuardFilter(EcosystemGraph graph) : IPlacementFilter
{
    /// <inheritdoc />
    public string Name => "required-dependencies";

    /// <inheritdoc />
    public bool Accepts(PlanningPass pass, int vm, int host)
    {
        var view = pass.Feature(p => new EcosystemPassView(graph, p.State));
        int vertex = view.VertexOf(vm);
        if (vertex < 0)
        {
            return true;
        }

        return !view.BreaksRequired(vertex, view.GraphHost(host));
    }
}

/// <summary>
/// Prefers targets that raise dependency satisfaction: the cost is the drop of the sum of VM scores the move
/// causes (negative when it raises them), over the moving VM and every VM it serves.
/// </summary>
public sealed class DependencySatisfactionScorer(EcosystemGraph graph) : IPlacementScorer
{
    /// <inheritdoc />
    public string Name => "dependency-satisfaction";

    /// <inheritdoc />
    public double Weight { get; init; } = 1;

    /// <inheritdoc />
    public double Scale { get; init; } = 0.1;

    /// <inheritdoc />
    public double Cost(PlanningPass pass, int vm, int host)
    {
        var view = pass.Feature(p => new EcosystemPassView(graph, p.State));
        int vertex = view.VertexOf(vm);
        return vertex < 0 ? 0 : -view.Delta(vertex, view.GraphHost(host));
    }
}

/// <summary>Settings of the dependency repair stage.</summary>
public sealed record DependencyRepairOptions
{
    /// <summary>VMs below this share of their optimum score are repaired (null: <see cref="EcosystemOptions.RepairThreshold"/>).</summary>
    public double? Threshold { get; init; }

    /// <summary>Smallest gain in the sum of VM scores a move must bring.</summary>
    public double MinimumGain { get; init; } = 1e-6;

    /// <summary>Most VMs the stage tries to repair per pass.</summary>
    public int MaxRepairsPerPass { get; init; } = 256;

    /// <summary>Most regions (racks or zones) tried for one group move.</summary>
    public int MaxGroupRegions { get; init; } = 16;

    /// <summary>Most candidate neighbours considered per dependency.</summary>
    public int MaxCandidatesPerDependency { get; init; } = 8;

    /// <summary>Optional gate learned from past outcomes: false skips repairing that kind of dependency.</summary>
    public Func<string?, DependencySpec, DependencyKind, bool>? Worthwhile { get; init; }
}

/// <summary>
/// Proactive dependency repair: VMs whose satisfaction is below the threshold (critical first, then by priority
/// and by how much they miss) get moves that meet their unmet dependencies: the VM itself towards a matching
/// neighbour; else a neighbour towards it; else both together into a region with room for the pair (an
/// all-or-nothing group). Every move passes the planner's filters (capacity, required-dependency guard, ...)
/// and limits (concurrency, cooldown, hysteresis) and must raise the sum of scores.
/// </summary>
public sealed class DependencyRepairStage(EcosystemGraph graph, DependencyRepairOptions? options = null) : IPlanningStage
{
    private readonly DependencyRepairOptions _options = options ?? new DependencyRepairOptions();

    /// <inheritdoc />
    public string Name => "dependency-repair";

    /// <inheritdoc />
    public void Run(PlanningPass pass)
    {
        var view = pass.Feature(p => new EcosystemPassView(graph, p.State));
        double threshold = _options.Threshold ?? graph.Options.RepairThreshold;
        var state = pass.State;
        var needy = new List<int>();
        for (int v = 0; v < state.VmCount; v++)
        {
            int vertex = view.VertexOf(v);
            if (vertex >= 0 && state.VmActive[v] && graph.ScoreAt(vertex) < threshold * graph.OptimumAt(vertex) - 1e-12)
            {
                needy.Add(v);
            }
        }

        needy.Sort((a, b) =>
        {
            var va = graph.VmAt(view.VertexOf(a))!;
            var vb = graph.VmAt(view.VertexOf(b))!;
            int c = vb.Slo.CompareTo(va.Slo);
            if (c == 0)
            {
                c = vb.Priority.CompareTo(va.Priority);
            }

            if (c == 0)
            {
                double ga = graph.OptimumAt(view.VertexOf(a)) - graph.ScoreAt(view.VertexOf(a));
                double gb = graph.OptimumAt(view.VertexOf(b)) - graph.ScoreAt(view.VertexOf(b));
                c = gb.CompareTo(ga);
            }

            return c != 0 ? c : a.CompareTo(b);
        });

        int repairs = 0;
        foreach (int vm in needy)
        {
            if (repairs >= _options.MaxRepairsPerPass)
            {
                break;
            }

            if (Repair(pass, view, vm))
            {
                repairs++;
            }
        }
    }

    private bool Repair(PlanningPass pass, EcosystemPassView view, int vm)
    {
        int vertex = view.VertexOf(vm);
        var slots = graph.SlotsOf(vertex).ToArray();
        // Heaviest unmet dependency first; required before preferred at equal weight.
        Array.Sort(slots, (a, b) =>
        {
            int c = graph.WeightOfSlot(b).CompareTo(graph.WeightOfSlot(a));
            return c != 0 ? c : graph.KindOf(a).CompareTo(graph.KindOf(b));
        });
        bool any = false;
        foreach (int s in slots)
        {
            if (view.Met(s) > 0 || !graph.IsPossible(s))
            {
                continue;
            }

            var owner = graph.VmAt(vertex)!;
            if (_options.Worthwhile is { } gate && !gate(owner.Profile.Type, graph.SpecOf(s), graph.KindOf(s)))
            {
                continue;
            }

            var trigger = Trigger(view, s);
            if (MoveSelf(pass, view, vm, vertex, s, trigger) || MoveNeighbour(pass, view, vm, s, trigger) || MoveTogether(pass, view, vm, vertex, s, trigger))
            {
                any = true;
            }
            else
            {
                pass.Block(vm, Name, $"cannot meet {graph.KindOf(s).ToString().ToLowerInvariant()} dependency {graph.SpecOf(s)}: no target passes filters and limits");
            }
        }

        return any;
    }

    private TriggerEvidence Trigger(EcosystemPassView view, int s)
    {
        int owner = graph.OwnerOf(s);
        var status = graph.Satisfaction(graph.VmAt(owner)!.Id).Dependencies.FirstOrDefault(d => ReferenceEquals(d.Spec, graph.SpecOf(s)));
        return new TriggerEvidence(
            "dependency",
            $"{graph.VmAt(owner)!.Name} {graph.KindOf(s).ToString().ToLowerInvariant()} {graph.SpecOf(s)}: {status?.Reason ?? "not met"}",
            PredictedUtilization: graph.ScoreAt(owner),
            Threshold: graph.OptimumAt(owner));
    }

    // A VM already migrating (or moved earlier in this pass) is not moved again.
    private static bool Movable(PlanningPass pass, int vm) =>
        pass.State.VmActive[vm] && pass.State.VmMigratingTo[vm] < 0 && pass.MayMove(vm);

    private bool MoveSelf(PlanningPass pass, EcosystemPassView view, int vm, int vertex, int s, TriggerEvidence trigger)
    {
        if (!Movable(pass, vm))
        {
            return false;
        }

        var hosts = NearCandidates(view, s);
        int target = pass.FindTargetAmong(vm, hosts, h => view.Delta(vertex, view.GraphHost(h)) > _options.MinimumGain, out _);
        if (target < 0)
        {
            return false;
        }

        pass.Commit(vm, target, Name, "move-to-dependency", trigger);
        return true;
    }

    private bool MoveNeighbour(PlanningPass pass, EcosystemPassView view, int vm, int s, TriggerEvidence trigger)
    {
        int ownerHost = view.Position(graph.OwnerOf(s));
        var hosts = view.HostsNear(ownerHost, graph.MaxDistanceOf(s));
        int tried = 0;
        foreach (int c in graph.CandidatesOf(s))
        {
            int cs = view.StateOf(c);
            if (cs < 0 || !Movable(pass, cs))
            {
                continue;
            }

            if (++tried > _options.MaxCandidatesPerDependency)
            {
                break;
            }

            int target = pass.FindTargetAmong(cs, hosts, h => view.Delta(c, view.GraphHost(h)) > _options.MinimumGain, out _);
            if (target >= 0)
            {
                pass.Commit(cs, target, Name, "move-dependency-closer", trigger);
                return true;
            }
        }

        return false;
    }

    private bool MoveTogether(PlanningPass pass, EcosystemPassView view, int vm, int vertex, int s, TriggerEvidence trigger)
    {
        int max = graph.MaxDistanceOf(s);
        if (max >= 3 || !Movable(pass, vm))
        {
            return false;
        }

        var regions = max <= 1 ? view.Racks() : view.Zones();
        int tried = 0, regionsTried = 0;
        foreach (int c in graph.CandidatesOf(s))
        {
            int cs = view.StateOf(c);
            if (cs < 0 || !Movable(pass, cs))
            {
                continue;
            }

            if (++tried > _options.MaxCandidatesPerDependency)
            {
                break;
            }

            foreach (var region in regions)
            {
                if (++regionsTried > _options.MaxGroupRegions)
                {
                    return false;
                }

                int group = pass.NewGroup();
                int first = pass.FindTargetAmong(cs, region, null, out _);
                if (first < 0)
                {
                    continue;
                }

                double gain = view.Delta(c, view.GraphHost(first));
                pass.Commit(cs, first, Name, "move-group", trigger, group);
                var near = view.HostsNear(view.GraphHost(first), max);
                int second = pass.FindTargetAmong(vm, near, h => gain + view.Delta(vertex, view.GraphHost(h)) > _options.MinimumGain, out _);
                if (second < 0)
                {
                    pass.RollBackGroup(group);
                    continue;
                }

                pass.Commit(vm, second, Name, "move-group", trigger, group);
                return true;
            }
        }

        return false;
    }

    private List<int> NearCandidates(EcosystemPassView view, int s)
    {
        var hosts = new List<int>();
        var seen = new HashSet<int>();
        int max = graph.MaxDistanceOf(s);
        int used = 0;
        foreach (int c in graph.CandidatesOf(s))
        {
            int position = view.Position(c);
            if (position < 0)
            {
                continue;
            }

            if (++used > _options.MaxCandidatesPerDependency)
            {
                break;
            }

            foreach (int h in view.HostsNear(position, max))
            {
                if (seen.Add(h))
                {
                    hosts.Add(h);
                }
            }
        }

        return hosts;
    }
}

/// <summary>Composes ecosystem-aware planners.</summary>
public static class EcosystemPlanning
{
    /// <summary>
    /// Adds the ecosystem to a planner: dependency repair runs first, the required-dependency guard joins the
    /// filters and dependency satisfaction the scorers (so every other stage, such as consolidation, keeps
    /// dependencies in mind).
    /// </summary>
    public static MigrationPlanner WithEcosystem(this MigrationPlanner planner, EcosystemGraph graph, DependencyRepairOptions? repair = null,
        double satisfactionWeight = 1)
    {
        ArgumentNullException.ThrowIfNull(planner);
        ArgumentNullException.ThrowIfNull(graph);
        var limits = planner.Limits.Any(l => l is OneMovePerPassLimit) ? [] : new IMigrationLimit[] { new OneMovePerPassLimit() };
        return planner.WithStagesFirst(new DependencyRepairStage(graph, repair))
            .With(filters: [new DependencyGuardFilter(graph)], scorers: [new DependencySatisfactionScorer(graph) { Weight = satisfactionWeight }], limits: limits);
    }
}
