using System.Globalization;

namespace VmEcosystem.Planning.Predictive;

/// <summary>
/// Moves VMs off hosts whose predicted load (expected demand + aggregated growth + shadow slots) will exceed the
/// target within the horizon, before contention starts. Per host it prefers one move: the cheapest VM (least memory,
/// lowest priority) whose departure is enough; otherwise it takes the VMs with the most expected demand until the
/// host is safe. VMs go to the least-cost target that passes every filter and limit.
/// </summary>
/// <param name="options">Policy settings.</param>
public sealed class PredictiveOverloadStage(PredictiveOptions options) : IPlanningStage
{
    /// <inheritdoc />
    public string Name => "predicted-overload";

    /// <inheritdoc />
    public void Run(PlanningPass pass)
    {
        var state = pass.State;
        var load = pass.Feature(p => new PredictedHostLoad(p, options.GrowthCorrelation));
        var target = pass.Feature(_ => new CapacityTarget());
        var forecasts = pass.Context.Get<DemandForecastSet>()!;
        for (int h = 0; h < state.HostCount; h++)
        {
            if (load.Load(h) > options.TargetUtilization * state.HostTotalMips[h])
            {
                pass.OverloadedHosts.Add(h);
            }
        }

        var candidates = new List<int>();
        for (int h = 0; h < state.HostCount; h++)
        {
            if (!pass.OverloadedHosts.Contains(h))
            {
                continue;
            }

            double limit = options.TargetUtilization * state.HostTotalMips[h];
            double predicted = load.Load(h);
            var trigger = new TriggerEvidence("overload",
                string.Create(CultureInfo.InvariantCulture,
                    $"host {state.HostIds[h]} predicted at {predicted / state.HostTotalMips[h]:P0} of capacity within {forecasts.HorizonTicks} ticks ({forecasts.Confidence:P0} upper bounds, expected {load.Expected(h) / state.HostTotalMips[h]:P0})"),
                load.Expected(h) / state.HostTotalMips[h], predicted / state.HostTotalMips[h], options.TargetUtilization);
            candidates.Clear();
            foreach (int v in state.HostVms[h])
            {
                if (state.VmMigratingTo[v] < 0 && pass.MayMove(v))
                {
                    candidates.Add(v);
                }
            }

            // One move if one is enough: the cheapest sufficient VM.
            int single = -1;
            double bestCost = double.MaxValue;
            foreach (int v in candidates)
            {
                if (load.LoadWithout(h, v) <= limit)
                {
                    double cost = state.VmMemoryMiB[v] * (1 + state.VmPriority[v]);
                    if (cost < bestCost)
                    {
                        bestCost = cost;
                        single = v;
                    }
                }
            }

            var chosen = new List<int>();
            if (single >= 0)
            {
                chosen.Add(single);
            }
            else
            {
                // Otherwise the biggest relief first until the host is safe.
                foreach (int v in candidates.OrderByDescending(v => forecasts.Point(v)).ThenBy(v => v))
                {
                    chosen.Add(v);
                    load.Detach(h, v);
                    if (load.Load(h) <= limit)
                    {
                        break;
                    }
                }

                foreach (int v in chosen)
                {
                    load.Attach(h, v);
                }
            }

            target.Utilization = options.TargetUtilization;
            target.AllowIdleHosts = true;
            foreach (int v in chosen.OrderByDescending(v => forecasts.Upper(v)))
            {
                int t = pass.FindTarget(v, pass.OverloadedHosts, out _);
                if (t < 0)
                {
                    pass.Block(v, Name, "no host can take it without exceeding its predicted capacity or a limit");
                    continue;
                }

                pass.Commit(v, t, Name, "least-cost target with room for the forecast upper bound", trigger);
            }
        }
    }
}

/// <summary>
/// Empties lightly loaded hosts so they can be switched off, without creating future contention: a host whose
/// predicted load is under the evacuation threshold is emptied only if every one of its VMs fits on an already
/// active host below the consolidation target (all or nothing); hosts that just received VMs, or were sources of
/// overload relief, are left alone; the least efficient, least loaded hosts go first.
/// </summary>
/// <param name="options">Policy settings.</param>
public sealed class PredictiveConsolidationStage(PredictiveOptions options) : IPlanningStage
{
    /// <inheritdoc />
    public string Name => "consolidation";

