using QuikGraph;
using QuikGraph.Algorithms;

namespace VmEcosystem.Cluster;

/// <summary>
/// Latency and bandwidth between locations. A class-based model (same host, rack, zone, cross-zone) with optional
/// latencies per pair of zones (links); a pair of zones without its own figure takes the shortest path over those
/// links (QuikGraph's Dijkstra), and the cross-zone default when no path joins them. Immutable once built.
/// </summary>
public sealed class NetworkTopology
{
    private readonly Dictionary<(string, string), TimeSpan> _zoneLatency;
    private readonly Dictionary<(string, string), TimeSpan> _routed = [];

    /// <summary>Creates a topology from per-class latencies and bandwidths.</summary>
    /// <param name="sameHostLatency">Latency between two VMs on one host (virtual switch).</param>
    /// <param name="sameRackLatency">Latency between hosts of one rack (top-of-rack switch).</param>
    /// <param name="sameZoneLatency">Latency between racks of one zone.</param>
    /// <param name="crossZoneLatency">Default latency between zones.</param>
    /// <param name="bandwidths">Bandwidth available for migrations per location class (null: 10 Gbit/s in a zone, 1 Gbit/s across).</param>
    /// <param name="zoneLatencyOverrides">Latency of specific pairs of zones (symmetric links; other pairs route over them).</param>
    public NetworkTopology(
        TimeSpan sameHostLatency,
        TimeSpan sameRackLatency,
        TimeSpan sameZoneLatency,
        TimeSpan crossZoneLatency,
        MigrationBandwidths? bandwidths = null,
        IEnumerable<KeyValuePair<(string ZoneA, string ZoneB), TimeSpan>>? zoneLatencyOverrides = null)
    {
        bandwidths ??= new MigrationBandwidths();
        double rackBandwidthMbps = bandwidths.RackMbps, zoneBandwidthMbps = bandwidths.ZoneMbps, crossZoneBandwidthMbps = bandwidths.CrossZoneMbps;
        if (sameHostLatency < TimeSpan.Zero || sameRackLatency < sameHostLatency || sameZoneLatency < sameRackLatency
            || crossZoneLatency < sameZoneLatency)
        {
            throw new ArgumentException(
                "Latencies must be non-negative and non-decreasing: same host <= same rack <= same zone <= cross zone.");
        }

        if (!(rackBandwidthMbps > 0) || !(zoneBandwidthMbps > 0) || !(crossZoneBandwidthMbps > 0))
        {
            throw new ArgumentException("Bandwidths must be positive.");
        }

        SameHostLatency = sameHostLatency;
        SameRackLatency = sameRackLatency;
        SameZoneLatency = sameZoneLatency;
        CrossZoneLatency = crossZoneLatency;
        RackBandwidthMbps = rackBandwidthMbps;
        ZoneBandwidthMbps = zoneBandwidthMbps;
        CrossZoneBandwidthMbps = crossZoneBandwidthMbps;
        _zoneLatency = new Dictionary<(string, string), TimeSpan>();
        if (zoneLatencyOverrides is not null)
        {
            foreach (var (pair, latency) in zoneLatencyOverrides)
            {
                if (latency < TimeSpan.Zero || string.Equals(pair.ZoneA, pair.ZoneB, StringComparison.Ordinal))
                {
                    throw new ArgumentException($"Zone link {pair.ZoneA}-{pair.ZoneB} needs two different zones and a non-negative latency; got {latency}.");
                }

                _zoneLatency[Ordered(pair.ZoneA, pair.ZoneB)] = latency;
            }

            RouteOverLinks();
        }
    }

    // Pairs of zones joined only through other zones get the shortest path's latency (few zones: Dijkstra from each).
    private void RouteOverLinks()
    {
        var links = new UndirectedGraph<string, TaggedUndirectedEdge<string, double>>(allowParallelEdges: false);
        foreach (var ((a, b), latency) in _zoneLatency)
        {
            links.AddVerticesAndEdge(new TaggedUndirectedEdge<string, double>(a, b, latency.TotalMicroseconds));
        }

        var zones = links.Vertices.Order(StringComparer.Ordinal).ToArray();
        foreach (var from in zones)
        {
            var paths = links.ShortestPathsDijkstra(e => e.Tag, from);
            foreach (var to in zones)
            {
                var pair = Ordered(from, to);
                if (string.CompareOrdinal(from, to) < 0 && !_zoneLatency.ContainsKey(pair) && paths(to, out var path))
                {
                    _routed[pair] = TimeSpan.FromMicroseconds(path.Sum(e => e.Tag));
                }
            }
        }
    }

