using VmEcosystem.Cluster;

namespace VmEcosystem.Simulation;

/// <summary>
/// Builds CloudSim 3.0.3's PlanetLab experiment: hosts alternating HP ProLiant ML110 G4 (2 × 1860 MIPS) and G5
/// (2 × 2660 MIPS), 4 GiB RAM and 1 Gbit/s each; one VM per trace, its type (2500/2000/1000/500 MIPS,
/// 870/1740/1740/613 MB) assigned in four contiguous blocks of <c>ceil(N/4)</c> VMs.
/// </summary>
public static class CloudSimScenario
{
    /// <summary>CloudSim's host count.</summary>
    public const int DefaultHostCount = 800;

    /// <summary>MIPS of the four VM types.</summary>
    public static IReadOnlyList<double> VmTypeMips { get; } = [2500, 2000, 1000, 500];

    /// <summary>RAM (MB) of the four VM types.</summary>
    public static IReadOnlyList<double> VmTypeRamMb { get; } = [870, 1740, 1740, 613];

    /// <summary>Builds the scenario for a set of traces (already in the desired VM order).</summary>
    /// <param name="traces">One trace per VM.</param>
    /// <param name="model">Physics; <see cref="SimulationModel.CloudSimCompatible"/> when null.</param>
    /// <param name="hostCount">Number of hosts.</param>
    /// <param name="name">Scenario name.</param>
    public static SimulationScenario Create(
        IReadOnlyList<DemandTrace> traces, SimulationModel? model = null, int hostCount = DefaultHostCount, string name = "cloudsim-planetlab")
    {
        ArgumentNullException.ThrowIfNull(traces);
        ArgumentOutOfRangeException.ThrowIfLessThan(hostCount, 1);
        if (traces.Count == 0)
        {
            throw new ArgumentException("At least one trace is needed.", nameof(traces));
        }

        var hosts = new HostInfo[hostCount];
        for (int i = 0; i < hostCount; i++)
        {
            bool g5 = i % 2 == 1;
            double pe = g5 ? 2660 : 1860;
            hosts[i] = new HostInfo(new HostId($"host-{i:D4}"), new ResourceVector(2, 2 * pe, 4096, 1000, 10_000))
            {
                PowerModel = g5 ? SpecPowerModel.HpProLiantMl110G5 : SpecPowerModel.HpProLiantMl110G4,
                Location = new TopologyLocation("zone-a", $"rack-{i / 40:D2}"),
                Labels = new Dictionary<string, string> { ["model"] = g5 ? "ml110-g5" : "ml110-g4" },
            };
        }

        int n = traces.Count;
        int block = (n + 3) / 4;
        var vms = new SimulatedVm[n];
        for (int i = 0; i < n; i++)
        {
            int type = i / block;
            var info = new VmInfo(new VmId($"vm-{i:D5}"), new ResourceVector(1, VmTypeMips[type], VmTypeRamMb[type], 100, 1000))
            {
                Name = traces[i].Name,
                Labels = new Dictionary<string, string> { ["cloudsim-type"] = type.ToString(System.Globalization.CultureInfo.InvariantCulture) },
            };
            vms[i] = new SimulatedVm(info, traces[i]);
        }

        return new SimulationScenario(name, hosts, vms, model ?? SimulationModel.CloudSimCompatible);
    }
}
