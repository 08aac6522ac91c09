namespace VmEcosystem.Planning.CloudSim;

/// <summary>
/// Relieves overloaded hosts: every host the detector flags gives up VMs (chosen by the selector) until it is no
/// longer overloaded; the VMs are then placed in descending order of CPU demand, overloaded hosts excluded
/// (CloudSim's <c>optimizeAllocation</c>, first half).
/// </summary>
/// <param name="detector">Overload detector.</param>
/// <param name="selector">VM selection policy.</param>
public sealed class OverloadMigrationStage(IOverloadDetector detector, IVmSelector selector) : IPlanningStage
{
    /// <inheritdoc />
    public string Name => "overload";

    /// <summary>The detector.</summary>
    public IOverloadDetector Detector => detector;

    /// <inheritdoc />
    public void Run(PlanningPass pass)
    {
        var state = pass.State;
        var overloaded = pass.OverloadedHosts;
        for (int h = 0; h < state.HostCount; h++)
        {
            if (detector.IsOverloaded(state, h))
            {
                overloaded.Add(h);
            }
        }

        if (overloaded.Count == 0)
        {
            return;
        }

        {
            var vms = new List<int>();
            var fromHost = new List<int>();
            var evidence = new Dictionary<int, TriggerEvidence>();
            for (int h = 0; h < state.HostCount; h++)
            {
                if (!overloaded.Contains(h))
                {
                    continue;
                }

                evidence[h] = detector.Explain(state, h);
                while (true)
                {
                    int vm = selector.SelectVm(pass, h);
                    if (vm < 0)
                    {
                        break;
                    }

                    vms.Add(vm);
                    fromHost.Add(h);
                    state.Remove(vm, h);
                    if (!detector.IsOverloaded(state, h))
                    {
                        break;
                    }
                }
            }

            // Descending CPU demand, stable (CloudSim's PowerVmList.sortByCpuUtilization is a merge sort).
            var order = Enumerable.Range(0, vms.Count).OrderByDescending(i => state.VmRequestedMips[vms[i]]).ToArray();
            foreach (int i in order)
            {
                int vm = vms[i];
                int source = fromHost[i];
                state.VmHost[vm] = source; // the VM still runs on its source; the pass removed it only from the source's load
                int target = pass.FindTarget(vm, overloaded, out _);
                if (target < 0)
                {
                    pass.Block(vm, Name, "no host passes the filters");
                    state.VmHost[vm] = -1;
                    continue;
                }

                pass.Commit(vm, target, Name, $"{selector.Name} selection, least-cost target", evidence[source]);
            }
        }
    }
}

/// <summary>
/// CloudSim's under-load consolidation: repeatedly takes the least-utilised host (not overloaded, not idle, not
/// receiving VMs) and tries to move all its VMs elsewhere; the host is evacuated entirely or not at all, and hosts
/// that receive VMs are not evacuated in the same pass (<c>getMigrationMapFromUnderUtilizedHosts</c>).
/// </summary>
public sealed class UnderloadConsolidationStage : IPlanningStage
{
    /// <summary>
    /// CloudSim 3.0.3 does not exclude the targets of this pass's overload moves from being evacuated (it meant to;
    /// a bug adds the targets of an empty list), so a VM moved by the overload stage can be planned a second time.
    /// True reproduces that; false (the default) excludes hosts that already receive VMs in this pass.
    /// </summary>
    public bool CloudSimTargetExclusionBug { get; init; }

    /// <inheritdoc />
    public string Name => "consolidation";

    /// <inheritdoc />
    public void Run(PlanningPass pass)
    {
        var state = pass.State;
        int hosts = state.HostCount;
        var excludedSource = new HostMask(hosts);
        var excludedTarget = new HostMask(hosts);
        for (int h = 0; h < hosts; h++)
        {
            if (pass.OverloadedHosts.Contains(h) || state.HostUtilization[h] == 0)
            {
                excludedSource.Add(h);
                excludedTarget.Add(h);
            }
        }

        if (!CloudSimTargetExclusionBug)
        {
            foreach (var (_, _, target) in pass.Committed)
            {
                excludedSource.Add(target);
            }
        }

        var vms = new List<int>(8);
        while (excludedSource.Count < hosts)
        {
            int source = -1;
            double min = 1;
            for (int h = 0; h < hosts; h++)
            {
                if (excludedSource.Contains(h))
                {
                    continue;
                }

                double u = state.HostUtilization[h];
                if (u > 0 && u < min && !AllMigratingOutOrAnyMigratingIn(state, h))
                {
                    min = u;
                    source = h;
                }
            }

            if (source < 0)
            {
                break;
            }

            excludedSource.Add(source);
            excludedTarget.Add(source);
            vms.Clear();
            foreach (int v in state.HostVms[source])
            {
                if (state.VmMigratingTo[v] < 0)
                {
                    vms.Add(v);
                }
            }

            if (vms.Count == 0)
            {
                continue;
            }

            bool movable = true;
            foreach (int v in vms)
            {
                if (!pass.MayMove(v))
                {
                    movable = false;
                    break;
                }
            }

            if (!movable)
            {
                continue;
            }

            // Stable sort by descending CPU demand.
            var ordered = vms.OrderByDescending(v => state.VmRequestedMips[v]).ToArray();
            int group = pass.NewGroup();
            int committedBefore = pass.CommittedCount;
            var trigger = new TriggerEvidence("underload",
                $"host {state.HostIds[source]} is the least utilised ({min:F3}); evacuate it to switch it off", min);
            bool complete = true;
            foreach (int v in ordered)
            {
                int target = pass.FindTarget(v, excludedTarget, out _);
                if (target < 0)
                {
                    complete = false;
                    break;
                }

                pass.Commit(v, target, Name, "evacuate under-loaded host, least-cost target", trigger, group);
                state.VmHost[v] = source; // still on its source until the migration runs
            }

            if (!complete)
            {
                pass.RollBackGroup(group);
                continue;
            }

            var committed = pass.Committed;
            for (int i = committedBefore; i < committed.Count; i++)
            {
                excludedSource.Add(committed[i].Target);
            }
        }
    }

    private static bool AllMigratingOutOrAnyMigratingIn(PlanningState state, int host)
    {
        foreach (int v in state.HostVms[host])
        {
            if (state.VmMigratingTo[v] < 0)
            {
                return false;
            }

            if (state.VmMigratingTo[v] == host)
            {
                return true;
            }
        }

        return true;
    }
}
