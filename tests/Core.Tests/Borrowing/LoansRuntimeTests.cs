using System.Text;
using Microsoft.Extensions.Options;
using VmEcosystem.Adjustment;
using VmEcosystem.Borrowing;
using VmEcosystem.Cluster;
using VmEcosystem.Hypervisor;
using VmEcosystem.Messaging;
using VmEcosystem.Planning.Predictive;
using VmEcosystem.Policies;
using VmEcosystem.Runtime;
using VmEcosystem.Runtime.Audit;
using VmEcosystem.Simulation;
using VmEcosystem.Tests.Runtime;

namespace VmEcosystem.Tests.Borrowing;

/// <summary>
/// The resizing controller in a host set whose budget is spent: web-1 ramps past its allocation, two quiet VMs of
/// the set lend it CPU (never below their forecast), the set stays within its budget, the loans survive a restart of
/// the runtime (read back from the trail and reconciled with the provider's real allocations), and come back.
/// </summary>
public sealed class LoansRuntimeTests
{
    private const string Policy = """
        { "policies": [ { "name": "tenant", "horizon": "15m", "loans": { "maxLendShare": 0.5, "maxDuration": "2h", "lenderMargin": 0.1 },
            "cpu": { "growAbove": 0.8, "shrinkBelow": 0.2, "shrinkHold": "6h", "min": 0.5, "max": 6, "step": 0.25, "cooldown": "5m" } } ] }
        """;

    private const double CoreMhz = 2000, Budget = 6;

    // web-1's cores at minute m: 1 for an hour, a ramp to 3.2 by minute 120, held until 240, then back to 1 by 300.
    private static double WebCores(double m) => m < 60 ? 1 : m < 120 ? 1 + (2.2 * (m - 60) / 60) : m < 240 ? 3.2 : m < 300 ? 3.2 - (2.2 * (m - 240) / 60) : 1;

    private sealed class SetDemand(IHypervisor inner, DateTimeOffset start, TimeProvider time) : DelegatingHypervisor(inner)
    {
        public override async Task<IReadOnlyList<VmMetricSample>> GetVmMetricsAsync(IReadOnlyCollection<VmId>? vms = null, CancellationToken cancellationToken = default)
        {
            double m = (time.GetUtcNow() - start).TotalMinutes;
            return [.. (await base.GetVmMetricsAsync(vms, cancellationToken)).Select(s => s with { CpuMhz = (s.Vm.Value == "web-1" ? WebCores(m) : 0.5) * CoreMhz })];
        }
    }

    /// <summary>Every VM of the set ramps together: 0.5 core at the start, one more core an hour, up to 2.2.</summary>
    private sealed class SetRamp(IHypervisor inner, DateTimeOffset start, TimeProvider time) : DelegatingHypervisor(inner)
    {
        public override async Task<IReadOnlyList<VmMetricSample>> GetVmMetricsAsync(IReadOnlyCollection<VmId>? vms = null, CancellationToken cancellationToken = default)
        {
            double cores = Math.Min(2.2, 0.5 + ((time.GetUtcNow() - start).TotalMinutes / 60));
            return [.. (await base.GetVmMetricsAsync(vms, cancellationToken)).Select(s => s with { CpuMhz = cores * CoreMhz })];
        }
    }

    private sealed class RecordingHandler(TimeProvider time) : IScaleOutHandler
    {
        public List<(DateTimeOffset At, ScaleOutRequest Request)> Requests { get; } = [];

        public Task<ScaleResult> ScaleOutAsync(ScaleOutRequest request, CancellationToken cancellationToken)
        {
            Requests.Add((time.GetUtcNow(), request));
            return Task.FromResult(new ScaleResult([new VmId($"{request.HostSet}-new-{Requests.Count}")], $"started {request.Instances} instance(s)"));
        }

        public Task<ScaleResult> ScaleInAsync(ScaleInRequest request, CancellationToken cancellationToken) => throw new NotSupportedException();
    }

    private sealed class Services(LoanBook book, Func<EcosystemRuntime?> runtime, IAuditStore audit, IScaleOutHandler? handler = null, AdjustmentSender? sender = null) : IServiceProvider
    {
        public object? GetService(Type serviceType) =>
            serviceType == typeof(LoanBook) ? book : serviceType == typeof(IAuditStore) ? audit : serviceType == typeof(EcosystemRuntime) ? runtime()
            : serviceType == typeof(IScaleOutHandler) ? handler : serviceType == typeof(AdjustmentSender) ? sender : null;
    }

    private static SimulationScenario Scenario() => Scenario(standby: false);

