using VmEcosystem.Cluster;
using VmEcosystem.Reservations;
using VmEcosystem.Simulation;

namespace VmEcosystem.Tests.Simulation;

/// <summary>The simulator's migrations under the pre-copy model: the model's time, shared links, the dirty rate the planner sees.</summary>
public sealed class PreCopySimulationTests
{
    // Links of 2048 Mbit/s with half for migrations: 128 MiB/s per move, as in the model's hand-computed case.
    private static SimulationScenario Scenario(SimulationModel model, double? dirty)
    {
        var hosts = Enumerable.Range(0, 3)
            .Select(h => new HostInfo(new HostId($"h{h}"), new ResourceVector(4, 8000, 8192, 2048, 1)))
            .ToArray();
        double[] Constant(double u) => Enumerable.Repeat(u, 4).ToArray();
        var vms = Enumerable.Range(0, 2)
            .Select(v => new SimulatedVm(new VmInfo(new VmId($"vm{v}"), new ResourceVector(1, 1000, 1024)), new DemandTrace($"vm{v}", Constant(0.5), 300))
            {
                DirtyMiBps = dirty,
            })
            .ToArray();
        return new SimulationScenario("pre-copy", hosts, vms, model with { DurationSeconds = 900 });
    }

    [Fact]
    public void A_move_takes_the_models_time_and_a_second_move_on_the_same_link_gets_half_the_bandwidth()
    {
        var scenario = Scenario(SimulationModel.Realistic, dirty: 32);
        var sim = new ClusterSimulation(scenario, [0, 0]);
        Assert.True(sim.AdvanceToNextTick());
        double now = sim.Now;
        Assert.Equal(now + 10.645, sim.StartMigration(0, 1), 9); // rounds 1024, 256, 64 MiB; 16 MiB paused
        var shared = new PreCopyMigrationModel().Estimate(1024, 32, 64);
        Assert.Equal(now + shared.TotalSeconds, sim.StartMigration(1, 2), 9); // same source link, now shared by two
        Assert.Equal(32, sim.DirtyRate(0));

        while (sim.AdvanceToNextTick())
        {
        }

        sim.Finish();
        var summary = sim.Summary();
        Assert.Equal((10.645 + shared.TotalSeconds) / 2, summary.MeanMigrationSeconds!.Value, 9);
        Assert.Equal((145 + (shared.DowntimeSeconds * 1000)) / 2, summary.MeanDowntimeMs!.Value, 6);
        Assert.Equal(0, summary.UnconvergedMigrations);
    }

    [Fact]
    public void A_vm_with_local_storage_copies_its_disk_first_writing_on_the_destinations_disk_and_a_slower_copy_stretches_the_rest()
    {
        var scenario = Scenario(SimulationModel.Realistic, dirty: 32);
        scenario = new SimulationScenario(scenario.Name, scenario.Hosts, [scenario.Vms[0] with { StorageMiB = 8192 }, scenario.Vms[1]], scenario.Model);
        var sim = new ClusterSimulation(scenario, [0, 0]);
        Assert.True(sim.AdvanceToNextTick());
        double now = sim.Now;

        // No disk writes (the VM has no disk I/O): one disk round of 8192 MiB at 128 MiB/s (64 s), then the memory's 10.645 s.
        Assert.Equal(new StorageCopy(8192, 0), sim.StorageCopyOf(0));
        Assert.Equal(now + 64 + 10.645, sim.StartMigration(0, 1), 9);
        Assert.Equal(128 * 1024 / 64.0, sim.CopyDiskIops(0)); // 64 KiB writes on the destination while the disk goes
        Assert.Equal(0, sim.CopyDiskIops(1)); // not moving

        // Halfway through the disk the copy is capped at 64 MiB/s: 4096 MiB of disk left (64 s), then the memory at 64 MiB/s.
        sim.AdvanceTo(now + 32);
        double end = sim.SetMigrationBandwidth(0, 512);
        Assert.Equal(now + 32 + 64 + new PreCopyMigrationModel().Estimate(1024, 32, 64).TotalSeconds, end, 6);
        Assert.Equal(64 * 1024 / 64.0, sim.CopyDiskIops(0));

        sim.AdvanceTo(now + 32 + 65); // the memory rounds: received pages land in RAM
        Assert.Equal(0, sim.CopyDiskIops(0));
        sim.AdvanceTo(end + 1);
        Assert.Equal(1, sim.HostOf(0));
        Assert.Equal(0, sim.CopyDiskIops(0));
    }

