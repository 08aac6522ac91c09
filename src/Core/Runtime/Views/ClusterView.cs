using VmEcosystem.Cluster;
using VmEcosystem.Planning;

namespace VmEcosystem.Runtime;

/// <summary>
/// The cluster as the runtime last observed it, immutable: what a dashboard, an HTTP API or a report shows (hosts
/// with their CPU and memory use, VMs with where they run). Taken with <see cref="EcosystemRuntime.Cluster"/>.
/// </summary>
/// <param name="AsOf">When it was taken (the runtime's clock).</param>
/// <param name="Hosts">Every host.</param>
/// <param name="Vms">Every VM.</param>
public sealed record ClusterView(DateTimeOffset AsOf, IReadOnlyList<HostView> Hosts, IReadOnlyList<VmView> Vms)
{
    /// <summary>How far the VMs' forecasts look ahead (null when the policy forecasts nothing).</summary>
    public TimeSpan? ForecastHorizon { get; init; }

    /// <summary>Interval level of <see cref="VmView.ForecastUpperMhz"/>.</summary>
    public double? ForecastConfidence { get; init; }
}

/// <summary>One host in a <see cref="ClusterView"/>.</summary>
/// <param name="Host">The host.</param>
/// <param name="Cores">Physical cores.</param>
/// <param name="CpuCapacityMhz">CPU capacity, MHz.</param>
/// <param name="CpuRequestedMhz">What its VMs ask for now, MHz (may exceed the capacity).</param>
/// <param name="MemoryCapacityMiB">Memory, MiB.</param>
/// <param name="MemoryAllocatedMiB">Memory given to its VMs (including VMs migrating in), MiB.</param>
/// <param name="VmCount">VMs on it (including VMs migrating in).</param>
/// <param name="AcceptsVms">False when it takes no VMs (maintenance, a label rule, an unusable state).</param>
/// <param name="InMaintenance">True when an operator put it in maintenance.</param>
public sealed record HostView(
    HostId Host, int Cores, double CpuCapacityMhz, double CpuRequestedMhz, double MemoryCapacityMiB, double MemoryAllocatedMiB,
    int VmCount, bool AcceptsVms, bool InMaintenance)
{
    /// <summary>CPU requested over capacity (above 1: oversubscribed).</summary>
    public double CpuUtilization => CpuCapacityMhz > 0 ? CpuRequestedMhz / CpuCapacityMhz : 0;

    /// <summary>Memory allocated over capacity.</summary>
    public double MemoryUtilization => MemoryCapacityMiB > 0 ? MemoryAllocatedMiB / MemoryCapacityMiB : 0;

    /// <summary>The resource that binds: <c>cpu</c> or <c>memory</c>, whichever is used more.</summary>
    public string BindingResource => MemoryUtilization > CpuUtilization ? "memory" : "cpu";
}

/// <summary>One VM in a <see cref="ClusterView"/>.</summary>
/// <param name="Vm">The VM.</param>
/// <param name="Host">Where it runs (null: not placed).</param>
/// <param name="MigratingTo">The target of its running migration, if any.</param>
/// <param name="Cores">vCPUs.</param>
/// <param name="CpuCapacityMhz">Its CPU size, MHz.</param>
/// <param name="CpuRequestedMhz">What it asks for now, MHz.</param>
/// <param name="MemoryMiB">Memory given to it, MiB.</param>
public sealed record VmView(VmId Vm, HostId? Host, HostId? MigratingTo, int Cores, double CpuCapacityMhz, double CpuRequestedMhz, double MemoryMiB)
{
    /// <summary>Its expected CPU demand over <see cref="ClusterView.ForecastHorizon"/>, MHz (null without a forecast).</summary>
    public double? ForecastMhz { get; init; }

    /// <summary>The upper bound of that forecast's interval, MHz.</summary>
    public double? ForecastUpperMhz { get; init; }
}

/// <summary>Builds a <see cref="ClusterView"/> from a planning state (under the model lock: the state is reused).</summary>
internal static class ClusterViews
{
    public static ClusterView From(PlanningState s, DateTimeOffset asOf, IReadOnlySet<HostId> maintenance, Planning.Predictive.DemandForecastSet? forecasts = null, TimeSpan tick = default)
    {
        bool forecast = forecasts is not null && forecasts.Count == s.VmCount && s.VmCount > 0;
        var hosts = new HostView[s.HostCount];
        for (int h = 0; h < hosts.Length; h++)
        {
            var id = s.HostId(h);
            hosts[h] = new HostView(id, s.HostCores(h), s.HostCapacityMips(h), s.RequestedMipsOn(h), s.HostMemory(h), s.MemoryAllocatedOn(h),
                s.VmsOn(h).Count, s.AcceptsVms(h), maintenance.Contains(id));
        }

        var vms = new VmView[s.VmCount];
        for (int v = 0; v < vms.Length; v++)
        {
            int target = s.MigrationTargetOf(v), host = s.HostOf(v);
            vms[v] = new VmView(s.VmId(v), host >= 0 ? s.HostId(host) : null, target >= 0 ? s.HostId(target) : null, s.VmCores(v),
                s.VmCapacityMips(v), s.RequestedMips(v), s.VmMemory(v))
            {
                ForecastMhz = forecast && double.IsFinite(forecasts!.Point(v)) ? forecasts.Point(v) : null,
                ForecastUpperMhz = forecast && double.IsFinite(forecasts!.Upper(v)) ? forecasts.Upper(v) : null,
            };
        }

        return new ClusterView(asOf, hosts, vms)
        {
            ForecastHorizon = forecast ? tick * forecasts!.HorizonTicks : null,
            ForecastConfidence = forecast ? forecasts!.Confidence : null,
        };
    }
}
