using Microsoft.Extensions.Options;
using VmEcosystem.Cluster;
using VmEcosystem.Ecosystem;
using VmEcosystem.Ecosystem.Declarations;
using VmEcosystem.Ecosystem.Graph;
using VmEcosystem.Hypervisor;
using VmEcosystem.Planning;
using VmEcosystem.Runtime;
using VmEcosystem.Simulation;

namespace VmEcosystem.Tests.Runtime;

/// <summary>
/// Property (issue 14): over random plans, approvals delayed by random times and random moves made outside the
/// library, no migration the executor starts ever overfills its target's memory, lands next to an anti-affine peer or
/// breaks a required dependency that was met, as the provider sees the cluster at the moment the move starts
/// (placements plus the moves it has in flight; dependencies judged by a graph loaded from that placement).
/// </summary>
public sealed class ExecutorPropertyTests
{
    // Checks every start against what the provider holds at that moment and has told: a move made outside the library
    // is published when it completes (VmMoved), so until then its VM is not counted on its target (the provider's own
    // check still refuses what it would overfill).
    private sealed class CheckingProvider(IHypervisor provider, PlacementConstraints rules, IReadOnlyList<VmDeclaration> declarations) : StartCheckingHypervisor(provider)
    {
        private readonly Dictionary<VmId, HostId> _external = [];

        public void External(IMigrationOperation operation)
        {
            lock (Gate)
            {
                _external[operation.Vm] = operation.Target;
            }

            _ = operation.Completion.ContinueWith(_ =>
            {
                lock (Gate)
                {
                    _external.Remove(operation.Vm);
                }
            }, TaskScheduler.Default);
        }

        private bool Unpublished(VmId vm, HostId target) =>
            _external.GetValueOrDefault(vm) == target;

        protected override void Check(MigrationRequest request, InventorySnapshot inventory)
        {
            var memory = inventory.Vms.ToDictionary(v => v.Id, v => v.Allocation.MemoryMiB);
            var target = request.Target;
            var there = inventory.Placements.Where(p => p.Host == target && p.Vm != request.Vm && !Unpublished(p.Vm, target)).Select(p => p.Vm)
                .Concat(InFlight.Where(f => f.Value == target && f.Key != request.Vm).Select(f => f.Key)).Distinct().ToList();
            double used = there.Sum(vm => memory[vm]) + memory[request.Vm];
            double capacity = inventory.Hosts.Single(h => h.Id == target).Capacity.MemoryMiB;
            if (used > capacity)
            {
                Breaks.Add($"{request.Vm} -> {target}: {used:F0} of {capacity:F0} MiB; there: {string.Join(", ", there.Select(v => $"{v} {memory[v]} placed={inventory.Placements.Any(p => p.Vm == v && p.Host == target)}"))}; self {memory[request.Vm]}");
            }

            foreach (var peer in rules.AntiAffine(request.Vm).Where(there.Contains))
            {
                Breaks.Add($"{request.Vm} -> {target}: anti-affine {peer} is there");
            }

            var oracle = new EcosystemGraph();
            oracle.Load(inventory, declarations);
            foreach (var (vm, spec) in oracle.ImpactOfMove(request.Vm, target).RequiredBroken)
            {
                Breaks.Add($"{request.Vm} -> {target}: breaks {vm}'s required {spec}");
            }
        }
    }

    // Proposes a random plan of one to six random moves every few minutes, from where it last saw the VMs.
    private sealed class RandomPlans(Random random, IReadOnlyList<VmId> vms, IReadOnlyList<HostId> hosts) : IRuntimeController
    {
        public string Name => "random";