    /// <summary>Typical figures for one data centre: 50 µs on a host, 200 µs in a rack, 500 µs in a zone, 2 ms across zones.</summary>
    public static NetworkTopology Default { get; } = new(
        TimeSpan.FromMicroseconds(50), TimeSpan.FromMicroseconds(200), TimeSpan.FromMicroseconds(500), TimeSpan.FromMilliseconds(2));

    /// <summary>Latency between two VMs on one host.</summary>
    public TimeSpan SameHostLatency { get; }

    /// <summary>Latency between two hosts of one rack.</summary>
    public TimeSpan SameRackLatency { get; }

    /// <summary>Latency between two racks of one zone.</summary>
    public TimeSpan SameZoneLatency { get; }

    /// <summary>Default latency between zones.</summary>
    public TimeSpan CrossZoneLatency { get; }

    /// <summary>Migration bandwidth inside a rack, Mbit/s.</summary>
    public double RackBandwidthMbps { get; }

    /// <summary>Migration bandwidth between racks of a zone, Mbit/s.</summary>
    public double ZoneBandwidthMbps { get; }

    /// <summary>Migration bandwidth between zones, Mbit/s.</summary>
    public double CrossZoneBandwidthMbps { get; }

    /// <summary>Classifies the distance between two placements.</summary>
    public static NetworkDistance Distance(HostId hostA, TopologyLocation a, HostId hostB, TopologyLocation b)
    {
        if (hostA == hostB)
        {
            return NetworkDistance.SameHost;
        }

        if (!string.Equals(a.Zone, b.Zone, StringComparison.Ordinal))
        {
            return NetworkDistance.CrossZone;
        }

        return string.Equals(a.Rack, b.Rack, StringComparison.Ordinal) ? NetworkDistance.SameRack : NetworkDistance.SameZone;
    }

    /// <summary>Latency between two placements.</summary>
    public TimeSpan Latency(HostId hostA, TopologyLocation a, HostId hostB, TopologyLocation b)
    {
        var distance = Distance(hostA, a, hostB, b);
        if (distance == NetworkDistance.CrossZone
            && (_zoneLatency.TryGetValue(Ordered(a.Zone, b.Zone), out var custom) || _routed.TryGetValue(Ordered(a.Zone, b.Zone), out custom)))
        {
            return custom;
        }

        return Latency(distance);
    }

    /// <summary>Latency of a distance class.</summary>
    public TimeSpan Latency(NetworkDistance distance) => distance switch
    {
        NetworkDistance.SameHost => SameHostLatency,
        NetworkDistance.SameRack => SameRackLatency,
        NetworkDistance.SameZone => SameZoneLatency,
        _ => CrossZoneLatency,
    };

    /// <summary>Migration bandwidth between two distinct placements, Mbit/s.</summary>
    public double MigrationBandwidthMbps(NetworkDistance distance) => distance switch
    {
        NetworkDistance.SameHost or NetworkDistance.SameRack => RackBandwidthMbps,
        NetworkDistance.SameZone => ZoneBandwidthMbps,
        _ => CrossZoneBandwidthMbps,
    };

    private static (string, string) Ordered(string a, string b) => string.CompareOrdinal(a, b) <= 0 ? (a, b) : (b, a);
}

/// <summary>Bandwidth available for migrations per location class, Mbit/s.</summary>
public sealed record MigrationBandwidths
{
    /// <summary>Inside a rack.</summary>
    public double RackMbps { get; init; } = 10_000;

    /// <summary>Between racks of a zone.</summary>
    public double ZoneMbps { get; init; } = 10_000;

    /// <summary>Between zones.</summary>
    public double CrossZoneMbps { get; init; } = 1_000;
}