    private static SimulationScenario ScenarioWithStandby() => Scenario(standby: true);

    private static SimulationScenario Scenario(bool standby)
    {
        var set = new HostSetId("tenant-a");
        var hosts = Enumerable.Range(0, 2).Select(h => new HostInfo(new HostId($"h{h}"), new ResourceVector(16, 16 * CoreMhz, 32768, 10000, 1000))
        { PowerModel = SpecPowerModel.HpProLiantMl110G5, HostSet = set }).ToArray();
        var vms = new[] { "web-1", "idle-1", "idle-2" }.Select(n => new SimulatedVm(
            new VmInfo(new VmId(n), new ResourceVector(2, 2 * CoreMhz, 2048)) { MaxAllocation = new ResourceVector(6, 6 * CoreMhz, 4096) },
            new DemandTrace(n, Enumerable.Repeat(0.25, 100).ToArray(), 300))).ToList();
        if (standby)
        {
            vms.Add(new SimulatedVm(
                new VmInfo(new VmId("web-standby"), new ResourceVector(2, 2 * CoreMhz, 2048))
                { MaxAllocation = new ResourceVector(6, 6 * CoreMhz, 4096), Labels = new Dictionary<string, string> { ["vmeco.standby"] = "tenant-a" } },
                new DemandTrace("web-standby", Enumerable.Repeat(0.25, 100).ToArray(), 300)));
        }

        return new SimulationScenario("loans", hosts, [.. vms], SimulationModel.Realistic with { DurationSeconds = 8 * 3600 });
    }

    private static async Task<(EcosystemRuntime Runtime, LoanBook Book)> StartAsync(
        IHypervisor provider, IAuditStore audit, VirtualClock clock, CancellationToken ct, IScaleOutHandler? handler = null, AdjustmentSender? sender = null)
    {
        var store = new ResizePolicyStore(clock);
        Assert.True(store.Load(Encoding.UTF8.GetBytes(Policy), "test").Success);
        var book = new LoanBook(new BorrowingOptions { Budgets = { ["tenant-a"] = new HostSetBudget { Cores = Budget } } });
        EcosystemRuntime? runtime = null;
        var controller = new ResizingController(store, Options.Create(new ResizingOptions { PolicyFile = "test", Interval = TimeSpan.FromMinutes(5) }), new Services(book, () => runtime, audit, handler, sender));
        var options = new RuntimeOptions { Mode = ExecutionMode.Automatic, PlanOnForecastAbove = null };
        options.Modes["migrate"] = ExecutionMode.DryRun;
        runtime = new EcosystemRuntime(provider, PredictivePolicy.Create(), Options.Create(options), clock, new RuntimeComponents { Audit = audit, Controllers = [controller] });
        await runtime.StartAsync(ct);
        return (runtime, book);
    }

    private static async Task<Dictionary<string, double>> CoresAsync(IHypervisor provider, CancellationToken ct)
    {
        var result = new Dictionary<string, double>();
        foreach (var vm in (await provider.GetInventoryAsync(ct)).Vms)
        {
            var quota = (await provider.GetResourceControlsAsync(vm.Id, ct)).CpuQuota;
            result[vm.Id.Value] = quota is { } q && double.IsFinite(q) ? q * vm.Allocation.CpuCores : vm.Allocation.CpuCores;
        }

        return result;
    }

