using Microsoft.Extensions.DependencyInjection;
using VmEcosystem.Cluster;
using VmEcosystem.Hosting;
using VmEcosystem.Hypervisor;
using VmEcosystem.Reservations;
using VmEcosystem.Runtime;
using VmEcosystem.Runtime.Audit;

namespace VmEcosystem.Providers.Libvirt.IntegrationTests;

/// <summary>A live migration on real QEMU with a reservation: admitted, capped, slowed by the controller while the job runs, CPU controls on the destination after switch-over.</summary>
public sealed class QemuReservationTests(QemuHosts hosts)
{
    [Fact]
    public async Task A_move_runs_with_a_reservation_its_controller_changes_its_bandwidth_and_sets_the_destinations_cpu_controls()
    {
        hosts.Require();
        var ct = TestContext.Current.CancellationToken;
        var vm = new VmId(QemuHosts.Vm);
        await hosts.ResetVmAsync(); // 256 MiB on hosta: another test may have left its balloon elsewhere (the request reserves what the VM has)
        var services = new ServiceCollection();
        services.AddVmEcosystem(b => b
            .UseLibvirt(o =>
            {
                // 160 Mbit/s links: the move's share (half) is 80 Mbit/s, ~10 MiB/s: the 256 MiB guest copies for ~25 s.
                o.Hosts.Add(new LibvirtHostOptions { Name = "hosta", Uri = hosts.UriOf("hosta"), NetworkMbps = 160, MigrationUri = "tcp://127.0.0.1", MigrationListenAddress = "127.0.0.1" });
                o.Hosts.Add(new LibvirtHostOptions { Name = "hostb", Uri = hosts.UriOf("hostb"), NetworkMbps = 160, MigrationUri = "tcp://127.0.0.1", MigrationListenAddress = "127.0.0.1" });
                o.AllowUnsafeMigration = true;
            })
            .ConfigureRuntime(o =>
            {
                o.Mode = ExecutionMode.Automatic;
                o.MetricsInterval = TimeSpan.FromSeconds(1);
                o.PlanningInterval = TimeSpan.FromHours(1); // only the request moves anything
                o.Reservations = new ReservationOptions
                {
                    SteeringInterval = TimeSpan.FromSeconds(1),
                    DestinationUtilizationTarget = 0.001, // any use of the destination counts as hot: the copy must back off
                    MinBandwidthShare = 0.5,
                    BandwidthPid = new PidOptions { Kp = 50, Ki = 0.5 }, // at once to the floor, whatever the destination's measured use
                    HoldAfterSwitchOver = TimeSpan.FromSeconds(4),
                };
            }));
        await using var container = services.BuildServiceProvider();
        var runtime = container.GetRequiredService<EcosystemRuntime>();
        var control = container.GetRequiredService<IEcosystemControl>();
        var hypervisor = container.GetRequiredService<IHypervisor>();
        var home = (await hypervisor.GetInventoryAsync(ct)).Placements.Single(p => p.Vm == vm).Host;
        await runtime.StartAsync(ct);
        try
        {
            var request = await RuntimeOnLibvirtTests.RequestWhenObservedAsync(control, vm, ct);
            var away = request.Target!.Value;

            // The source daemon's job: started at the reserved rate (80 Mbit/s = 10 MiB/s), then the controller's cap (40 = 5).
            var speeds = new List<string>();
            var until = DateTime.UtcNow.AddMinutes(2);
            while (DateTime.UtcNow < until)
            {
                var (code, output) = await hosts.VirshAsync(home.Value, "migrate-getspeed", vm.Value);
                bool running = (await hosts.VirshAsync(home.Value, "domjobinfo", vm.Value)).Output.Contains("Memory", StringComparison.Ordinal);
                if (code == 0 && running)
                {
                    speeds.Add(output.Trim());
                }

                if (speeds.Contains("5") || (request = (await control.GetRequestAsync(request.Id, ct))!).State is not (RequestState.Queued or RequestState.Running))
                {
                    break;
                }

                await Task.Delay(200, ct);
            }

            // The job started capped at the reserved rate (the request's copy rate; virsh may first show it or already
            // the controller's cap, a second later), then ran at the controller's cap while it copied.
            if (!speeds.Contains("5"))
            {
                var dump = await RuntimeOnLibvirtTests.TrailAsync(runtime, ct);
                Assert.Fail(string.Join("\n", dump.Select(r => $"{r.Kind} {r.Controller} {r.Message} {r.Detail}")) + "\n" + string.Join(",", runtime.Status.LoopErrors.Select(e => $"{e.Key}={e.Value}")));
            }
            while (request.State is RequestState.Queued or RequestState.Running && DateTime.UtcNow < until)
            {
                await Task.Delay(250, ct);
                request = (await control.GetRequestAsync(request.Id, ct))!;
            }

            Assert.Equal(RequestState.Succeeded, request.State);

            // After switch-over the destination domain runs with the reservation's CPU shares, restored when the hold ends.
            var trail = await RuntimeOnLibvirtTests.TrailAsync(runtime, ct);
            var started = Assert.Single(trail, r => r.Kind == AuditKind.MigrationStarted && r.Vm == vm);
            Assert.Contains("\"explanation\"", started.Detail, StringComparison.Ordinal);
            Assert.Contains("\"copyMiBps\":10,", started.Detail, StringComparison.Ordinal); // 80 Mbit/s: the start cap
            Assert.Contains(trail, r => r.Kind == AuditKind.ActionSucceeded && r.Controller == "reservations" && r.Vm == vm
                && r.Message.Contains("migration-bandwidth", StringComparison.Ordinal) && r.Message.Contains("set to 40 Mbit/s", StringComparison.Ordinal));
            var applied = await WaitForAsync(runtime, r => r.Message.StartsWith("reservation-controls", StringComparison.Ordinal) && r.Message.Contains("held after switch-over", StringComparison.Ordinal), ct);
            Assert.Equal(AuditKind.ActionSucceeded, applied.Kind);
            int shares = applied.Message.Contains("Critical", StringComparison.Ordinal) ? 2048 : applied.Message.Contains("BestEffort", StringComparison.Ordinal) ? 512 : 1024;
            Assert.Contains($"shares {shares}", applied.Message, StringComparison.Ordinal);
            var restored = await WaitForAsync(runtime, r => r.Message.StartsWith("reservation-controls", StringComparison.Ordinal) && r.Message.Contains("restored", StringComparison.Ordinal), ct);
            Assert.Equal(AuditKind.ActionSucceeded, restored.Kind);
            Assert.Contains("memory reservation 256 MiB", applied.Message, StringComparison.Ordinal); // memory tune soft_limit
            var (_, sched) = await hosts.VirshAsync(away.Value, "schedinfo", vm.Value);
            Assert.Contains("cpu_shares", sched, StringComparison.Ordinal);

            // Block I/O tune: the landed domain's disk weight followed its priority while the reservation held, and
            // came back to what it had (the fixture's domain: libvirt's 100) when it ended.
            Assert.Matches("disk weight (1000|500|100)", applied.Message);
            Assert.Contains("disk weight 100", restored.Message, StringComparison.Ordinal);
            var (blkioCode, blkio) = await hosts.VirshAsync(away.Value, "blkiotune", vm.Value);
            if (blkioCode == 0)
            {
                Assert.Matches(@"weight\s*:\s*100\b", blkio);
            }
            else
            {
                // This host's disks have no proportional I/O scheduler (bfq): libvirt can neither set nor read a weight.
                // The provider leaves the weight out and applies the other controls (above), instead of failing them all.
                Assert.Contains("bfq", blkio, StringComparison.Ordinal);
            }
            Assert.DoesNotContain(runtime.Reservations, s => s.Owner == vm.Value && s.Kind == Planning.ShadowSlots.ReservationKind.MigrationInFlight);
        }
        finally
        {
            await runtime.StopAsync(CancellationToken.None);
        }
    }

    private static async Task<AuditRecord> WaitForAsync(EcosystemRuntime runtime, Func<AuditRecord, bool> match, CancellationToken ct)
    {
        var until = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            var found = (await RuntimeOnLibvirtTests.TrailAsync(runtime, ct)).FirstOrDefault(r => r.Controller == "reservations" && match(r));
            if (found is not null || DateTime.UtcNow > until)
            {
                return found ?? throw new Xunit.Sdk.XunitException("The reservation controller did not audit the expected command in 30 s.");
            }

            await Task.Delay(250, ct);
        }
    }
}
