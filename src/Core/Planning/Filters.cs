using VmEcosystem.Planning.Predictive;

namespace VmEcosystem.Planning;

/// <summary>Hosts in maintenance or offline take no VMs.</summary>
public sealed class MaintenanceFilter : IPlacementFilter
{
    /// <inheritdoc />
    public string Name => "maintenance";

    /// <inheritdoc />
    public bool Accepts(PlanningPass pass, int vm, int host) => pass.State.HostAcceptsVms[host];
}

/// <summary>One vCPU can never use more than one core: the VM's forecast upper bound per vCPU must fit a host core.</summary>
public sealed class CoreCapacityFilter : IPlacementFilter
{
    /// <inheritdoc />
    public string Name => "core-capacity";

    /// <inheritdoc />
    public bool Accepts(PlanningPass pass, int vm, int host)
    {
        var state = pass.State;
        var forecasts = pass.Context.Get<DemandForecastSet>();
        double demand = forecasts is null ? state.VmRequestedMips[vm] : forecasts.Upper(vm);
        return demand / state.VmPes[vm] <= state.HostPeMips[host];
    }
}

/// <summary>The sum of the configured memory of a host's VMs (including ones planned to arrive) must fit.</summary>
public sealed class MemoryCapacityFilter : IPlacementFilter
{
    /// <inheritdoc />
    public string Name => "memory-capacity";

    /// <inheritdoc />
    public bool Accepts(PlanningPass pass, int vm, int host)
    {
        var state = pass.State;
        return state.MemoryAllocatedOn(host) + state.VmMemoryMiB[vm] <= state.HostMemoryMiB[host];
    }
}

/// <summary>Rejects hosts whose network would carry more than its bandwidth with the VM (only where the VM's network use is reported).</summary>
public sealed class NetworkCapacityFilter : IPlacementFilter
{
    /// <inheritdoc />
    public string Name => "network-capacity";

    /// <inheritdoc />
    public bool Accepts(PlanningPass pass, int vm, int host)
    {
        var state = pass.State;
        double need = state.VmNetworkMbps[vm];
        return need <= 0 || state.HostBandwidthMbps[host] <= 0 || state.NetworkUsedOn(host) + need <= state.HostBandwidthMbps[host];
    }
}

/// <summary>Rejects hosts whose disks would serve more operations per second than they can with the VM (only where both are known).</summary>
public sealed class DiskCapacityFilter : IPlacementFilter
{
    /// <inheritdoc />
    public string Name => "disk-capacity";

    /// <inheritdoc />
    public bool Accepts(PlanningPass pass, int vm, int host)
    {
        var state = pass.State;
        double need = state.VmDiskIops[vm];
        return need <= 0 || state.HostDiskIops[host] <= 0 || state.DiskIopsOn(host) + need <= state.HostDiskIops[host];
    }
}

/// <summary>How full a target may get, set by the stage that is searching (overload relief allows more than consolidation).</summary>
internal sealed class CapacityTarget
{
    /// <summary>Share of capacity the predicted load may reach.</summary>
    public double Utilization { get; set; } = 1.0;

    /// <summary>Whether idle (switched-off) hosts may be woken up as targets.</summary>
    public bool AllowIdleHosts { get; set; } = true;
}

/// <summary>
/// Capacity net of shadow slots: the target's predicted load with the VM added (expected demand, aggregated growth
/// reservations, migrations in flight, headroom) must stay within the stage's <see cref="CapacityTarget"/>.
/// </summary>
/// <param name="correlation">Assumed correlation of VMs' growth (see <see cref="PredictedHostLoad"/>).</param>
/// <param name="defaultTarget">Target utilisation when no stage set one.</param>
public sealed class PredictedCapacityFilter(double correlation, double defaultTarget = 1.0) : IPlacementFilter
{
    /// <inheritdoc />
    public string Name => "predicted-capacity";

    /// <inheritdoc />
    public bool Accepts(PlanningPass pass, int vm, int host)
    {
        var target = pass.Feature(_ => new CapacityTarget { Utilization = defaultTarget });
        var load = pass.Feature(p => new PredictedHostLoad(p, correlation));
        var state = pass.State;
        if (!target.AllowIdleHosts && load.Load(host) <= 0 && state.HostVms[host].Count == 0)
        {
            return false;
        }

        return load.LoadWith(host, vm) <= target.Utilization * state.HostTotalMips[host];
    }
}
