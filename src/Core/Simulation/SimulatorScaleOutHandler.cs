using VmEcosystem.Borrowing;
using VmEcosystem.Cluster;

namespace VmEcosystem.Simulation;

/// <summary>
/// The simulator's <see cref="IScaleOutHandler"/>: a scenario declares standby instances (VMs labelled
/// <see cref="StandbyLabel"/> with their host set's name: placed nowhere at the start); a scale-out brings them onto
/// the set's host with the most free CPU, and a scale-in takes standby instances back out, so the simulated day sees
/// instances join and leave (<c>VmAdded</c>, <c>VmRemoved</c>) and their demand with them.
/// </summary>
internal sealed class SimulatorScaleOutHandler(SimulatorHypervisor simulator) : IScaleOutHandler
{
    /// <summary>The label that makes a scenario's VM a standby instance of the host set it names.</summary>
    public const string StandbyLabel = "vmeco.standby";

    public async Task<ScaleResult> ScaleOutAsync(ScaleOutRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var joined = new List<VmId>();
        foreach (var vm in simulator.StandbyFor(request.HostSet).Take(request.Instances))
        {
            var inventory = await simulator.GetInventoryAsync(cancellationToken).ConfigureAwait(false);
            var host = inventory.Hosts.Where(h => h.HostSet?.Value == request.HostSet && h.State == HostState.Online)
                .OrderByDescending(h => h.Capacity.CpuMhz - inventory.Placements.Where(p => p.Host == h.Id)
                    .Sum(p => inventory.TryGetVm(p.Vm, out var info) ? info.Allocation.CpuMhz : 0))
                .FirstOrDefault() ?? throw new InvalidOperationException($"Host set '{request.HostSet}' has no online host.");
            simulator.Join(vm, host.Id);
            joined.Add(vm);
        }

        return new ScaleResult(joined, joined.Count == request.Instances
            ? $"{string.Join(", ", joined)} joined host set {request.HostSet}"
            : $"{joined.Count} of {request.Instances} instances joined host set {request.HostSet} (no more standby instances)");
    }

    public async Task<ScaleResult> ScaleInAsync(ScaleInRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var inventory = await simulator.GetInventoryAsync(cancellationToken).ConfigureAwait(false);
        var left = new List<VmId>();
        foreach (var id in request.Candidates)
        {
            if (left.Count < request.Instances && inventory.TryGetVm(id, out var vm) && vm.Labels.ContainsKey(StandbyLabel))
            {
                simulator.Retire(id);
                left.Add(id);
            }
        }

        return new ScaleResult(left, left.Count > 0 ? $"{string.Join(", ", left)} left host set {request.HostSet}" : "no standby instance among the candidates: none left");
    }
}
