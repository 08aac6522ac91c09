using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using VmEcosystem.Cluster;
using VmEcosystem.Hosting;
using VmEcosystem.Hypervisor;
using VmEcosystem.Planning.ShadowSlots;
using VmEcosystem.Reservations;
using VmEcosystem.Runtime;
using VmEcosystem.Runtime.Audit;
using VmEcosystem.Simulation;

namespace VmEcosystem.Tests.Runtime;

/// <summary>The runtime's migration reservations: admitted before the start, explained, steered, and released on every path.</summary>
public sealed class MigrationReservationRuntimeTests
{
    [Fact]
    public async Task Reservations_are_explained_steered_and_never_outlive_their_move_on_any_path()
    {
        FlakyMigrations? flaky = null;
        var (runtime, clock, store) = await RunSixHoursAsync(ReservationMode.Pid, simulator => flaky = new FlakyMigrations(simulator));
        await using var owned = runtime;
        var records = await store.ListAsync();
        Assert.NotNull(flaky);
        Assert.True(flaky.RefusedStarts > 0 && flaky.CancelledMoves > 0, $"{flaky.RefusedStarts} refused, {flaky.CancelledMoves} cancelled");

        // Every start carries its request, per resource, with its explanation.
        var started = records.Where(r => r.Kind == AuditKind.MigrationStarted).ToList();
        Assert.NotEmpty(started);
        foreach (var r in started)
        {
            var request = JsonDocument.Parse(r.Detail!).RootElement.GetProperty("request");
            var why = request.GetProperty("explanation");
            Assert.Equal(r.Vm!.Value.Value, request.GetProperty("vm").GetString());
            Assert.Equal(r.Target!.Value.Value, request.GetProperty("destination").GetString());
            Assert.True(why.GetProperty("spikeMhz").GetDouble() > 0, r.Detail);
            Assert.Equal(0.95, why.GetProperty("confidence").GetDouble());
            Assert.Contains(why.GetProperty("priority").GetString(), new[] { "Critical", "Standard", "BestEffort" });
            Assert.Equal(why.GetProperty("baselineMhz").GetDouble() + why.GetProperty("spikeMhz").GetDouble(),
                request.GetProperty("amount").GetProperty("cpuMhz").GetDouble(), 6);
        }

        // Copies into one destination share its link by network priority: the lower one was slowed for the higher one.
        var yields = records.Where(r => r.Message.Contains("yields the link", StringComparison.Ordinal)).ToList();
        Assert.NotEmpty(yields);
        Assert.All(yields, r => Assert.Matches(@"set to \d+ Mbit/s: yields the link into \S+ to the copy of \S+ \(network priority (Critical|Standard) over (Standard|BestEffort)\)", r.Message));
        // After switch-over the landed VM got CPU shares by priority, and they were restored when the hold ended.
        // The controller's records never carry a plan id: they are not the move's outcome (requests, reconciliation).
        Assert.All(records.Where(r => r.Controller == "reservations"), r => Assert.Null(r.PlanId));
        var controls = records.Where(r => r.Controller == "reservations" && r.Message.StartsWith("reservation-controls", StringComparison.Ordinal)).ToList();
        Assert.Contains(controls, r => r.Kind == AuditKind.ActionSucceeded && r.Message.Contains("held after switch-over", StringComparison.Ordinal));
        Assert.Contains(controls, r => r.Kind == AuditKind.ActionSucceeded && r.Message.Contains("restored", StringComparison.Ordinal));

        // No reservation outlives its move: a failed start, a cancelled move and a landed one past its hold hold nothing.
        var now = clock.GetUtcNow();
        foreach (var slot in runtime.Reservations.Where(s => s.Kind == ReservationKind.MigrationInFlight))
        {
            var last = records.Last(r => r.Vm?.Value == slot.Owner && r.Kind is AuditKind.MigrationStarted or AuditKind.MigrationSucceeded
                or AuditKind.MigrationFailed or AuditKind.MigrationCancelled or AuditKind.DecisionSkipped);
            Assert.True(last.Kind == AuditKind.MigrationSucceeded && now - last.Timestamp <= TimeSpan.FromSeconds(60),
                $"{slot.Owner} still holds {slot.Amount} after {last.Kind} at {last.Timestamp:O} (now {now:O})");
        }

        foreach (var vm in flaky.Refused.Concat(flaky.Cancelled))
        {
            Assert.DoesNotContain(runtime.Reservations, s => s.Owner == vm.Value && s.Kind == ReservationKind.MigrationInFlight
                && records.Last(r => r.Vm == vm && r.Kind is AuditKind.MigrationStarted or AuditKind.MigrationSucceeded or AuditKind.MigrationFailed or AuditKind.MigrationCancelled).Kind != AuditKind.MigrationSucceeded);
        }
    }

