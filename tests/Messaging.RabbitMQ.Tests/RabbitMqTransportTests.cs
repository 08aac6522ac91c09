using System.Collections.Concurrent;
using System.Text;
using VmEcosystem.Cluster;
using VmEcosystem.Policies;

namespace VmEcosystem.Messaging.RabbitMQ.Tests;

/// <summary>
/// Commands from an adjustment engine to a platform connector and their outcomes back, over a real broker: a round
/// trip, a broker restart in the middle of a stream with nothing lost and nothing applied twice, and poison messages
/// dead-lettered with their reason. The engine and the connector each have their own connection, as two processes would.
/// </summary>
[Collection("broker")]
public sealed class RabbitMqTransportTests(Broker broker)
{
    private static string Prefix() => $"vmeco-test-{Guid.NewGuid():N}";

    private static AdjustmentCommand Command(int i, double memory) =>
        new($"cmd-{i}", new VmId($"vm-{i % 4}"), PolicyResource.Memory, memory, "test", DateTimeOffset.UnixEpoch);

    private static async Task<IAsyncDisposable> CollectAsync(IMessageTransport transport, ConcurrentDictionary<string, List<AdjustmentOutcome>> outcomes, CancellationToken ct) =>
        await transport.SubscribeAsync(MessageTopics.Outcomes, (m, _) =>
        {
            var o = MessageJson.Deserialize<AdjustmentOutcome>(m.Body);
            var list = outcomes.GetOrAdd(o.CommandId, _ => []);
            lock (list)
            {
                list.Add(o);
            }

            return Task.CompletedTask;
        }, ct);

    private static async Task WaitForAsync(Func<bool> done, TimeSpan limit, Func<string> what)
    {
        var end = DateTime.UtcNow + limit;
        while (!done())
        {
            Assert.True(DateTime.UtcNow < end, what());
            await Task.Delay(50);
        }
    }

    [Fact]
    public async Task Commands_reach_the_connector_and_their_outcomes_come_back_and_a_repeat_changes_nothing()
    {
        broker.Require();
        var ct = TestContext.Current.CancellationToken;
        string prefix = Prefix();
        var simulator = Broker.Simulator(4);
        await using var engine = broker.Transport(prefix);
        await using var connectorSide = broker.Transport(prefix);
        var processor = new AdjustmentCommandProcessor(simulator, connectorSide);
        var outcomes = new ConcurrentDictionary<string, List<AdjustmentOutcome>>();
        await using var collecting = await CollectAsync(engine, outcomes, ct);
        await using (await processor.StartAsync(ct))
        {
            for (int i = 0; i < 8; i++)
            {
                await engine.PublishAsync(MessageTopics.Adjustments, $"cmd-{i}", MessageJson.Serialize(Command(i, 3072 + (256 * (i / 4)))), ct);
            }

            var cpu = new AdjustmentCommand("cmd-cpu", new VmId("vm-0"), PolicyResource.Cpu, 3.5, "test", DateTimeOffset.UnixEpoch);
            await engine.PublishAsync(MessageTopics.Adjustments, cpu.CommandId, MessageJson.Serialize(cpu), ct);
            await engine.PublishAsync(MessageTopics.Adjustments, cpu.CommandId, MessageJson.Serialize(cpu), ct); // the same command again
            await WaitForAsync(() => outcomes.Count == 9 && outcomes["cmd-cpu"].Count == 2, TimeSpan.FromSeconds(30), () => $"{outcomes.Count} outcomes");
        }

        Assert.All(outcomes.Values.SelectMany(l => l), o => Assert.True(o.Succeeded, o.Message));
        Assert.Equal([true, false], outcomes["cmd-cpu"].Select(o => o.Changed));
        var inventory = await simulator.GetInventoryAsync(ct);
        Assert.All(inventory.Vms, vm => Assert.Equal(3328, vm.Allocation.MemoryMiB));
        var vm0 = inventory.Vms.Single(v => v.Id.Value == "vm-0");
        Assert.Equal(4, vm0.Allocation.CpuCores);
        Assert.Equal(3.5 / 4, (await simulator.GetResourceControlsAsync(vm0.Id, ct)).CpuQuota!.Value, 6);
        Assert.Equal(9, processor.Applied); // 8 memory commands and the CPU command once
    }

