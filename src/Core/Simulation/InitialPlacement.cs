namespace VmEcosystem.Simulation;

/// <summary>How VMs are placed at t = 0.</summary>
public enum InitialPlacementStrategy
{
    /// <summary>
    /// CloudSim's power-aware best fit decreasing at t = 0 (every VM asks for its full MIPS and RAM; the host whose
    /// power grows least wins, lowest index on ties; in effect each VM gets an empty host while one fits).
    /// </summary>
    PowerAwareBestFit = 0,

    /// <summary>First host (lowest index) with room for the VM's full MIPS and RAM (CloudSim's DVFS/NPA placement).</summary>
    FirstFit = 1,
}

/// <summary>Places a scenario's VMs at t = 0, in VM order, as CloudSim does when the broker creates them.</summary>
public static class InitialPlacement
{
    /// <summary>Places every VM; returns the host index per VM.</summary>
    /// <param name="scenario">The scenario.</param>
    /// <param name="strategy">Placement rule.</param>
    /// <param name="aloneThreshold">
    /// PABFD only: a non-empty host is skipped when the new VM alone would exceed this share of it (CloudSim's
    /// THR(0.7) fallback, which sees only the VM being created at t = 0).
    /// </param>
    /// <exception cref="InvalidOperationException">A VM fits on no host; the message names it.</exception>
    public static int[] Place(SimulationScenario scenario, InitialPlacementStrategy strategy, double aloneThreshold = 0.7)
    {
        ArgumentNullException.ThrowIfNull(scenario);
        int hosts = scenario.Hosts.Count;
        var allocated = new double[hosts];
        var available = new double[hosts];
        var freeRam = new double[hosts];
        var peMips = new double[hosts];
        var total = new double[hosts];
        for (int h = 0; h < hosts; h++)
        {
            var info = scenario.Hosts[h];
            total[h] = info.Capacity.CpuMhz;
            available[h] = total[h];
            freeRam[h] = info.Capacity.MemoryMiB;
            peMips[h] = info.CoreMhz;
        }

        var placement = new int[scenario.Vms.Count];
        for (int v = 0; v < scenario.Vms.Count; v++)
        {
            if (scenario.Vms[v].Info.Labels.ContainsKey(SimulatorScaleOutHandler.StandbyLabel))
            {
                placement[v] = -1; // a standby instance: it joins the cluster when a scale-out asks for it
                continue;
            }

            var alloc = scenario.Vms[v].Info.Allocation;
            double mips = alloc.CpuMhz;
            double perPe = mips / Math.Max(1, alloc.CpuCores);
            double ram = alloc.MemoryMiB;
            int chosen = -1;
            double minCost = double.MaxValue;
            for (int h = 0; h < hosts; h++)
            {
                if (scenario.Hosts[h].State != Cluster.HostState.Online
                    || !(peMips[h] >= perPe && available[h] >= mips && freeRam[h] >= ram))
                {
                    continue;
                }

                if (strategy == InitialPlacementStrategy.FirstFit)
                {
                    chosen = h;
                    break;
                }

                if (allocated[h] != 0 && mips / total[h] > aloneThreshold)
                {
                    continue;
                }

                var power = scenario.Hosts[h].PowerModel;
                double after = (allocated[h] + mips) / total[h];
                if (power is null || after > 1)
                {
                    continue;
                }

                // At t = 0 no host has been updated yet, so CloudSim compares against P(0).
                double cost = power.PowerWatts(after) - power.PowerWatts(0);
                if (cost < minCost)
                {
                    minCost = cost;
                    chosen = h;
                }
            }

            if (chosen < 0)
            {
                throw new InvalidOperationException(
                    $"VM '{scenario.Vms[v].Info.Id}' ({mips} MIPS, {ram} MiB) fits on no host of scenario '{scenario.Name}'.");
            }

            placement[v] = chosen;
            allocated[chosen] += mips;
            available[chosen] -= mips;
            freeRam[chosen] -= ram;
        }

        return placement;
    }
}