    [Fact]
    public async Task A_destination_that_cannot_hold_the_request_defers_the_move_and_says_why()
    {
        var (runtime, _, store) = await RunSixHoursAsync(ReservationMode.Static, simulator => new DelegatingHypervisor(simulator));
        await using var owned = runtime;
        var deferred = (await store.ListAsync()).Where(r => r.Kind == AuditKind.DecisionSkipped && r.Message.Contains("deferred: destination", StringComparison.Ordinal)).ToList();
        Assert.NotEmpty(deferred);
        Assert.All(deferred, r => Assert.Matches(@"cannot hold \d+ MHz for the move \(baseline \d+ \+ spike \d+\)", r.Message));
        Assert.DoesNotContain(runtime.Reservations, s => s.Kind == ReservationKind.MigrationInFlight && deferred.Any(d => d.Vm?.Value == s.Owner)
            && !runtime.RunningMigrations.Any(m => m.Decision.Vm.Value == s.Owner));
    }

    [Theory]
    [InlineData(12, 1.5, 2.2)]
    [InlineData(6, 0.85, 1.2)]
    [InlineData(3, 0.4, 0.85)]
    public async Task What_copies_really_cost_their_destination_teaches_each_class_a_correction(double mhzPerMiBps, double low, double high)
    {
        // The simulated hosts pay mhzPerMiBps MHz per MiB/s of incoming copy; the runtime's model assumes 6. What the
        // destinations' CPU shows while copies run (beyond what their VMs use) must move the classes' corrections from 1
        // toward that ratio (2, 1, 0.5): in six hours about a dozen copies run alone on their destination and are
        // measured, and each moves the correction a fifth of the way (SpikeLearningRate), so it is not there yet.
        var (runtime, _, _) = await RunSixHoursAsync(ReservationMode.Pid, simulator => new DelegatingHypervisor(simulator),
            new PreCopyModelOptions { DestinationCpuMhzPerMiBps = mhzPerMiBps });
        await using var owned = runtime;
        var learnt = new[] { "idle", "steady", "bursty", "unknown" }.Select(c => (Class: c, Correction: runtime.Runtime.MigrationSpikeCorrectionOf(c)))
            .Where(c => c.Correction.Samples > 0).ToList();
        int samples = learnt.Sum(c => c.Correction.Samples);
        double factor = samples == 0 ? double.NaN : learnt.Sum(c => c.Correction.Factor * c.Correction.Samples) / samples;
        string what = string.Join(", ", learnt.Select(c => $"{c.Class}: {c.Correction}"));
        Assert.True(samples >= 5, what);
        Assert.InRange(factor, low, high);
    }

