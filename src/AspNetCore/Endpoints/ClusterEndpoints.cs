using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Options;
using VmEcosystem.Cluster;
using VmEcosystem.Ecosystem;
using VmEcosystem.Runtime;

namespace VmEcosystem.AspNetCore.Endpoints;

/// <summary><c>GET /ecosystem</c>, <c>GET /cluster</c>, <c>GET /reservations</c>: what the runtime sees (read scope).</summary>
internal static class ClusterEndpoints
{
    public static void Map(RouteGroupBuilder g)
    {
        g.MapGet("/ecosystem", Ecosystem).RequireAuthorization(VmEcosystemPolicies.Read)
            .WithName("GetEcosystem").WithSummary("The dependency graph: VMs with their satisfaction, edges, unsatisfied dependencies; paged, filterable by host and state.")
            .Produces<EcosystemPage>().ProducesValidationProblem().ProducesProblem(StatusCodes.Status409Conflict);
        g.MapGet("/cluster", ClusterNow).RequireAuthorization(VmEcosystemPolicies.Read)
            .WithName("GetCluster").WithSummary("Hosts with CPU and memory use (the binding resource marked) and, with vms=true, the VMs with their CPU forecast; as last observed.")
            .Produces<ClusterPage>().ProducesValidationProblem().ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        g.MapGet("/reservations", Reservations).RequireAuthorization(VmEcosystemPolicies.Read)
            .WithName("GetReservations").WithSummary("Capacity held for migrations in flight (the shadow-slot ledger).")
            .Produces<IReadOnlyList<ReservationItem>>();
    }

    internal sealed record EcosystemPage(
        long Version, ClusterSatisfaction Cluster, int Total, int Offset, int Limit,
        IReadOnlyList<EcosystemVm> Vms, IReadOnlyList<EcosystemEdge> Edges, IReadOnlyList<EcosystemEdge> Unsatisfied);

    internal sealed record EcosystemVm(VmId Vm, string Name, HostId? Host, double? Score, double? Optimum, int RequiredMet, int RequiredTotal, int PreferredMet, int PreferredTotal);

    internal sealed record EcosystemEdge(VmId From, VmId? To, string Kind, string Type, bool Met, bool Impossible, string Reason);

    internal sealed record ClusterPage(
        DateTimeOffset AsOf, IReadOnlyList<HostItem> Hosts, int VmCount, IReadOnlyList<VmView>? Vms, double? ForecastHorizonMinutes, double? ForecastConfidence);

    internal sealed record HostItem(
        HostId Host, int Cores, double CpuCapacityMhz, double CpuRequestedMhz, double CpuUtilization, double MemoryCapacityMiB,
        double MemoryAllocatedMiB, double MemoryUtilization, string BindingResource, int VmCount, bool AcceptsVms, bool InMaintenance);

    internal sealed record ReservationItem(string Owner, HostId Host, string Kind, ResourceVector Amount, DateTimeOffset Expires);

    private static IResult Ecosystem(HttpRequest request, EcosystemRuntime runtime, IOptions<VmEcosystemApiOptions> options)
    {
        var q = new Query(request);
        var (offset, limit) = q.Page(options.Value.MaxPageSize);
        string? host = q.Text("host");
        bool? unsatisfied = q.Bool("unsatisfied");
        string? name = q.Text("name");
        if (q.Problem is { } problem)
        {
            return problem;
        }

        if (runtime.Ecosystem is not { } snapshot)
        {
            return Problems.Conflict("the ecosystem map is off: enable it with UseEcosystem(...) or the VmEcosystem:Ecosystem section");
        }

        var selected = snapshot.Vms
            .Where(v => host is null || v.Host is { } h && h.Value == host)
            .Where(v => name is null || v.Name.Contains(name, StringComparison.OrdinalIgnoreCase))
            .Where(v => unsatisfied is null || (v.Satisfaction is { } s && s.Dependencies.Any(d => !d.Met)) == unsatisfied)
            .ToList();
        var page = selected.Skip(offset).Take(limit).ToList();
        var edges = page.SelectMany(Edges).ToList();
        return TypedResults.Json(new EcosystemPage(
            snapshot.Version, snapshot.Cluster, selected.Count, offset, limit,
            [.. page.Select(v => new EcosystemVm(v.Vm, v.Name, v.Host, ApiJson.Finite(v.Score), v.Satisfaction is { } s ? ApiJson.Finite(s.Optimum) : 1,
                v.Satisfaction?.RequiredMet ?? 0, v.Satisfaction?.RequiredTotal ?? 0, v.Satisfaction?.PreferredMet ?? 0, v.Satisfaction?.PreferredTotal ?? 0))],
            edges, [.. edges.Where(e => !e.Met)]), ApiJson.Options);
    }

    private static IEnumerable<EcosystemEdge> Edges(Ecosystem.Graph.VmEcosystemState vm) =>
        vm.Satisfaction?.Dependencies.Select(d => new EcosystemEdge(vm.Vm, d.Nearest, d.Kind.ToString().ToLowerInvariant(), d.Spec.Type, d.Met, d.Impossible, d.Reason))
        ?? [];

    private static IResult ClusterNow(HttpRequest request, EcosystemRuntime runtime)
    {
        var q = new Query(request);
        bool withVms = q.Bool("vms") ?? false;
        if (q.Problem is { } problem)
        {
            return problem;
        }

        if (runtime.Cluster is not { } view)
        {
            return Problems.Unavailable("the cluster has not been observed yet");
        }

        var hosts = view.Hosts.Select(h => new HostItem(h.Host, h.Cores, h.CpuCapacityMhz, h.CpuRequestedMhz, h.CpuUtilization, h.MemoryCapacityMiB,
            h.MemoryAllocatedMiB, h.MemoryUtilization, h.BindingResource, h.VmCount, h.AcceptsVms, h.InMaintenance)).ToList();
        return TypedResults.Json(new ClusterPage(view.AsOf, hosts, view.Vms.Count, withVms ? view.Vms : null, view.ForecastHorizon?.TotalMinutes, view.ForecastConfidence),
            ApiJson.Options);
    }

    private static IResult Reservations(EcosystemRuntime runtime) =>
        TypedResults.Json(runtime.Reservations.Select(r => new ReservationItem(r.Owner, r.Host, r.Kind.ToString(), r.Amount, r.Expires)).ToList(), ApiJson.Options);
}
