namespace VmEcosystem.Planning.CloudSim;

/// <summary>MMT: the VM with the least memory (shortest migration); the first in list order on ties.</summary>
public sealed class MinimumMigrationTimeSelector : IVmSelector
{
    /// <inheritdoc />
    public string Name => "MMT";

    /// <inheritdoc />
    public int SelectVm(PlanningPass pass, int host)
    {
        var state = pass.State;
        var list = state.HostVms[host];
        int best = -1;
        double min = double.MaxValue;
        for (int i = 0; i < list.Count; i++)
        {
            int v = list[i];
            if (state.VmMigratingTo[v] >= 0 || !pass.MayMove(v))
            {
                continue;
            }

            double ram = state.VmMemoryMiB[v];
            if (ram < min)
            {
                min = ram;
                best = v;
            }
        }

        return best;
    }
}

/// <summary>MU: the VM with the lowest CPU utilisation; the first in list order on ties.</summary>
public sealed class MinimumUtilizationSelector : IVmSelector
{
    /// <inheritdoc />
    public string Name => "MU";

    /// <inheritdoc />
    public int SelectVm(PlanningPass pass, int host)
    {
        var state = pass.State;
        var list = state.HostVms[host];
        int best = -1;
        double min = double.MaxValue;
        for (int i = 0; i < list.Count; i++)
        {
            int v = list[i];
            if (state.VmMigratingTo[v] >= 0 || !pass.MayMove(v))
            {
                continue;
            }

            double u = state.VmRequestedMips[v] / state.VmTotalMips[v];
            if (u < min)
            {
                min = u;
                best = v;
            }
        }

        return best;
    }
}

/// <summary>RS: a uniformly random migratable VM, from the pass's seeded random source.</summary>
public sealed class RandomSelector : IVmSelector
{
    /// <inheritdoc />
    public string Name => "RS";

    /// <inheritdoc />
    public int SelectVm(PlanningPass pass, int host)
    {
        var state = pass.State;
        var list = state.HostVms[host];
        int count = 0;
        for (int i = 0; i < list.Count; i++)
        {
            if (state.VmMigratingTo[list[i]] < 0 && pass.MayMove(list[i]))
            {
                count++;
            }
        }

        if (count == 0)
        {
            return -1;
        }

        int pick = pass.Context.Random.Next(count);
        for (int i = 0; i < list.Count; i++)
        {
            int v = list[i];
            if (state.VmMigratingTo[v] < 0 && pass.MayMove(v) && pick-- == 0)
            {
                return v;
            }
        }

        return -1;
    }
}
