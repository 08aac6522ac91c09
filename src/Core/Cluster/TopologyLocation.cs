namespace VmEcosystem.Cluster;

/// <summary>Where a host sits in the physical network: an availability zone and a rack inside it.</summary>
/// <param name="Zone">Availability zone (or data centre) name.</param>
/// <param name="Rack">Rack name, unique within its zone.</param>
public sealed record TopologyLocation(string Zone, string Rack)
{
    /// <summary>A location for clusters that do not model topology: every host in one rack.</summary>
    public static TopologyLocation Default { get; } = new("default", "default");

    /// <inheritdoc />
    public override string ToString() => $"{Zone}/{Rack}";
}

/// <summary>How close two placements are in the network; used for latency and migration-bandwidth lookups.</summary>
public enum NetworkDistance
{
    /// <summary>Both on one host.</summary>
    SameHost = 0,

    /// <summary>Different hosts in one rack.</summary>
    SameRack = 1,

    /// <summary>Different racks in one zone.</summary>
    SameZone = 2,

    /// <summary>Different zones.</summary>
    CrossZone = 3,
}
