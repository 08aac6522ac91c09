using VmEcosystem.Cluster;
using VmEcosystem.Ecosystem;
using VmEcosystem.Ecosystem.Graph;

namespace VmEcosystem.Experiments;

/// <summary>
/// The simulated applications' hidden truth: a VM's request latency is a base plus, per declared dependency,
/// the network latency to its nearest matching VM times the calls per request to that type (an unplaced or
/// missing dependency costs a timeout), stretched when the VM's host is above 80 % CPU. The learner never sees
/// the calls; it only sees latencies before and after migrations.
/// </summary>
public sealed class CoLocationLatencyModel(IReadOnlyDictionary<string, double> callsPerRequest, double baseMs = 2, double timeoutMs = 50)
{
    /// <summary>Calls per request by dependency type.</summary>
    public IReadOnlyDictionary<string, double> CallsPerRequest { get; } = callsPerRequest;

    /// <summary>Latency of <paramref name="vm"/>, ms, given the graph's current placement and its host's CPU utilisation.</summary>
    public double LatencyMs(EcosystemGraph graph, VmId vm, double hostUtilization, Random? noise = null)
    {
        ArgumentNullException.ThrowIfNull(graph);
        double latency = baseMs;
        foreach (var dependency in graph.Satisfaction(vm).Dependencies)
        {
            double calls = CallsPerRequest.GetValueOrDefault(dependency.Spec.Type);
            double network = dependency.NearestDistance is { } d ? graph.Topology.Latency(d).TotalMilliseconds : timeoutMs;
            latency += calls * network;
        }

        latency *= 1 + (4 * Math.Max(0, hostUtilization - 0.8));
        if (noise is not null)
        {
            latency *= 1 + (0.02 * ((2 * noise.NextDouble()) - 1));
        }

        return latency;
    }
}
