using Microsoft.Extensions.DependencyInjection;
using VmEcosystem.Runtime;
using VmEcosystem.Runtime.Audit;
using VmEcosystem.Simulation;

namespace VmEcosystem.Tests.Runtime;

public sealed partial class RuntimeStateTests
{
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_restart_refits_the_forecasters_from_the_checkpoint(bool checkpoints)
    {
        var ct = TestContext.Current.CancellationToken;
        var clock = new VirtualClock();
        await using var simulator = Simulator(clock);
        var store = new InMemoryAuditStore();
        var vm = (await simulator.GetInventoryAsync(ct)).Vms[0].Id;
        void Options(RuntimeOptions o) => o.CheckpointInterval = checkpoints ? TimeSpan.FromMinutes(30) : TimeSpan.Zero;
        var provider = new DelegatingHypervisor(simulator);
        long before;
        await using (var services = Build(clock, provider, store, Options))
        {
            var runtime = services.GetRequiredService<EcosystemRuntime>();
            await runtime.StartAsync(ct);
            try
            {
                await SimulatedRuntime.AdvanceAsync(runtime, clock, clock.GetUtcNow() + TimeSpan.FromHours(2), ct);
            }
            finally
            {
                await SimulatedRuntime.StopAsync(runtime, clock);
            }

            before = runtime.Session.ObservationsOf(vm);
        }

        Assert.InRange(before, 20, 96); // about one sample every 5 minutes for 2 hours
        await using (var services = Build(clock, provider, store, Options))
        {
            var runtime = services.GetRequiredService<EcosystemRuntime>();
            await runtime.StartAsync(ct);
            try
            {
                // Before the first observation of this process: warm from the checkpoint, or cold without one.
                Assert.Equal(checkpoints ? before : 0, runtime.Session.ObservationsOf(vm));
            }
            finally
            {
                await SimulatedRuntime.StopAsync(runtime, clock);
            }
        }

        var restored = (await AuditTrail.ListAsync(store)).Last(r => r.Kind == AuditKind.RuntimeStarted && r.Message.StartsWith("restored", StringComparison.Ordinal));
        if (checkpoints)
        {
            Assert.Contains("forecasters of 40 VMs refitted from the checkpoint", restored.Message, StringComparison.Ordinal);
        }
        else
        {
            Assert.EndsWith("no forecaster checkpoint (CheckpointInterval is zero, or the audit store keeps none)", restored.Message, StringComparison.Ordinal);
        }
    }
}
