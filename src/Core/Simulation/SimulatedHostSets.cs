using VmEcosystem.Cluster;

namespace VmEcosystem.Simulation;

/// <summary>The simulator's host sets (<see cref="SimulatorOptions.HostSets"/>).</summary>
internal static class SimulatedHostSets
{
    // Contiguous blocks of hosts, as even as the count allows.
    public static (HostInfo[] Hosts, HostSet[] Sets) Split(IReadOnlyList<HostInfo> hosts, int sets)
    {
        if (sets < 0 || sets > hosts.Count)
        {
            throw new ArgumentOutOfRangeException(nameof(sets), sets, $"VmEcosystem:Simulator:HostSets must be between 0 and the host count ({hosts.Count}).");
        }

        var withSets = hosts.ToArray();
        var members = new List<HostId>[sets];
        for (int h = 0; h < withSets.Length && sets > 0; h++)
        {
            int s = (int)((long)h * sets / withSets.Length);
            var id = new HostSetId($"set-{s + 1:D2}");
            withSets[h] = withSets[h] with { HostSet = id };
            (members[s] ??= []).Add(withSets[h].Id);
        }

        return (withSets, [.. members.Select((m, s) => new HostSet(new HostSetId($"set-{s + 1:D2}"), m))]);
    }
}
