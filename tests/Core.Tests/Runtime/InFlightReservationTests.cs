using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using VmEcosystem.Hosting;
using VmEcosystem.Reservations;
using VmEcosystem.Runtime;
using VmEcosystem.Runtime.Audit;
using VmEcosystem.Simulation;

namespace VmEcosystem.Tests.Runtime;

/// <summary>Every migration the runtime starts says what it holds on the destination and the estimate behind the window.</summary>
public sealed class InFlightReservationTests
{
    [Fact]
    public async Task Each_started_migration_audits_its_reservation_and_pre_copy_estimate()
    {
        var ct = TestContext.Current.CancellationToken;
        var clock = new VirtualClock();
        await using var simulator = new SimulatorHypervisor(
            new SimulatorOptions { Synthetic = new SyntheticWorkloadOptions { VmCount = 60, Seed = 5 }, HostCount = 40 }, clock);
        var store = new InMemoryAuditStore();
        await using var services = new ServiceCollection()
            .AddSingleton<TimeProvider>(clock)
            .AddVmEcosystem(b => b
                .UseProvider("test", _ => new DelegatingHypervisor(simulator))
                .UseAuditStore(_ => store)
                .ConfigureRuntime(o => o.Mode = ExecutionMode.Automatic))
            .BuildServiceProvider();
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

        var started = (await store.ListAsync()).Where(r => r.Kind == AuditKind.MigrationStarted).ToList();
        Assert.NotEmpty(started);
        var model = new PreCopyMigrationModel();
        foreach (var record in started)
        {
            Assert.NotNull(record.Detail);
            using var json = JsonDocument.Parse(record.Detail);
            var r = json.RootElement;
            double memory = r.GetProperty("memoryMiB").GetDouble(), dirty = r.GetProperty("dirtyMiBps").GetDouble();
            double bandwidth = r.GetProperty("bandwidthMbps").GetDouble();
            Assert.True(r.GetProperty("cpuMhz").GetDouble() >= 0 && memory > 0, record.Detail); // an idle VM's upper bound may be 0
            Assert.True(dirty > 0, "the realistic simulator reports its guests' dirty rates"); // estimated from the class there
            var estimate = model.Estimate(memory, dirty, bandwidth * 0.5 / 8);
            Assert.Equal(estimate.TotalSeconds, r.GetProperty("expectedSeconds").GetDouble(), 6);
            Assert.Equal(estimate.DowntimeSeconds * 1000, r.GetProperty("downtimeMs").GetDouble(), 6);
            Assert.True(r.GetProperty("converged").GetBoolean());
        }

        Assert.Contains(started, r => JsonSerializer.Deserialize<JsonElement>(r.Detail!).GetProperty("cpuMhz").GetDouble() > 0);
    }
}
