namespace VmEcosystem.Planning;

/// <summary>
/// Maintenance evacuation: every VM on a host that takes no VMs (maintenance, or drained by an operator) moves to
/// the best host the pipeline's filters, scorers and limits allow; the runtime puts this stage first.
/// </summary>
public sealed class EvacuationStage : IPlanningStage
{
    /// <inheritdoc />
    public string Name => "evacuation";

    /// <inheritdoc />
    public void Run(PlanningPass pass)
    {
        var state = pass.State;
        HostMask? closed = null;
        for (int h = 0; h < state.HostCount; h++)
        {
            if (!state.HostAcceptsVms[h] && state.HostVms[h].Count > 0)
            {
                closed ??= Closed(state);
                // Copy: committing appends to the target's list, not this one, but be safe against re-entrance.
                foreach (int vm in state.HostVms[h].ToArray())
                {
                    if (!state.VmActive[vm] || state.VmHost[vm] != h || state.VmMigratingTo[vm] >= 0)
                    {
                        continue;
                    }

                    if (!pass.MayMove(vm))
                    {
                        pass.Block(vm, Name, $"host {state.HostIds[h]} is in maintenance but a limit keeps the VM for now");
                        continue;
                    }

                    int target = pass.FindTarget(vm, closed, out _);
                    if (target < 0)
                    {
                        pass.Block(vm, Name, $"host {state.HostIds[h]} is in maintenance and no other host can take the VM");
                        continue;
                    }

                    pass.Commit(vm, target, Name, "evacuate", new TriggerEvidence("maintenance", $"host {state.HostIds[h]} is in maintenance"));
                }
            }
        }
    }

    private static HostMask Closed(PlanningState state)
    {
        var mask = new HostMask(state.HostCount);
        for (int h = 0; h < state.HostCount; h++)
        {
            if (!state.HostAcceptsVms[h])
            {
                mask.Add(h);
            }
        }

        return mask;
    }
}
