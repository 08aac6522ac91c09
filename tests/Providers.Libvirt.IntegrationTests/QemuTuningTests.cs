using Microsoft.Extensions.DependencyInjection;
using VmEcosystem.Cluster;
using VmEcosystem.Hosting;
using VmEcosystem.Hypervisor;
using VmEcosystem.Runtime;
using VmEcosystem.Runtime.Tuning;

namespace VmEcosystem.Providers.Libvirt.IntegrationTests;

/// <summary>
/// A tuning run whose configurations are applied to a real QEMU domain through the libvirt provider (CPU quota as a
/// resource control, memory through the balloon) before each measurement. The "benchmark" reads back what libvirt
/// has (the domain's scheduler quota), so every measurement shows the configuration really reached the domain.
/// </summary>
public sealed class QemuTuningTests(QemuHosts hosts)
{
    private const string Space = """
        genes:
          - { name: quota, type: real, min: 0.25, max: 1, step: 0.25 }
          - { name: memoryMiB, type: int, min: 192, max: 256, step: 32 }
        """;

    [Fact]
    public async Task A_tuning_run_applies_each_configuration_to_the_domain_through_the_provider_and_improves_on_its_baseline()
    {
        hosts.Require();
        var ct = TestContext.Current.CancellationToken;
        var vm = new VmId(QemuHosts.Vm);
        await hosts.ResetVmAsync();
        var services = new ServiceCollection();
        services.AddVmEcosystem(b => b
            .UseLibvirt(o =>
            {
                o.Hosts.Add(new LibvirtHostOptions { Name = "hosta", Uri = hosts.UriOf("hosta") });
                o.Hosts.Add(new LibvirtHostOptions { Name = "hostb", Uri = hosts.UriOf("hostb") });
            })
            .AddConfigurationTuning()
            .AddBenchmarkTuningEvaluator("libvirt-readback", o =>
            {
                // Runs on this machine and asks libvirt what the domain's CPU quota is: "events per second" = quota in ms per 100 ms period.
                o.FileName = "/bin/sh";
                o.Arguments = ["-c", $"virsh -q -c '{hosts.UriOf("hosta")}' schedinfo {QemuHosts.Vm} --live | awk -F: '/global_quota/ {{ gsub(/ /, \"\", $2); print \"events per second: \" $2 / 1000 }}'"];
                o.CpuQuotaCoresSetting = "quota";
                o.MemoryMiBSetting = "memoryMiB";
            }));
        await using var container = services.BuildServiceProvider();
        var runs = container.GetRequiredService<ITuningRuns>();
        runs.Start(new TuningRunRequest
        {
            Id = "qemu",
            SearchSpace = Space,
            Goals = [new("eventsPerSecond", TuningGoalDirection.Maximize, 0.7), new("config.memoryMiB", TuningGoalDirection.Minimize, 0.3)],
            Baseline = new Dictionary<string, string> { ["quota"] = "0.25", ["memoryMiB"] = "256" },
            Evaluator = "libvirt-readback",
            Vm = vm,
            Population = 6,
            Generations = 3,
            GuidedCandidates = 0,
            Seed = 5,
            EvaluationTimeout = TimeSpan.FromMinutes(1),
        });
        var done = await runs.WaitAsync("qemu", ct).WaitAsync(TimeSpan.FromMinutes(5), ct);
        var evaluations = runs.Evaluations("qemu");
        string Dump() => string.Join("\n", evaluations.Select(e => $"{e.Index}: {string.Join(", ", e.Settings)} -> {string.Join(", ", e.Metrics)} score {e.Score} {e.Error}"));
        Assert.True(done.State == TuningRunState.Completed, $"{done.State} {done.Error}\n{Dump()}");
        Assert.All(evaluations, e => Assert.Null(e.Error));

        // Every measurement read back the quota that configuration asked for: it reached the domain.
        foreach (var e in evaluations)
        {
            double quota = double.Parse(e.Settings["quota"], System.Globalization.CultureInfo.InvariantCulture);
            Assert.True(Math.Abs(e.Metrics["eventsPerSecond"] - (quota * 100)) < 0.5, Dump());
        }

        Assert.Equal(25, evaluations[0].Metrics["eventsPerSecond"], 1);
        Assert.True(done.Best!.Score < 0.8, $"best {done.Best.Score}\n{Dump()}");

        // The last configuration measured is the domain's now, as the provider reports it.
        // (the balloon takes a moment to reach its target)
        double asked = double.Parse(evaluations[^1].Settings["memoryMiB"], System.Globalization.CultureInfo.InvariantCulture), has;
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while ((has = (await container.GetRequiredService<IHypervisor>().GetInventoryAsync(ct)).Vms.Single(v => v.Id == vm).Allocation.MemoryMiB) != asked
            && DateTime.UtcNow < deadline)
        {
            await Task.Delay(250, ct);
        }

        Assert.Equal(asked, has);

        // And what was measured on the test VM is in the runtime's metric store.
        Assert.Equal(evaluations.Count, container.GetRequiredService<ApplicationMetricStore>().History(vm).Count(s => s.Source == "tuning:qemu"));
    }
}
