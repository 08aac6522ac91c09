using VmEcosystem.Cluster;
using VmEcosystem.Planning.Predictive;

namespace VmEcosystem.Planning;

/// <summary>
/// Energy: the increase of the target's power draw at its predicted expected load, in watts; waking an idle host
/// costs its whole draw. Hosts without a power model cost their share of capacity in a 100–200 W linear model.
/// </summary>
/// <param name="correlation">Growth correlation (for the shared predicted-load view).</param>
public sealed class EnergyScorer(double correlation) : IPlacementScorer
{
    private static readonly IPowerModel Fallback = new LinearPowerModel(100, 200);

    /// <inheritdoc />
    public string Name => "energy";

    /// <inheritdoc />
    public double Weight { get; init; } = 1;

    /// <inheritdoc />
    public double Scale { get; init; } = 30;

    /// <inheritdoc />
    public double Cost(PlanningPass pass, int vm, int host)
    {
        var state = pass.State;
        var load = pass.Feature(p => new PredictedHostLoad(p, correlation));
        var forecasts = pass.Context.Get<DemandForecastSet>()!;
        var power = state.HostPower[host] ?? Fallback;
        double capacity = state.HostTotalMips[host];
        double before = Math.Min(1, load.Expected(host) / capacity);
        double after = Math.Min(1, (load.Expected(host) + forecasts.Point(vm)) / capacity);
        bool idle = state.HostVms[host].Count == 0 && load.Expected(host) <= 0;
        return power.PowerWatts(after) - (idle ? 0 : power.PowerWatts(before));
    }
}

/// <summary>Best fit: the share of the target's capacity left free after the placement (smaller packs tighter).</summary>
/// <param name="correlation">Growth correlation.</param>
public sealed class ResourceFitScorer(double correlation) : IPlacementScorer
{
    /// <inheritdoc />
    public string Name => "fit";

    /// <inheritdoc />
    public double Weight { get; init; } = 1;

    /// <inheritdoc />
    public double Scale { get; init; } = 1;

    /// <inheritdoc />
    public double Cost(PlanningPass pass, int vm, int host)
    {
        var load = pass.Feature(p => new PredictedHostLoad(p, correlation));
        return Math.Max(0, 1 - (load.LoadWith(host, vm) / pass.State.HostTotalMips[host]));
    }
}

/// <summary>
/// Best fit on memory: the share of the target's memory left free after the placement (smaller packs tighter).
/// Where memory is enforced it binds before CPU on a consolidated cluster, so packing it tightly frees whole hosts.
/// </summary>
public sealed class MemoryFitScorer : IPlacementScorer
{
    /// <inheritdoc />
    public string Name => "memory-fit";

    /// <inheritdoc />
    public double Weight { get; init; } = 1;

    /// <inheritdoc />
    public double Scale { get; init; } = 1;

    /// <inheritdoc />
    public double Cost(PlanningPass pass, int vm, int host)
    {
        var state = pass.State;
        return Math.Max(0, 1 - ((state.MemoryAllocatedOn(host) + state.VmMemoryMiB[vm]) / Math.Max(1e-9, state.HostMemoryMiB[host])));
    }
}

/// <summary>
/// Future contention: how far the target's predicted upper load would go into the top 20 % of its capacity
/// (0 below 80 %), so that among feasible hosts the ones with room to breathe win ties with full ones.
/// </summary>
/// <param name="correlation">Growth correlation.</param>
public sealed class FutureContentionScorer(double correlation) : IPlacementScorer
{
    /// <inheritdoc />
    public string Name => "future-contention";

    /// <inheritdoc />
    public double Weight { get; init; } = 1;

    /// <inheritdoc />
    public double Scale { get; init; } = 0.1;

    /// <inheritdoc />
    public double Cost(PlanningPass pass, int vm, int host)
    {
        var load = pass.Feature(p => new PredictedHostLoad(p, correlation));
        return Math.Max(0, (load.LoadWith(host, vm) / pass.State.HostTotalMips[host]) - 0.8);
    }
}

/// <summary>
/// Migration overhead: the seconds a migration needs — memory over the bandwidth a migration gets on the path
/// (topology: same rack, zone or across zones), stretched by the share of it the guest dirties again.
/// </summary>
/// <param name="topology">Network topology (null: host bandwidth only).</param>
/// <param name="locations">Location of each host id (null: all in one rack).</param>
public sealed class MigrationCostScorer(NetworkTopology? topology = null, IReadOnlyDictionary<HostId, TopologyLocation>? locations = null) : IPlacementScorer
{
    /// <inheritdoc />
    public string Name => "migration-cost";

    /// <inheritdoc />
    public double Weight { get; init; } = 1;

    /// <inheritdoc />
    public double Scale { get; init; } = 30;

    /// <summary>Share of the migration bandwidth the guest's dirty-page rate eats, for VMs whose dirty rate is not reported (0: none).</summary>
    public double DirtyShare { get; init; }

    /// <inheritdoc />
    public double Cost(PlanningPass pass, int vm, int host)
    {
        var state = pass.State;
        double bandwidth = state.HostBandwidthMbps[host];
        int source = state.VmHost[vm];
        if (topology is not null && locations is not null && source >= 0
            && locations.TryGetValue(state.HostIds[source], out var a) && locations.TryGetValue(state.HostIds[host], out var b))
        {
            var distance = NetworkTopology.Distance(state.HostIds[source], a, state.HostIds[host], b);
            bandwidth = Math.Min(bandwidth, topology.MigrationBandwidthMbps(distance));
        }

        // The guest's measured dirty rate where the provider reports one; the configured share otherwise.
        double dirty = state.VmDirtyMiBps[vm];
        return dirty > 0
            ? pass.Context.MigrationSeconds(state.VmMemoryMiB[vm], bandwidth, dirty)
            : pass.Context.MigrationSeconds(state.VmMemoryMiB[vm], bandwidth) / Math.Max(0.05, 1 - DirtyShare);
    }
}
