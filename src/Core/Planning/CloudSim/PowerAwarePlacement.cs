namespace VmEcosystem.Planning.CloudSim;

/// <summary>Rejects hosts in maintenance or offline.</summary>
public sealed class HostAcceptsVmsFilter : IPlacementFilter
{
    /// <inheritdoc />
    public string Name => "host-accepts-vms";

    /// <inheritdoc />
    public bool Accepts(PlanningPass pass, int vm, int host) => pass.State.HostAcceptsVms[host];
}

/// <summary>
/// CloudSim's CPU suitability: a core can hold one vCPU's request and the host's scheduler has the whole request
/// free (<c>Host.isSuitableForVm</c>).
/// </summary>
public sealed class CpuSuitabilityFilter : IPlacementFilter
{
    /// <inheritdoc />
    public string Name => "cpu-suitability";

    /// <inheritdoc />
    public bool Accepts(PlanningPass pass, int vm, int host) => pass.State.HasCpuFor(vm, host);
}

/// <summary>
/// Rejects a non-idle host that the overload detector would call overloaded with the VM added
/// (CloudSim's <c>isHostOverUtilizedAfterAllocation</c>, skipped for hosts with no allocated MIPS).
/// </summary>
/// <param name="detector">The policy's overload detector.</param>
public sealed class NotOverloadedAfterPlacementFilter(IOverloadDetector detector) : IPlacementFilter
{
    /// <inheritdoc />
    public string Name => $"not-overloaded-after({detector.Name})";

    /// <inheritdoc />
    public bool Accepts(PlanningPass pass, int vm, int host)
    {
        var state = pass.State;
        return state.AllocatedMipsIncludingIncoming(host) == 0 || !detector.IsOverloadedWith(state, host, vm);
    }
}

/// <summary>
/// PABFD's cost: the increase in the host's power draw, P(utilisation after placing the VM) − P(utilisation now),
/// in watts. Hosts without a power model, or that would exceed 100 %, cost +∞.
/// </summary>
public sealed class PowerIncreaseScorer : IPlacementScorer
{
    /// <inheritdoc />
    public string Name => "power-increase";

    /// <inheritdoc />
    public double Weight { get; init; } = 1;

    /// <inheritdoc />
    public double Scale { get; init; } = 1;

    /// <inheritdoc />
    public double Cost(PlanningPass pass, int vm, int host)
    {
        var state = pass.State;
        var power = state.HostPower[host];
        if (power is null)
        {
            return double.PositiveInfinity;
        }

        double after = (state.AllocatedMipsIncludingIncoming(host) + state.VmRequestedMips[vm]) / state.HostTotalMips[host];
        if (after > 1)
        {
            return double.PositiveInfinity;
        }

        return power.PowerWatts(after) - power.PowerWatts(state.HostUtilization[host]);
    }
}