    /// <inheritdoc />
    public void Run(PlanningPass pass)
    {
        var state = pass.State;
        var load = pass.Feature(p => new PredictedHostLoad(p, options.GrowthCorrelation));
        var target = pass.Feature(_ => new CapacityTarget());
        var history = pass.Context.Get<MigrationHistory>();
        int hosts = state.HostCount;
        var excluded = new HostMask(hosts);
        var receiving = new HostMask(hosts);
        foreach (var (_, _, t) in pass.Committed)
        {
            receiving.Add(t);
        }

        var sources = new List<(int Host, double Share, double Inefficiency)>();
        for (int h = 0; h < hosts; h++)
        {
            bool empty = state.HostVms[h].Count == 0;
            if (empty || !state.HostAcceptsVms[h])
            {
                // Idle hosts are never woken for consolidation; hosts in maintenance are evacuated elsewhere.
                excluded.Add(h);
                if (empty)
                {
                    continue;
                }
            }

            if (pass.OverloadedHosts.Contains(h))
            {
                excluded.Add(h);
                continue;
            }

            double share = load.Load(h) / state.HostTotalMips[h];
            bool settled = history?.LastReceived(state.HostIds[h]) is not { } received || pass.Context.Now - received >= options.HostSettleTime;
            if (share < options.EvacuationThreshold && settled && !receiving.Contains(h))
            {
                var power = state.HostPower[h];
                double inefficiency = power is null ? 0 : power.IdleWatts / state.HostTotalMips[h];
                sources.Add((h, share, inefficiency));
            }
        }

        target.Utilization = options.ConsolidationUtilization;
        target.AllowIdleHosts = false;
        int evacuated = 0;
        int failedInARow = 0;
        var vms = new List<int>();
        foreach (var (h, share, _) in sources.OrderByDescending(s => s.Inefficiency).ThenBy(s => s.Share).ThenBy(s => s.Host))
        {
            if (evacuated >= options.MaxEvacuationsPerPass || pass.CommittedCount >= options.MaxMigrationsInCluster
                || failedInARow >= options.MaxConsecutiveFailedEvacuations)
            {
                break;
            }

            if (receiving.Contains(h))
            {
                continue;
            }

            vms.Clear();
            bool movable = true;
            foreach (int v in state.HostVms[h])
            {
                if (state.VmMigratingTo[v] >= 0 || !pass.MayMove(v))
                {
                    movable = false;
                    break;
                }

                vms.Add(v);
            }

            if (!movable || vms.Count == 0)
            {
                continue;
            }

            excluded.Add(h);
            int group = pass.NewGroup();
            var trigger = new TriggerEvidence("underload",
                string.Create(CultureInfo.InvariantCulture,
                    $"host {state.HostIds[h]} predicted at {share:P0} of capacity (< {options.EvacuationThreshold:P0}); its VMs fit elsewhere, so it can be switched off"),
                share, null, options.EvacuationThreshold);
            bool complete = true;
            int before = pass.CommittedCount;
            var forecasts = pass.Context.Get<DemandForecastSet>()!;
            foreach (int v in vms.OrderByDescending(v => forecasts.Upper(v)).ThenBy(v => v))
            {
                int t = pass.FindTarget(v, excluded, out _);
                if (t < 0)
                {
                    complete = false;
                    break;
                }

                pass.Commit(v, t, Name, "evacuate a lightly loaded host onto active hosts with room", trigger, group);
            }

            if (!complete)
            {
                pass.RollBackGroup(group);
                excluded.Remove(h);
                failedInARow++;
                continue;
            }

            failedInARow = 0;
            evacuated++;
            var committed = pass.Committed;
            for (int i = before; i < committed.Count; i++)
            {
                receiving.Add(committed[i].Target);
            }
        }
    }
}