        public async Task RunOnceAsync(ControllerContext context, CancellationToken cancellationToken)
        {
            await context.DelayAsync(TimeSpan.FromMinutes(random.Next(1, 6)), cancellationToken);
            var inventory = await context.CallAsync("GetInventory", (h, t) => h.GetInventoryAsync(t), cancellationToken);
            var hostOf = inventory.Placements.ToDictionary(p => p.Vm, p => p.Host);
            var moves = new List<ClusterAction>();
            foreach (var vm in Enumerable.Range(0, random.Next(1, 7)).Select(_ => vms[random.Next(vms.Count)]).Distinct())
            {
                var target = hosts[random.Next(hosts.Count)];
                if (hostOf.TryGetValue(vm, out var source) && source != target)
                {
                    moves.Add(new MigrateAction(new MigrationDecision
                    {
                        Vm = vm, Source = source, Target = target, VmIndex = -1, TargetIndex = -1, Stage = "test", Rule = "random",
                        Trigger = new TriggerEvidence("test", "random move"),
                    }));
                }
            }

            if (moves.Count > 0)
            {
                await context.ProposeAsync(moves, "random");
            }
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(5)]
    [InlineData(6)]
    [InlineData(7)]
    [InlineData(8)]
    public async Task No_started_move_overfills_memory_or_joins_an_anti_affine_peer(int seed)
    {
        var ct = TestContext.Current.CancellationToken;
        var random = new Random(seed);
        var clock = new VirtualClock();
        await using var simulator = new SimulatorHypervisor(new SimulatorOptions { Synthetic = new SyntheticWorkloadOptions { VmCount = 40, Seed = seed }, HostCount = 24 }, clock);
        var inventory = await simulator.GetInventoryAsync(ct);
        var vms = inventory.Vms.Select(v => v.Id).ToList();
        var hosts = inventory.Hosts.Select(h => h.Id).ToList();
        var rules = new PlacementConstraints();
        for (int i = 0; i < 12; i++)
        {
            var (a, b) = (vms[random.Next(vms.Count)], vms[random.Next(vms.Count)]);
            if (a != b)
            {
                rules.AddAntiAffinity(a, b);
            }
        }

        // Required same-host dependencies (50 µs on one host, 200 µs across the rack): x needs a "db-k" within 100 µs.
        // Pairs start on one host, so their dependencies are met and a move can break them.
        var declarations = new List<VmDeclaration>();
        var nameOf = inventory.Vms.ToDictionary(v => v.Id, v => v.Name);
        var pairs = inventory.Placements.GroupBy(p => p.Host).Where(g => g.Count() >= 2).Select(g => g.Select(p => nameOf[p.Vm]).Take(2).ToArray()).ToList();
        for (int k = 0; k < pairs.Count; k++)
        {
            declarations.Add(new VmDeclaration { VmName = pairs[k][0], Provides = new ProvidedProfile { Type = $"db-{k}" } });
            declarations.Add(new VmDeclaration
            {
                VmName = pairs[k][1],
                Required = [new DependencySpec { Type = $"db-{k}", Latency = new LatencyBound(TimeSpan.FromMicroseconds(100), false) }],
            });
        }

        var provider = new CheckingProvider(simulator, rules, declarations);
        await using var runtime = new EcosystemRuntime(provider, new NoMigrationPolicy(), Options.Create(new RuntimeOptions
        {
            Mode = ExecutionMode.Approve,
            PlanOnForecastAbove = null,
            MaxConcurrentMigrationsPerHost = 8,
            MaxConcurrentMigrationsInCluster = 20,
            MaxMigrationsPerWindow = 10_000,
            FailureBackoff = TimeSpan.FromMinutes(2),
            ApprovalTimeout = TimeSpan.FromHours(1),
            PlanQueueCapacity = 50,
        }), clock, new RuntimeComponents
        {
            Constraints = rules,
            Graph = new EcosystemGraph(),
            Declarations = declarations,
            Controllers = [new RandomPlans(new Random(seed * 31), vms, hosts)],
        });
        await runtime.StartAsync(ct);
        try
        {
            var end = clock.GetUtcNow() + TimeSpan.FromHours(3);
            while (clock.GetUtcNow() < end)
            {
                await SimulatedRuntime.AdvanceAsync(runtime, clock, clock.GetUtcNow() + TimeSpan.FromSeconds(random.Next(5, 600)), ct);

                // Approvals come late and in any order: each waiting plan is approved now with a chance of one in three.
                foreach (var plan in runtime.PendingPlans.Where(_ => random.Next(3) == 0).ToList())
                {
                    try
                    {
                        await runtime.ApproveAsync(plan.PlanId, ct);
                    }
                    catch (InvalidOperationException)
                    {
                        // Expired or superseded meanwhile.
                    }
                }

                // Now and then an operator moves a VM outside the library (the runtime learns it from the change feed).
                if (random.Next(4) == 0)
                {
                    var current = await simulator.GetInventoryAsync(ct);
                    var p = current.Placements[random.Next(current.Placements.Count)];
                    var to = hosts[random.Next(hosts.Count)];
                    if (to != p.Host)
                    {
                        try
                        {
                            provider.External(await simulator.StartMigrationAsync(new MigrationRequest(p.Vm, to), ct));
                        }
                        catch (HypervisorException)
                        {
                            // Refused (busy, or no room): nothing moved.
                        }
                    }
                }
            }
        }
        finally
        {
            await SimulatedRuntime.StopAsync(runtime, clock);
        }

        Assert.True(provider.Starts > 10, $"only {provider.Starts} moves started");
        Assert.True(runtime.Status.Migrations.Skipped > 0, "no move was ever refused: the property was not exercised");
        foreach (var b in provider.Breaks)
        {
            TestContext.Current.TestOutputHelper?.WriteLine(b);
        }

        int dependencySkips = 0;
        await foreach (var r in runtime.Audit.QueryAsync(new VmEcosystem.Runtime.Audit.AuditQuery { Kinds = [VmEcosystem.Runtime.Audit.AuditKind.DecisionSkipped] }, ct))
        {
            dependencySkips += r.Message.Contains("required dependency", StringComparison.Ordinal) ? 1 : 0;
        }

        TestContext.Current.TestOutputHelper?.WriteLine($"{provider.Starts} starts, {runtime.Status.Migrations.Skipped} skipped, {dependencySkips} for a required dependency");
        Assert.True(dependencySkips > 0, "no move was refused for a required dependency: that part of the property was not exercised");
        Assert.Empty(provider.Breaks);
    }
}