    [Fact]
    public async Task Quiet_vms_lend_cpu_within_the_budget_and_the_loans_survive_a_restart_reconciled_with_the_provider()
    {
        var clock = new VirtualClock();
        var ct = TestContext.Current.CancellationToken;
        var start = clock.GetUtcNow();
        var provider = new SetDemand(new SimulatorHypervisor(new SimulatorOptions { Scenario = Scenario }, clock), start, clock);
        var audit = new InMemoryAuditStore();
        var (runtime, book) = await StartAsync(provider, audit, clock, ct);
        double webPeak = 0;
        try
        {
            for (int minute = 5; minute <= 180; minute += 5)
            {
                await SimulatedRuntime.AdvanceAsync(runtime, clock, start + TimeSpan.FromMinutes(minute), ct);
                var cores = await CoresAsync(provider, ct);
                Assert.True(cores.Values.Sum() <= Budget + 1e-6, $"minute {minute}: {string.Join(", ", cores)} exceeds the budget of {Budget}");
                Assert.True(cores["idle-1"] >= 0.5 * 1.1 - 1e-6 && cores["idle-2"] >= 0.5 * 1.1 - 1e-6, $"minute {minute}: a lender below its use plus margin");
                webPeak = Math.Max(webPeak, cores["web-1"]);
            }

            Assert.True(webPeak >= 3.2, $"web-1 peaked at {webPeak} cores: the loans did not cover its ramp");
            Assert.NotEmpty(book.Open);
            Assert.All(book.Open, l => Assert.Equal("web-1", l.Borrower.Value));
            var opened = (await audit.ListAsync(new AuditQuery { Kinds = [AuditKind.LoanOpened] })).Select(r => r.Message).ToList();
            Assert.Contains(opened, m => m.Contains("lent", StringComparison.Ordinal) && m.Contains("to web-1", StringComparison.Ordinal) && m.Contains("budget spent", StringComparison.Ordinal));
        }
        finally
        {
            await runtime.DisposeAsync();
        }

        // Between the runs an operator gives idle-2 its two cores back by hand: that loan no longer holds.
        var before = book.Open;
        var byHand = before.First(l => l.Lender.Value == "idle-2");
        await provider.HotPlugAsync(byHand.Lender, new HotPlugRequest(2, null), ct);
        await provider.SetResourceControlsAsync(byHand.Lender, new ResourceControls { CpuQuota = double.PositiveInfinity }, ct);

        var (restarted, book2) = await StartAsync(provider, audit, clock, ct);
        try
        {
            await SimulatedRuntime.AdvanceAsync(restarted, clock, start + TimeSpan.FromMinutes(190), ct);
            var kept = before.Where(l => l.Lender.Value != "idle-2").Select(l => l.Id).ToList();
            Assert.NotEmpty(kept);
            Assert.Subset(book2.Open.Select(l => l.Id).ToHashSet(), kept.ToHashSet()); // restored and still held on the provider
            Assert.DoesNotContain(book2.Open, l => l.Id == byHand.Id);
            var dropped = await audit.ListAsync(new AuditQuery { Kinds = [AuditKind.LoanReturned] });
            Assert.Contains(dropped, r => r.Message.Contains($"dropped loan {byHand.Id}", StringComparison.Ordinal) && r.Message.Contains("never showed", StringComparison.Ordinal));

            for (int minute = 195; minute <= 420; minute += 5)
            {
                await SimulatedRuntime.AdvanceAsync(restarted, clock, start + TimeSpan.FromMinutes(minute), ct);
            }

            Assert.Empty(book2.Open); // web-1 is quiet again: every loan came back
            var cores = await CoresAsync(provider, ct);
            Assert.True(cores["idle-1"] >= 2 - 1e-6, $"idle-1 holds {cores["idle-1"]} cores after its loans came back");
            // idle-2's dropped loans stay with web-1 (nothing is taken from a borrower that the lender did not give):
            // the set is over its budget by what the operator gave idle-2 by hand, and no grow is granted meanwhile.
            Assert.True(cores.Values.Sum() <= Budget + 1 + 1e-6, string.Join(", ", cores));
        }
        finally
        {
            await restarted.DisposeAsync();
        }
    }

    [Fact]
    public async Task A_set_whose_forecast_outgrows_its_budget_asks_its_scale_out_handler_ahead_of_the_crossing()
    {
        var clock = new VirtualClock();
        var ct = TestContext.Current.CancellationToken;
        var start = clock.GetUtcNow();
        var provider = new SetRamp(new SimulatorHypervisor(new SimulatorOptions { Scenario = Scenario }, clock), start, clock);
        var audit = new InMemoryAuditStore();
        var handler = new RecordingHandler(clock);
        var (runtime, _) = await StartAsync(provider, audit, clock, ct, handler);
        try
        {
            for (int minute = 5; minute <= 120; minute += 5)
            {
                await SimulatedRuntime.AdvanceAsync(runtime, clock, start + TimeSpan.FromMinutes(minute), ct);
            }
        }
        finally
        {
            await runtime.DisposeAsync();
        }

        // The set's use crosses its budget of 6 cores at minute 90 (3 × (0.5 + 1.5)); the lead time is 30 minutes. The
        // simulator adds no instance, so the set asks again once per cooldown while its forecast stays over.
        var (at, request) = handler.Requests[0];
        Assert.All(handler.Requests.Zip(handler.Requests.Skip(1)), p => Assert.True(p.Second.At - p.First.At >= TimeSpan.FromMinutes(30)));
        Assert.True((at - start).TotalMinutes <= 60, $"asked at minute {(at - start).TotalMinutes}");
        Assert.Equal("tenant-a", request.HostSet);
        Assert.True(request.Instances >= 1);
        Assert.Contains("against a budget of 6", request.Reason, StringComparison.Ordinal);
        var records = await audit.ListAsync(new AuditQuery());
        Assert.Contains(records, r => r.Kind == AuditKind.ScaleRequested && r.Message.Contains("tenant-a", StringComparison.Ordinal));
        Assert.Contains(records, r => r.Kind == AuditKind.ActionSucceeded && r.Message.StartsWith("scale-out succeeded: started", StringComparison.Ordinal));
    }