    [Fact]
    public async Task A_broker_restart_mid_stream_loses_nothing_and_applies_nothing_twice()
    {
        broker.Require();
        var ct = TestContext.Current.CancellationToken;
        string prefix = Prefix();
        var simulator = Broker.Simulator(4);
        await using var engine = broker.Transport(prefix);
        await using var connectorSide = broker.Transport(prefix);
        var processor = new AdjustmentCommandProcessor(simulator, connectorSide);
        var outcomes = new ConcurrentDictionary<string, List<AdjustmentOutcome>>();
        await using var collecting = await CollectAsync(engine, outcomes, ct);
        await using var connector = await processor.StartAsync(ct);
        const int Count = 120;
        Task? restart = null;
        for (int i = 0; i < Count; i++)
        {
            if (i == 40)
            {
                await Broker.RunAsync("stop");
                restart = Task.Run(async () => { await Task.Delay(1000); await Broker.RunAsync("start"); }, ct); // publishes below wait for it
            }

            // each command sets its VM's memory to a size no other command asks for: an outcome that changed it is this command's
            await engine.PublishAsync(MessageTopics.Adjustments, $"cmd-{i}", MessageJson.Serialize(Command(i, 2048 + (16 * (i + 1)))), ct);
        }

        await restart!;
        await WaitForAsync(() => outcomes.Count == Count, TimeSpan.FromSeconds(90), () => $"{outcomes.Count} of {Count} outcomes; missing {string.Join(",", Enumerable.Range(0, Count).Select(i => $"cmd-{i}").Where(id => !outcomes.ContainsKey(id)).Take(10))}");
        // Every command was carried out once and changed its VM once; its repeats (redeliveries, messages published again
        // after a lost confirm) were answered from memory. Outcomes may arrive more than once: at least once, by design.
        Assert.Equal(Count, processor.Executed);
        Assert.Equal(Count, processor.Applied);
        Assert.All(outcomes.Values.SelectMany(l => l), o => Assert.True(o.Succeeded, o.Message));
        var inventory = await simulator.GetInventoryAsync(ct);
        for (int vm = 0; vm < 4; vm++)
        {
            int last = Enumerable.Range(0, Count).Last(i => i % 4 == vm);
            Assert.Equal(2048 + (16 * (last + 1)), inventory.Vms.Single(v => v.Id.Value == $"vm-{vm}").Allocation.MemoryMiB);
        }
    }

    [Fact]
    public async Task Poison_messages_and_messages_out_of_attempts_are_dead_lettered_with_their_reason()
    {
        broker.Require();
        var ct = TestContext.Current.CancellationToken;
        string prefix = Prefix();
        await using var transport = broker.Transport(prefix, maxAttempts: 3);
        var simulator = Broker.Simulator(1);
        var processor = new AdjustmentCommandProcessor(simulator, transport);
        int flaky = 0;
        await using (await processor.StartAsync(ct))
        await using (await transport.SubscribeAsync("flaky", (_, _) => { Interlocked.Increment(ref flaky); throw new InvalidOperationException("always down"); }, ct))
        {
            await transport.PublishAsync(MessageTopics.Adjustments, "garbage", Encoding.UTF8.GetBytes("{ not json"), ct);
            var nan = Encoding.UTF8.GetBytes("""{ "commandId": "nan", "vm": "vm-0", "resource": "Memory", "to": -5, "reason": "x", "issuedAt": "2026-01-01T00:00:00Z" }""");
            await transport.PublishAsync(MessageTopics.Adjustments, "negative", nan, ct);
            await transport.PublishAsync("flaky", "flaky-1", Encoding.UTF8.GetBytes("{}"), ct);
            var dead = new List<DeadLetter>();
            await WaitForAsync(() =>
            {
                dead.AddRange(transport.TakeDeadLettersAsync(MessageTopics.Adjustments, ct).GetAwaiter().GetResult());
                dead.AddRange(transport.TakeDeadLettersAsync("flaky", ct).GetAwaiter().GetResult());
                return dead.Count == 3;
            }, TimeSpan.FromSeconds(30), () => $"{dead.Count} dead letters");
            Assert.Contains(dead, d => d.MessageId == "garbage" && d.Reason.StartsWith("not a AdjustmentCommand", StringComparison.Ordinal));
            Assert.Contains(dead, d => d.MessageId == "negative" && d.Reason.Contains("is not a size", StringComparison.Ordinal));
            Assert.Contains(dead, d => d.MessageId == "flaky-1" && d.Reason == "failed 3 times: always down" && Encoding.UTF8.GetString(d.Body.Span) == "{}");
            Assert.Equal(3, flaky);
        }

        Assert.Equal(0, processor.Applied);
    }
}