    [Fact]
    public async Task Measured_spikes_are_in_the_trail_and_a_restarted_runtime_learns_them_again()
    {
        var ct = TestContext.Current.CancellationToken;
        var (runtime, clock, store) = await RunSixHoursAsync(ReservationMode.Pid, simulator => new DelegatingHypervisor(simulator),
            new PreCopyModelOptions { DestinationCpuMhzPerMiBps = 12 });
        await using var owned = runtime;
        var measured = (await store.ListAsync()).Where(r => r.Kind == AuditKind.SpikeMeasured).ToList();
        Assert.NotEmpty(measured);
        Assert.All(measured, r => Assert.Matches(@"cost h\S+ \d+ MHz against \d+ estimated \(class \w+\)", r.Message));
        string[] classes = ["idle", "steady", "bursty", "unknown"];
        var before = classes.Select(c => runtime.Runtime.MigrationSpikeCorrectionOf(c)).ToList();

        await using var simulator = new SimulatorHypervisor(
            new SimulatorOptions { Synthetic = new SyntheticWorkloadOptions { VmCount = 60, Seed = 5 }, HostCount = 40 }, clock);
        await using var services = Services(clock, simulator, store, ReservationMode.Pid);
        var again = services.GetRequiredService<EcosystemRuntime>();
        await again.StartAsync(ct);
        await SimulatedRuntime.StopAsync(again, clock);
        Assert.Equal(before, classes.Select(c => again.MigrationSpikeCorrectionOf(c)).ToList());
        Assert.Contains((await store.ListAsync()).Where(r => r.Kind == AuditKind.RuntimeStarted), r => r.Message.Contains($"{measured.Count} measured copy spikes", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Controls_a_stopped_runtime_left_on_a_landed_vm_are_restored_by_the_next_one()
    {
        var ct = TestContext.Current.CancellationToken;
        var clock = new VirtualClock();
        await using var simulator = new SimulatorHypervisor(
            new SimulatorOptions { Synthetic = new SyntheticWorkloadOptions { VmCount = 60, Seed = 5 }, HostCount = 40 }, clock);
        var store = new InMemoryAuditStore();

        // First run: stop right after a landed VM got its reservation's controls, before its hold ends.
        await using (var first = Services(clock, new DelegatingHypervisor(simulator), store, ReservationMode.Pid))
        {
            var runtime = first.GetRequiredService<EcosystemRuntime>();
            await runtime.StartAsync(ct);
            AuditRecord? held = null;
            for (var until = clock.GetUtcNow(); held is null && until < clock.GetUtcNow() + TimeSpan.FromHours(6);)
            {
                until += TimeSpan.FromSeconds(5);
                await SimulatedRuntime.AdvanceAsync(runtime, clock, until, ct);
                held = (await store.ListAsync()).LastOrDefault(r => r.Controller == "reservations" && r.Kind == AuditKind.ActionSucceeded
                    && r.Message.Contains("held after switch-over", StringComparison.Ordinal));
            }

            await SimulatedRuntime.StopAsync(runtime, clock);
            Assert.NotNull(held);

            // The stopped controller cannot end the hold any more: stopping released it (the trail keeps the controls).
            Assert.DoesNotContain(runtime.Reservations, s => s.Kind == ReservationKind.MigrationInFlight);
            Assert.Contains("disk weight", held.Message, StringComparison.Ordinal);
            Assert.Contains("\"restore\"", held.Detail, StringComparison.Ordinal);
            var left = await simulator.GetResourceControlsAsync(held.Vm!.Value, ct);
            Assert.True(left.CpuShares is 2048 or 1024 or 512 && left.DiskWeight is 1000 or 500 or 100, $"{left}");
        }

        // Second run on the same trail: the leftover is put back before anything else, and says so.
        var vm = (await store.ListAsync()).Last(r => r.Message.Contains("held after switch-over", StringComparison.Ordinal)).Vm!.Value;
        await using var second = Services(clock, new DelegatingHypervisor(simulator), store, ReservationMode.Pid);
        var again = second.GetRequiredService<EcosystemRuntime>();
        await again.StartAsync(ct);
        await SimulatedRuntime.AdvanceAsync(again, clock, clock.GetUtcNow() + TimeSpan.FromSeconds(10), ct);
        await SimulatedRuntime.StopAsync(again, clock);
        var restored = (await store.ListAsync()).Where(r => r.Vm == vm && r.Message.Contains("reservation of an earlier run ended", StringComparison.Ordinal)).ToList();
        Assert.Single(restored);
        Assert.Equal(AuditKind.ActionSucceeded, restored[0].Kind);
        var now = await simulator.GetResourceControlsAsync(vm, ct);
        Assert.Equal((1024, 100), (now.CpuShares, now.DiskWeight)); // the simulator's VMs had none set: the defaults
    }

    // Six simulated hours of a synthetic cluster through the runtime, with reservations in `mode`, on the provider
    // `wrap` makes of the simulator; returns the stopped runtime (its owner disposes of it), the clock and the trail.
    private static async Task<(RuntimeOwner Runtime, VirtualClock Clock, InMemoryAuditStore Store)> RunSixHoursAsync(
        ReservationMode mode, Func<IHypervisor, IHypervisor> wrap, PreCopyModelOptions? physics = null)
    {
        var ct = TestContext.Current.CancellationToken;
        var clock = new VirtualClock();
        var options = new SimulatorOptions { Synthetic = new SyntheticWorkloadOptions { VmCount = 60, Seed = 5 }, HostCount = 40 };
        if (physics is not null)
        {
            var synthetic = options.Synthetic;
            options.Scenario = () => CloudSimScenario.Create(SyntheticWorkload.Generate(synthetic), SimulationModel.Realistic with { PreCopy = physics }, 40, "synthetic");
        }

        var simulator = new SimulatorHypervisor(options, clock);
        var store = new InMemoryAuditStore();
        var services = Services(clock, wrap(simulator), store, mode);
        var runtime = services.GetRequiredService<EcosystemRuntime>();
        await runtime.StartAsync(ct);
        try
        {
            await SimulatedRuntime.AdvanceAsync(runtime, clock, clock.GetUtcNow() + TimeSpan.FromHours(6), ct);
        }
        finally
        {
            await SimulatedRuntime.StopAsync(runtime, clock);
        }

        return (new RuntimeOwner(runtime, services, simulator), clock, store);
    }

    /// <summary>A stopped runtime with what it ran on, disposed of together.</summary>
    private sealed class RuntimeOwner(EcosystemRuntime runtime, ServiceProvider services, SimulatorHypervisor simulator) : IAsyncDisposable
    {
        public EcosystemRuntime Runtime => runtime;

        public IReadOnlyList<ShadowSlot> Reservations => runtime.Reservations;

        public IReadOnlyList<RunningMigration> RunningMigrations => runtime.RunningMigrations;

        public async ValueTask DisposeAsync()
        {
            await services.DisposeAsync();
            await simulator.DisposeAsync();
        }
    }

    private static ServiceProvider Services(VirtualClock clock, IHypervisor hypervisor, InMemoryAuditStore store, ReservationMode mode) =>
        new ServiceCollection()
            .AddSingleton<TimeProvider>(clock)
            .AddVmEcosystem(b => b
                .UseProvider("test", _ => hypervisor)
                .UseAuditStore(_ => store)
                .ConfigureRuntime(o =>
                {
                    o.Mode = ExecutionMode.Automatic;
                    o.Reservations = new ReservationOptions { Mode = mode };
                }))
            .BuildServiceProvider();

    /// <summary>Refuses every 5th start and cancels every 7th started move right away.</summary>
    private sealed class FlakyMigrations(IHypervisor inner) : DelegatingHypervisor(inner)
    {
        private int _starts;

        public List<VmId> Refused { get; } = [];

        public List<VmId> Cancelled { get; } = [];

        public int RefusedStarts => Refused.Count;

        public int CancelledMoves => Cancelled.Count;

        public override async Task<IMigrationOperation> StartMigrationAsync(MigrationRequest request, CancellationToken cancellationToken = default)
        {
            int n = Interlocked.Increment(ref _starts);
            if (n % 5 == 0)
            {
                Refused.Add(request.Vm);
                throw new HypervisorException(HypervisorErrorKind.Conflict, "injected: the destination refused the move", request.Vm.Value, "StartMigration");
            }

            var operation = await base.StartMigrationAsync(request, cancellationToken);
            if (n % 7 == 0)
            {
                Cancelled.Add(request.Vm);
                await operation.CancelAsync(cancellationToken);
            }

            return operation;
        }
    }
}
