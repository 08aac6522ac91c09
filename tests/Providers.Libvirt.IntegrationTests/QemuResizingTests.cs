using System.Collections.Concurrent;
using Microsoft.Extensions.DependencyInjection;
using VmEcosystem.Adjustment;
using VmEcosystem.Cluster;
using VmEcosystem.Hosting;
using VmEcosystem.Hypervisor;
using VmEcosystem.Runtime;
using VmEcosystem.Runtime.Audit;

namespace VmEcosystem.Providers.Libvirt.IntegrationTests;

/// <summary>The resizing controller on real QEMU: a policy grows a running domain's vCPUs, memory and disk IOPS limit ahead of a forecast peak and shrinks memory and the limit back.</summary>
public sealed class QemuResizingTests(QemuHosts hosts) : IDisposable
{
    private const string Policy = """
        { "policies": [ { "name": "qemu-vm1", "select": { "names": ["vm1"] }, "priority": "critical", "horizon": "2s",
            "cpu":    { "growAbove": 0.8, "shrinkBelow": 0.25, "shrinkHold": "1h", "min": 0.5, "max": 2, "step": 0.25, "cooldown": "0s" },
            "memory": { "growAbove": 0.85, "shrinkBelow": 0.6, "shrinkHold": "3s", "min": 160, "max": 256, "step": 32, "cooldown": "0s" },
            "diskIops": { "growAbove": 0.8, "shrinkBelow": 0.5, "shrinkHold": "3s", "min": 50, "max": 2000, "step": 50, "cooldown": "0s" } } ] }
        """;