    [Fact]
    public async Task With_the_simulator_handler_a_standby_instance_joins_the_set_when_it_scales_out()
    {
        var clock = new VirtualClock();
        var ct = TestContext.Current.CancellationToken;
        var start = clock.GetUtcNow();
        var simulator = new SimulatorHypervisor(new SimulatorOptions { Scenario = ScenarioWithStandby }, clock);
        var provider = new SetRamp(simulator, start, clock);
        Assert.DoesNotContain((await provider.GetInventoryAsync(ct)).Vms, v => v.Id.Value == "web-standby"); // standby: in no host yet
        var audit = new InMemoryAuditStore();
        var (runtime, _) = await StartAsync(provider, audit, clock, ct, new SimulatorScaleOutHandler(simulator));
        try
        {
            for (int minute = 5; minute <= 90; minute += 5)
            {
                await SimulatedRuntime.AdvanceAsync(runtime, clock, start + TimeSpan.FromMinutes(minute), ct);
            }
        }
        finally
        {
            await runtime.DisposeAsync();
        }

        var inventory = await provider.GetInventoryAsync(ct);
        Assert.True(inventory.TryGetVm(new VmId("web-standby"), out _), "the standby instance did not join");
        Assert.Equal("tenant-a", inventory.Hosts.Single(h => h.Id == inventory.Placements.Single(p => p.Vm.Value == "web-standby").Host).HostSet?.Value);
        Assert.Contains(await audit.ListAsync(new AuditQuery()), r => r.Kind == AuditKind.ActionSucceeded && r.Message.Contains("web-standby joined host set tenant-a", StringComparison.Ordinal));

        // A scale-in takes it back out (only standby instances leave).
        var handler = new SimulatorScaleOutHandler(simulator);
        var left = await handler.ScaleInAsync(new ScaleInRequest("tenant-a", null, 2, "test", [new VmId("idle-1"), new VmId("web-standby")]), ct);
        Assert.Equal([new VmId("web-standby")], left.Vms);
        Assert.False((await provider.GetInventoryAsync(ct)).TryGetVm(new VmId("web-standby"), out _));
    }

    [Fact]
    public async Task Over_the_message_transport_the_loans_reach_the_provider_through_a_platform_connector()
    {
        var clock = new VirtualClock();
        var ct = TestContext.Current.CancellationToken;
        var start = clock.GetUtcNow();
        var provider = new SetDemand(new SimulatorHypervisor(new SimulatorOptions { Scenario = Scenario }, clock), start, clock);
        var transport = new InProcessTransport();
        var connector = new AdjustmentCommandProcessor(provider, transport, clock);
        await using var connecting = await connector.StartAsync(ct);
        await using var sender = new AdjustmentSender(transport, TimeSpan.FromMinutes(2), TimeProvider.System);
        var audit = new InMemoryAuditStore();
        var (runtime, book) = await StartAsync(provider, audit, clock, ct, sender: sender);
        double webPeak = 0;
        try
        {
            for (int minute = 5; minute <= 150; minute += 5)
            {
                await SimulatedRuntime.AdvanceAsync(runtime, clock, start + TimeSpan.FromMinutes(minute), ct);
                var cores = await CoresAsync(provider, ct);
                Assert.True(cores.Values.Sum() <= Budget + 1e-6, $"minute {minute}: {string.Join(", ", cores)}");
                webPeak = Math.Max(webPeak, cores["web-1"]);
            }
        }
        finally
        {
            await runtime.DisposeAsync();
        }

        Assert.True(webPeak >= 3, $"web-1 peaked at {webPeak} cores");
        Assert.NotEmpty(book.Open);
        Assert.True(connector.Applied > 0);
        var records = await audit.ListAsync(new AuditQuery());
        Assert.Contains(records, r => r.Kind == AuditKind.ActionSucceeded && r.Message.StartsWith("adjust succeeded: idle-", StringComparison.Ordinal));
        Assert.DoesNotContain(records, r => r.Kind == AuditKind.ActionSucceeded && r.Message.StartsWith("hot-plug", StringComparison.Ordinal)); // nothing went to the provider directly
    }
}