    [Fact]
    public void The_copy_costs_cpu_on_both_hosts_in_proportion_to_its_rate_and_a_slower_copy_costs_less()
    {
        var sim = new ClusterSimulation(Scenario(SimulationModel.Realistic, dirty: 32), [0, 0]);
        Assert.True(sim.AdvanceToNextTick());
        Assert.Equal(1000 / 8000.0, sim.HostUtilization(0), 9); // two VMs at 500 MHz
        sim.StartMigration(0, 1);

        // 128 MiB/s: the source adds 10 MHz per MiB/s (the VM keeps its request), the target 6 MHz per MiB/s (not the VM's CloudSim share).
        Assert.Equal(128, sim.CopyRate(0));
        Assert.Equal((1000 + 1280) / 8000.0, sim.HostUtilization(0), 9);
        Assert.Equal(768 / 8000.0, sim.HostUtilization(1), 9);

        sim.SetMigrationBandwidth(0, 256); // 32 MiB/s
        Assert.Equal((1000 + 320) / 8000.0, sim.HostUtilization(0), 9);
        Assert.Equal(192 / 8000.0, sim.HostUtilization(1), 9);

        sim.AdvanceTo(sim.MigrationEndTime(0) + 1);
        Assert.Equal(0, sim.CopyRate(0));
        Assert.Equal(500 / 8000.0, sim.HostUtilization(0), 9);
        Assert.Equal(500 / 8000.0, sim.HostUtilization(1), 9);
    }

    [Fact]
    public void Without_a_known_rate_the_workload_class_gives_one_and_the_planner_sees_it()
    {
        var sim = new ClusterSimulation(Scenario(SimulationModel.Realistic, dirty: null), [0, 0]);
        Assert.True(sim.AdvanceToNextTick());
        // Steady at half load: 0.5 MiB/s + 0.005 x 1024 MiB x 0.5.
        Assert.Equal(0.5 + (0.005 * 1024 * 0.5), sim.DirtyRate(0), 9);
        var state = new VmEcosystem.Planning.PlanningState();
        sim.CapturePlanningState(state);
        Assert.Equal(sim.DirtyRate(0), state.DirtyMiBps(0), 9);
    }

    [Fact]
    public void A_bandwidth_change_re_estimates_the_rest_of_the_move()
    {
        var sim = new ClusterSimulation(Scenario(SimulationModel.Realistic, dirty: 0), [0, 0]);
        Assert.True(sim.AdvanceToNextTick());
        double t0 = sim.Now;
        Assert.Equal(t0 + 1024.02, sim.StartMigration(0, 1, bandwidthCapMbps: 8), 6); // 1 MiB/s: 1024 s and the switch-over
        sim.AdvanceTo(t0 + 100);

        // 100 of 1024.02 s gone: the rest of the memory at 512 Mbit/s (64 MiB/s, under the link's 128).
        double left = 1024 * (1 - (100 / 1024.02));
        double end = sim.SetMigrationBandwidth(0, 512);
        Assert.Equal(t0 + 100 + (left / 64) + 0.02, end, 6);
        Assert.Equal(end, sim.MigrationEndTime(0), 9);
        Assert.Throws<InvalidOperationException>(() => sim.SetMigrationBandwidth(1, 512)); // not migrating

        while (sim.AdvanceToNextTick())
        {
        }

        sim.Finish();
        Assert.Equal(1, sim.Summary().Migrations);
        Assert.Equal(end - t0, sim.Summary().MeanMigrationSeconds!.Value, 6);
        Assert.Equal(1, sim.HostOf(0));
    }

    [Fact]
    public void CloudSims_model_keeps_memory_over_half_the_bandwidth_and_reports_no_rates()
    {
        var sim = new ClusterSimulation(Scenario(SimulationModel.CloudSimCompatible, dirty: 32), [0, 0]);
        Assert.True(sim.AdvanceToNextTick());
        Assert.Equal(sim.Now + 8, sim.StartMigration(0, 1), 9); // 1024 MiB / 128 MiB/s, dirty rate ignored
        Assert.Equal(0, sim.DirtyRate(0));
        Assert.Null(sim.Summary().MeanMigrationSeconds);
        Assert.Throws<InvalidOperationException>(() => sim.StartMigration(1, 2, bandwidthCapMbps: 100)); // nothing to tune
    }
}