    private readonly string _dir = Directory.CreateTempSubdirectory("vmeco-qemu-resizing-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>
    /// The synthetic series, one value per pass (the guest itself is idle): quiet, a ramp over eight passes to 1.5
    /// cores, 215 MiB and 600 IOPS, a plateau, quiet again. Records what vm1 had when each value was read. (The hosts have the
    /// machine's 2 cores: vm1 can grow to 2 vCPUs without overcommitting.)
    /// </summary>
    private sealed class Series : IResizingUsageSource
    {
        public ConcurrentQueue<(int Pass, ResourceUse Use, int Vcpus, double MemoryMiB)> Seen { get; } = new();

        private int _pass;

        public static ResourceUse At(int k) =>
            k < 6 ? new(0.3, 100, 40) : k < 14 ? new(0.3 + (1.2 * (k - 5) / 8), 100 + (115.0 * (k - 5) / 8), 40 + (560.0 * (k - 5) / 8))
            : k < 20 ? new(1.5, 215, 600) : new(0.3, 100, 40);

        public ValueTask<ResourceUse?> GetUseAsync(VmInfo vm, CancellationToken cancellationToken)
        {
            if (vm.Id.Value != QemuHosts.Vm)
            {
                return ValueTask.FromResult<ResourceUse?>(null);
            }

            int k = Interlocked.Increment(ref _pass) - 1;
            var use = At(k);
            Seen.Enqueue((k, use, (int)vm.Allocation.CpuCores, vm.Allocation.MemoryMiB));
            return ValueTask.FromResult<ResourceUse?>(use);
        }
    }

    [Fact]
    public async Task A_policy_grows_vcpus_memory_and_disk_limit_ahead_of_the_forecast_peak_and_shrinks_memory_and_the_limit_back()
    {
        hosts.Require();
        var ct = TestContext.Current.CancellationToken;
        var vm = new VmId(QemuHosts.Vm);
        await hosts.ResetVmAsync(); // 1 vCPU: another test may have plugged one in, and libvirt here cannot unplug
        string policyFile = Path.Combine(_dir, "policies.json");
        await File.WriteAllTextAsync(policyFile, Policy, ct);
        var series = new Series();
        var services = new ServiceCollection();
        services.AddSingleton<IResizingUsageSource>(series);
        services.AddVmEcosystem(b => b
            .UseLibvirt(o =>
            {
                o.Hosts.Add(new LibvirtHostOptions { Name = "hosta", Uri = hosts.UriOf("hosta") });
                o.Hosts.Add(new LibvirtHostOptions { Name = "hostb", Uri = hosts.UriOf("hostb") });
            })
            .UseResizingPolicies(o =>
            {
                o.PolicyFile = policyFile;
                o.Interval = TimeSpan.FromSeconds(1);
            })
            .ConfigureRuntime(o =>
            {
                o.Mode = ExecutionMode.Automatic;
                o.PlanningInterval = TimeSpan.FromHours(1); // nothing moves: this test is about sizes
                o.PlanOnForecastAbove = null;
                o.PlanOnInventoryChange = false;
                o.MetricsInterval = TimeSpan.FromSeconds(1); // the executor re-checks actions against an observed cluster
            }));
        await using var container = services.BuildServiceProvider();
        var runtime = container.GetRequiredService<EcosystemRuntime>();
        var hypervisor = container.GetRequiredService<IHypervisor>();
        var home = (await hypervisor.GetInventoryAsync(ct)).Placements.Single(p => p.Vm == vm).Host;
        int startVcpus = (int)(await hypervisor.GetInventoryAsync(ct)).Vms.Single(v => v.Id == vm).Allocation.CpuCores;
        Assert.Equal(1, startVcpus);
        await runtime.StartAsync(ct);
        try
        {
            var until = DateTime.UtcNow.AddMinutes(2);
            while (series.Seen.Count < 45 && DateTime.UtcNow < until)
            {
                await Task.Delay(250, ct);
            }

            var seen = series.Seen.ToArray();
            var trail = await RuntimeOnLibvirtTests.TrailAsync(runtime, ct);
            string Dump() => string.Join("\n", seen.Select(s => $"pass {s.Pass}: use {s.Use}, had {s.Vcpus} vCPUs {s.MemoryMiB} MiB"))
                + "\n" + string.Join("\n", trail.Where(r => r.Controller == "resizing").Select(r => $"{r.Kind} {r.Message}"));
            Assert.True(seen.Length >= 45, "the controller made fewer than 45 passes in 2 minutes\n" + Dump());

            // Ahead of the peak: through the ramp and the plateau, every value read found the VM already sized for it.
            foreach (var s in seen.Where(s => s.Pass is >= 6 and < 20))
            {
                Assert.True(s.Vcpus >= s.Use.CpuCores && s.MemoryMiB >= s.Use.MemoryMiB, $"pass {s.Pass} was short\n" + Dump());
            }

            Assert.Contains(seen, s => s.Vcpus == 2 && s.MemoryMiB >= 224);
            Assert.Contains(seen, s => s.Pass < 8 && s.MemoryMiB <= 192); // quiet: shrunk before the peak
            Assert.True(seen[^1].MemoryMiB <= 192, "memory shrank back after the peak\n" + Dump());

            // Visible through libvirt: the live vCPU count and the balloon's target.
            var (_, count) = await hosts.VirshAsync(home.Value, "vcpucount", vm.Value, "--live", "--active");
            Assert.Equal("2", count.Trim());
            var (_, info) = await hosts.VirshAsync(home.Value, "dominfo", vm.Value);
            var used = info.Split('\n').Single(l => l.StartsWith("Used memory:", StringComparison.Ordinal));
            Assert.True(int.Parse(used.Split(':')[1].Trim().Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture) <= 192 * 1024, used);

            // And in the audit, with the policy and its version.
            var version = container.GetRequiredService<Policies.ResizePolicyStore>().Current.Version;
            Assert.Contains(trail, r => r.Kind == AuditKind.PolicyVersionInUse && r.Message.Contains(version, StringComparison.Ordinal));
            Assert.Contains(trail, r => r.Kind == AuditKind.ActionSucceeded && r.Controller == "resizing" && r.Message.Contains("has 2 vCPUs", StringComparison.Ordinal));
            Assert.Contains(trail, r => r.Kind == AuditKind.DecisionPlanned && r.Message.Contains("shrank vm1 memory", StringComparison.Ordinal)
                && r.Message.Contains($"policy qemu-vm1 version {version}", StringComparison.Ordinal));
            var diskGrows = trail.Where(r => r.Kind == AuditKind.DecisionPlanned).Select(r => System.Text.RegularExpressions.Regex.Match(r.Message, @"grew vm1 diskiops from \d+ to (\d+)"))
                .Where(m => m.Success).Select(m => int.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture)).ToList();
            Assert.True(diskGrows.Count > 0 && diskGrows.Max() >= 750, "the IOPS limit did not grow ahead of the 600 IOPS peak\n" + Dump());
            Assert.Contains(trail, r => r.Kind == AuditKind.ActionSucceeded && r.Message.Contains("disk limit", StringComparison.Ordinal));

            // The IOPS limit as libvirt has it: shrunk back below the peak's (the forecast's interval, wide after the
            // drop, keeps it above the quiet use for a while), never below the policy's minimum.
            var (_, tune) = await hosts.VirshAsync(home.Value, "blkdeviotune", vm.Value, "vda");
            var iops = tune.Split('\n').Single(l => l.StartsWith("total_iops_sec ", StringComparison.Ordinal) || l.StartsWith("total_iops_sec:", StringComparison.Ordinal));
            Assert.InRange(long.Parse(iops.Split(':')[1].Trim(), System.Globalization.CultureInfo.InvariantCulture), 50, diskGrows.Max() - 1);
        }
        finally
        {
            await runtime.StopAsync(CancellationToken.None);
            await hypervisor.HotPlugAsync(vm, new HotPlugRequest(MemoryMiB: 256), CancellationToken.None); // leave the balloon as the fixture made it
            await hypervisor.SetResourceControlsAsync(vm, new ResourceControls { CpuQuota = double.PositiveInfinity, DiskIopsLimit = double.PositiveInfinity }, CancellationToken.None);
        }
    }
}
