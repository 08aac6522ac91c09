using System.Collections.Concurrent;
using System.Text;
using VmEcosystem.Cluster;
using VmEcosystem.Messaging;
using VmEcosystem.Policies;
using VmEcosystem.Simulation;

namespace VmEcosystem.Tests.Messaging;

/// <summary>The default transport and the connector's processor: same contract as the broker's (retries, dead letters, idempotent commands).</summary>
public sealed class InProcessTransportTests
{
    private static SimulatorHypervisor Simulator()
    {
        var host = new HostInfo(new HostId("h0"), new ResourceVector(16, 32000, 65536, 10000, 1000)) { PowerModel = SpecPowerModel.HpProLiantMl110G5 };
        var vm = new SimulatedVm(new VmInfo(new VmId("vm-0"), new ResourceVector(2, 4000, 2048)) { MaxAllocation = new ResourceVector(8, 16000, 16384) },
            new DemandTrace("vm-0", Enumerable.Repeat(0.2, 12).ToArray(), 300));
        return new SimulatorHypervisor(new SimulatorOptions { Scenario = () => new SimulationScenario("mq", [host], [vm], SimulationModel.Realistic with { DurationSeconds = 3600 }) }, new VirtualClock());
    }

    [Fact]
    public async Task The_processor_applies_once_reports_refusals_and_dead_letters_what_never_reads()
    {
        var ct = TestContext.Current.CancellationToken;
        var transport = new InProcessTransport { MaxAttempts = 2 };
        var simulator = Simulator();
        var processor = new AdjustmentCommandProcessor(simulator, transport);
        var outcomes = new ConcurrentQueue<AdjustmentOutcome>();
        await using var collect = await transport.SubscribeAsync(MessageTopics.Outcomes, (m, _) => { outcomes.Enqueue(MessageJson.Deserialize<AdjustmentOutcome>(m.Body)); return Task.CompletedTask; }, ct);
        await using (await processor.StartAsync(ct))
        {
            var grow = new AdjustmentCommand("c1", new VmId("vm-0"), PolicyResource.Memory, 4096, "grow", DateTimeOffset.UnixEpoch);
            await transport.PublishAsync(MessageTopics.Adjustments, "c1", MessageJson.Serialize(grow), ct);
            await transport.PublishAsync(MessageTopics.Adjustments, "c1", MessageJson.Serialize(grow), ct);
            await transport.PublishAsync(MessageTopics.Adjustments, "c2", MessageJson.Serialize(grow with { CommandId = "c2" }), ct); // a new id, a size it has
            await transport.PublishAsync(MessageTopics.Adjustments, "c3", MessageJson.Serialize(grow with { CommandId = "c3", Vm = new VmId("nope") }), ct);
            await transport.PublishAsync(MessageTopics.Adjustments, "bad", Encoding.UTF8.GetBytes("""{ "commandId": "x", "extra": 1 }"""), ct);
            var end = DateTime.UtcNow.AddSeconds(10);
            while ((outcomes.Count < 4 || transport.DeadLetters.Count < 1) && DateTime.UtcNow < end)
            {
                await Task.Delay(10, ct);
            }
        }

        var byId = outcomes.GroupBy(o => o.CommandId).ToDictionary(g => g.Key, g => g.ToList());
        Assert.Equal([true, false], byId["c1"].Select(o => o.Changed));
        Assert.True(byId["c2"].Single().Succeeded && !byId["c2"].Single().Changed);
        Assert.False(byId["c3"].Single().Succeeded);
        Assert.StartsWith("NotFound", byId["c3"].Single().Message, StringComparison.Ordinal);
        Assert.Equal(1, processor.Applied);
        Assert.Equal(4096, (await simulator.GetInventoryAsync(ct)).Vms.Single().Allocation.MemoryMiB);
        var dead = Assert.Single(transport.DeadLetters);
        Assert.Equal("bad", dead.MessageId);
        Assert.StartsWith("not a AdjustmentCommand", dead.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_forecasts_controller_publishes_every_vm_metric_and_horizon_with_its_interval()
    {
        var ct = TestContext.Current.CancellationToken;
        var clock = new VirtualClock();
        var transport = new InProcessTransport();
        var simulator = new SimulatorHypervisor(new SimulatorOptions { Scenario = () => new SimulationScenario("fc",
            [new HostInfo(new HostId("h0"), new ResourceVector(16, 32000, 65536, 10000, 1000)) { PowerModel = SpecPowerModel.HpProLiantMl110G5 }],
            [new SimulatedVm(new VmInfo(new VmId("vm-0"), new ResourceVector(2, 4000, 2048)), new DemandTrace("vm-0", [.. Enumerable.Range(0, 48).Select(i => 0.2 + (0.01 * (i % 7)))], 300))],
            SimulationModel.Realistic with { DurationSeconds = 4 * 3600 }) }, clock);
        var publisher = new VmEcosystem.Runtime.ForecastPublisher(transport, new VmEcosystem.Forecasting.WorkloadProfilerOptions { Horizons = [TimeSpan.FromMinutes(5), TimeSpan.FromMinutes(15)], Confidence = 0.9 });
        var received = new ConcurrentQueue<(string Id, ForecastMessage Message)>();
        await using var sub = await transport.SubscribeAsync(MessageTopics.Forecasts, (m, _) => { received.Enqueue((m.MessageId, MessageJson.Deserialize<ForecastMessage>(m.Body))); return Task.CompletedTask; }, ct);
        var options = new VmEcosystem.Runtime.RuntimeOptions { Mode = VmEcosystem.Runtime.ExecutionMode.DryRun, PlanOnForecastAbove = null };
        var runtime = new VmEcosystem.Runtime.EcosystemRuntime(simulator, VmEcosystem.Planning.Predictive.PredictivePolicy.Create(), Microsoft.Extensions.Options.Options.Create(options), clock,
            new VmEcosystem.Runtime.RuntimeComponents { Controllers = [publisher] });
        await runtime.StartAsync(ct);
        try
        {
            await SimulatedRuntime.AdvanceAsync(runtime, clock, clock.GetUtcNow().AddHours(2), ct);
        }
        finally
        {
            await runtime.DisposeAsync();
        }

        var end = DateTime.UtcNow.AddSeconds(5);
        while (received.Count < publisher.Published && DateTime.UtcNow < end)
        {
            await Task.Delay(10, ct);
        }

        Assert.True(publisher.Published > 0);
        Assert.Equal(publisher.Published, received.Count);
        Assert.Equal(["cpu", "disk", "memory", "network"], received.Select(r => r.Message.Metric).Distinct().Order());
        Assert.Equal([TimeSpan.FromMinutes(5), TimeSpan.FromMinutes(15)], received.Select(r => r.Message.Horizon).Distinct().Order());
        Assert.All(received, r => Assert.True(r.Message.Lower <= r.Message.Point && r.Message.Point <= r.Message.Upper && r.Message.Confidence == 0.9));
        Assert.Equal(received.Count, received.Select(r => r.Id).Distinct().Count()); // one id per forecast: a republished one is a duplicate
    }
}
