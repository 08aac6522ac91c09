using VmEcosystem.Cluster;
using VmEcosystem.Planning;

namespace VmEcosystem.Tests.Planning;

public sealed class PlanningStateTests
{
    private static PlanningState TwoHosts()
    {
        var s = new PlanningState();
        s.Reset(2, 3, 30);
        s.SetHost(0, new HostId("h0"), 2000, 2, 4096, 1000, SpecPowerModel.HpProLiantMl110G4, true);
        s.SetHost(1, new HostId("h1"), 2000, 2, 4096, 1000, SpecPowerModel.HpProLiantMl110G4, true);
        s.SetVm(0, new VmId("a"), 1000, 1, 512, 900, 900, 0, -1, true);
        s.SetVm(1, new VmId("b"), 1000, 1, 512, 800, 800, 0, -1, true);
        s.SetVm(2, new VmId("c"), 1000, 1, 512, 700, 700, 1, -1, true);
        s.SetHistory(0, [0.9, 0.8]);
        s.SetHistory(1, [0.8, 0.7]);
        s.SetHistory(2, [0.7]);
        s.AppendToHost(0, 0);
        s.AppendToHost(0, 1);
        s.AppendToHost(1, 2);
        s.SetHostState(0, 0.85, 2000 - 900 - 800, false);
        s.SetHostState(1, 0.35, 1300, false);
        return s;
    }

    [Fact]
    public void Placing_a_vm_that_does_not_fit_oversubscribes_and_scales_everyone()
    {
        var s = TwoHosts();
        Assert.False(s.HasCpuFor(2, 0));
        s.Place(2, 0);
        // 900 + 800 + 700 = 2400 > 2000: every VM gets floor(request × 2000 / 2400).
        Assert.Equal(Math.Floor(900 * (2000.0 / 2400)), s.VmAllocatedMips[0]);
        Assert.Equal(0, s.HostAvailableMips[0]);
        s.Remove(2, 0);
        Assert.Equal(900, s.VmAllocatedMips[0]);
        Assert.Equal(300, s.HostAvailableMips[0]);
    }

    [Fact]
    public void Host_history_is_the_mips_weighted_sum_of_vm_histories()
    {
        var s = TwoHosts();
        var h = s.HostHistory(0).ToArray();
        Assert.Equal([(0.9 * 1000 / 2000) + (0.8 * 1000 / 2000), (0.8 * 1000 / 2000) + (0.7 * 1000 / 2000)], h);
        Span<double> with = stackalloc double[30];
        int n = s.HostHistoryWith(0, 2, with);
        Assert.Equal(2, n);
        Assert.Equal(h[0] + (0.7 * 1000 / 2000), with[0]);
        s.Place(2, 0);
        Assert.Equal(with[..2].ToArray(), s.HostHistory(0).ToArray());
    }
}
