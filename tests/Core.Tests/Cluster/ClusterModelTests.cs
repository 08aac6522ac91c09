using VmEcosystem.Cluster;

namespace VmEcosystem.Tests.Cluster;

public sealed class ClusterModelTests
{
    [Theory]
    [InlineData(0.0, 86.0)]
    [InlineData(0.5, 102.0)]
    [InlineData(1.0, 117.0)]
    [InlineData(0.55, 104.0)]
    [InlineData(0.05, 87.7)]
    public void G4_power_table_interpolates_like_cloudsim(double utilization, double watts) =>
        Assert.Equal(watts, SpecPowerModel.HpProLiantMl110G4.PowerWatts(utilization), 9);

    [Fact]
    public void Power_outside_zero_to_one_is_an_error()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => SpecPowerModel.HpProLiantMl110G5.PowerWatts(1.0001));
        Assert.Throws<ArgumentOutOfRangeException>(() => SpecPowerModel.HpProLiantMl110G5.PowerWatts(-0.1));
        Assert.Throws<ArgumentOutOfRangeException>(() => new LinearPowerModel(50, 100).PowerWatts(double.NaN));
    }

    [Fact]
    public void Resource_vectors_add_subtract_and_compare()
    {
        var a = new ResourceVector(2, 2000, 1024, 100, 50);
        var b = new ResourceVector(1, 500, 512, 10, 5);
        Assert.Equal(new ResourceVector(3, 2500, 1536, 110, 55), a + b);
        Assert.Equal(new ResourceVector(1, 1500, 512, 90, 45), a - b);
        Assert.True(b.FitsWithin(a));
        Assert.False(a.FitsWithin(b));
        Assert.Equal(0.5, new ResourceVector(1, 1000, 256).DominantShareOf(new ResourceVector(2, 2000, 1024)), 12);
        Assert.False(new ResourceVector(1, -1, 1).IsValidAmount());
    }

    [Fact]
    public void Invalid_hosts_and_vms_are_rejected_with_their_id()
    {
        var ex = Assert.Throws<ArgumentException>(() => new HostInfo(new HostId("h"), new ResourceVector(0, 100, 100)));
        Assert.Contains("'h'", ex.Message);
        Assert.Throws<ArgumentException>(() => new VmInfo(new VmId("v"), new ResourceVector(1, 100, double.PositiveInfinity)));
        Assert.Throws<ArgumentException>(() => new VmId(" "));
    }

    [Fact]
    public void Inventory_snapshot_rejects_inconsistent_input()
    {
        var h = new HostInfo(new HostId("h"), new ResourceVector(2, 2000, 1024));
        var v = new VmInfo(new VmId("v"), new ResourceVector(1, 100, 128));
        var now = DateTimeOffset.UnixEpoch;
        Assert.Throws<ArgumentException>(() => new InventorySnapshot([h, h], [v], [], now));
        Assert.Throws<ArgumentException>(() => new InventorySnapshot([h], [v], [new Placement(v.Id, new HostId("x"))], now));
        Assert.Throws<ArgumentException>(() => new InventorySnapshot([h], [v], [new Placement(v.Id, h.Id), new Placement(v.Id, h.Id)], now));
        var ok = new InventorySnapshot([h], [v], [new Placement(v.Id, h.Id)], now);
        Assert.True(ok.TryGetHostOf(v.Id, out var host) && host == h.Id);
    }

    [Fact]
    public void Software_components_parse_name_and_version()
    {
        Assert.Equal(new SoftwareComponent("PostgreSQL", "14.9"), SoftwareComponent.Parse("PostgreSQL 14.9"));
        Assert.Equal(new SoftwareComponent("Redis", ""), SoftwareComponent.Parse(" Redis "));
    }

    [Fact]
    public void Topology_classifies_distance_and_latency()
    {
        var t = NetworkTopology.Default;
        var a = new TopologyLocation("z1", "r1");
        var b = new TopologyLocation("z1", "r2");
        var c = new TopologyLocation("z2", "r1");
        Assert.Equal(NetworkDistance.SameHost, NetworkTopology.Distance(new HostId("x"), a, new HostId("x"), a));
        Assert.Equal(NetworkDistance.SameRack, NetworkTopology.Distance(new HostId("x"), a, new HostId("y"), a));
        Assert.Equal(NetworkDistance.SameZone, NetworkTopology.Distance(new HostId("x"), a, new HostId("y"), b));
        Assert.Equal(NetworkDistance.CrossZone, NetworkTopology.Distance(new HostId("x"), a, new HostId("y"), c));
        Assert.True(t.Latency(NetworkDistance.SameRack) < t.Latency(NetworkDistance.CrossZone));
    }
}

/// <summary>Zone latencies: given links, and pairs routed over them.</summary>
public sealed class NetworkTopologyRoutingTests
{
    private static TopologyLocation In(string zone) => new(zone, "r0");

    [Fact]
    public void Zones_without_their_own_latency_route_over_the_shortest_path_of_links()
    {
        var topology = new NetworkTopology(TimeSpan.FromMicroseconds(50), TimeSpan.FromMicroseconds(200), TimeSpan.FromMicroseconds(500), TimeSpan.FromMilliseconds(20),
            zoneLatencyOverrides:
            [
                new(("eu-1", "eu-2"), TimeSpan.FromMilliseconds(2)),
                new(("eu-2", "us-1"), TimeSpan.FromMilliseconds(40)),
                new(("eu-1", "us-1"), TimeSpan.FromMilliseconds(45)),
                new(("us-1", "us-2"), TimeSpan.FromMilliseconds(3)),
            ]);
        TimeSpan Between(string a, string b) => topology.Latency(new HostId($"{a}-h"), In(a), new HostId($"{b}-h"), In(b));

        Assert.Equal(TimeSpan.FromMilliseconds(2), Between("eu-1", "eu-2"));   // a link
        Assert.Equal(TimeSpan.FromMilliseconds(45), Between("eu-1", "us-1"));  // its own figure wins over a shorter path
        Assert.Equal(TimeSpan.FromMilliseconds(43), Between("eu-2", "us-2"));  // routed: 40 + 3
        Assert.Equal(TimeSpan.FromMilliseconds(45), Between("us-2", "eu-1"));  // routed: 3 + 40 + 2 beats 3 + 45
        Assert.Equal(TimeSpan.FromMilliseconds(20), Between("eu-1", "ap-1"));  // no path: the default
    }
}
