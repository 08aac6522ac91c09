using VmEcosystem.Cluster;

namespace VmEcosystem.Simulation;

/// <summary>A VM of a scenario and the trace that drives its demand.</summary>
/// <param name="Info">The VM.</param>
/// <param name="Trace">Its demand over time.</param>
public sealed record SimulatedVm(VmInfo Info, DemandTrace Trace)
{
    /// <summary>
    /// How much longer than memory / bandwidth a live migration of this VM takes, because the guest dirties
    /// pages that must be copied again (1: no re-copy; CloudSim's model).
    /// </summary>
    public double MigrationSlowdown
    {
        get;
        init => field = value >= 1 && double.IsFinite(value) ? value
            : throw new ArgumentOutOfRangeException(nameof(MigrationSlowdown), value, "Must be at least 1.");
    } = 1;

    /// <summary>
    /// Local storage a live migration of this VM copies under the pre-copy model, MiB (null or 0: its disks are on
    /// storage both hosts share, CloudSim's assumption). The guest's disk writes (the write share of its disk I/O, 16 KiB
    /// each, as its samples report them) are the storage copy's dirty rate.
    /// </summary>
    public double? StorageMiB
    {
        get;
        init => field = value is null || (value >= 0 && double.IsFinite(value.Value)) ? value
            : throw new ArgumentOutOfRangeException(nameof(StorageMiB), value, "Must be a finite number >= 0.");
    }

    /// <summary>The rate at which the guest dirties memory, MiB/s, where the trace gives it (null: estimated from its workload class under the pre-copy model).</summary>
    public double? DirtyMiBps
    {
        get;
        init => field = value is null || (value >= 0 && double.IsFinite(value.Value)) ? value
            : throw new ArgumentOutOfRangeException(nameof(DirtyMiBps), value, "Must be a finite number >= 0.");
    }
}

/// <summary>Everything a simulation starts from: hosts, VMs with their traces, topology and physics.</summary>
public sealed class SimulationScenario
{
    /// <summary>Creates a scenario and checks it.</summary>
    public SimulationScenario(
        string name,
        IReadOnlyList<HostInfo> hosts,
        IReadOnlyList<SimulatedVm> vms,
        SimulationModel model,
        NetworkTopology? topology = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(hosts);
        ArgumentNullException.ThrowIfNull(vms);
        ArgumentNullException.ThrowIfNull(model);
        model.Validate();
        if (hosts.Count == 0)
        {
            throw new ArgumentException("A scenario needs at least one host.", nameof(hosts));
        }

        var hostIds = new HashSet<HostId>();
        foreach (var h in hosts)
        {
            if (!hostIds.Add(h.Id))
            {
                throw new ArgumentException($"Host '{h.Id}' appears twice in scenario '{name}'.", nameof(hosts));
            }

            if (h.Capacity.NetworkMbps <= 0)
            {
                throw new ArgumentException($"Host '{h.Id}' needs a positive network bandwidth (migrations use it).", nameof(hosts));
            }
        }

        var vmIds = new HashSet<VmId>();
        foreach (var v in vms)
        {
            if (!vmIds.Add(v.Info.Id))
            {
                throw new ArgumentException($"VM '{v.Info.Id}' appears twice in scenario '{name}'.", nameof(vms));
            }
        }

        Name = name;
        Hosts = hosts;
        Vms = vms;
        Model = model;
        Topology = topology ?? NetworkTopology.Default;
    }

    /// <summary>Scenario name for reports.</summary>
    public string Name { get; }

    /// <summary>Hosts, in id order (the order every "first found" tie-break follows).</summary>
    public IReadOnlyList<HostInfo> Hosts { get; }

    /// <summary>VMs, in id order.</summary>
    public IReadOnlyList<SimulatedVm> Vms { get; }

    /// <summary>Physics.</summary>
    public SimulationModel Model { get; }

    /// <summary>Network.</summary>
    public NetworkTopology Topology { get; }
}
