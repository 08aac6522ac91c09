using VmEcosystem.Providers.Libvirt.Metrics;

namespace VmEcosystem.Providers.Libvirt.Tests;

public sealed class CounterRatesTests
{
    private static CounterReading Cpu(double ns, double rx = 0) => new(ns, 0, rx, 0, 0, 0, 0, 0);

    [Fact]
    public void Rates_are_deltas_over_elapsed_time()
    {
        var rates = new CounterRates<string>();
        Assert.Null(rates.Update("vm", Cpu(1e9, 1000), 0, 1000));
        var rate = rates.Update("vm", Cpu(2.5e9, 3000), 2000, 1000); // 2 s later: 1.5 CPU-s, 2000 bytes
        Assert.NotNull(rate);
        Assert.Equal(0.75, rate.Value.CpuSecondsPerSecond, 9);
        Assert.Equal(1000, rate.Value.RxBytesPerSecond, 9);
    }

    [Fact]
    public void A_counter_reset_after_migration_restarts_the_baseline_instead_of_a_negative_rate()
    {
        var rates = new CounterRates<string>();
        rates.Update("vm", Cpu(50e9), 0, 1000);
        Assert.Null(rates.Update("vm", Cpu(0.2e9), 1000, 1000)); // new QEMU process on the destination
        var rate = rates.Update("vm", Cpu(0.7e9), 2000, 1000);
        Assert.Equal(0.5, rate!.Value.CpuSecondsPerSecond, 9);
    }

    [Fact]
    public void Host_busy_fraction_uses_total_time_and_stays_in_range()
    {
        var rates = new CounterRates<string>();
        rates.Update("h", new CounterReading(100, 1000, 0, 0, 0, 0, 0, 0), 0, 1000);
        var rate = rates.Update("h", new CounterReading(400, 2000, 0, 0, 0, 0, 0, 0), 1000, 1000);
        Assert.Equal(0.3, rate!.Value.BusyFraction, 9);
        rates.Forget("h");
        Assert.False(rates.HasBaseline("h"));
    }
}
