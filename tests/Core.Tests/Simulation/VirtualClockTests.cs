using VmEcosystem.Simulation;

namespace VmEcosystem.Tests.Simulation;

public sealed class VirtualClockTests
{
    [Fact]
    public void Timers_fire_in_due_order_with_the_clock_at_their_due_time()
    {
        var clock = new VirtualClock();
        var start = clock.GetUtcNow();
        var fired = new List<(string, TimeSpan)>();
        using var a = clock.CreateTimer(_ => fired.Add(("a", clock.GetUtcNow() - start)), null, TimeSpan.FromSeconds(10), Timeout.InfiniteTimeSpan);
        using var b = clock.CreateTimer(_ => fired.Add(("b", clock.GetUtcNow() - start)), null, TimeSpan.FromSeconds(3), TimeSpan.FromSeconds(4));
        clock.Advance(TimeSpan.FromSeconds(12));
        Assert.Equal([("b", TimeSpan.FromSeconds(3)), ("b", TimeSpan.FromSeconds(7)), ("a", TimeSpan.FromSeconds(10)), ("b", TimeSpan.FromSeconds(11))], fired);
        Assert.Equal(start + TimeSpan.FromSeconds(12), clock.GetUtcNow());
    }

    [Fact]
    public async Task Task_delay_completes_when_the_clock_passes_it()
    {
        var clock = new VirtualClock();
        var delay = Task.Delay(TimeSpan.FromMinutes(5), clock);
        clock.Advance(TimeSpan.FromMinutes(4));
        Assert.False(delay.IsCompleted);
        clock.Advance(TimeSpan.FromMinutes(1));
        await delay.WaitAsync(TimeSpan.FromSeconds(5));
    }

    [Fact]
    public void Disposed_timers_never_fire_and_the_clock_never_goes_back()
    {
        var clock = new VirtualClock();
        int count = 0;
        var t = clock.CreateTimer(_ => count++, null, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1));
        clock.Advance(TimeSpan.FromSeconds(2));
        t.Dispose();
        clock.Advance(TimeSpan.FromSeconds(5));
        Assert.Equal(2, count);
        Assert.Throws<ArgumentOutOfRangeException>(() => clock.AdvanceTo(clock.GetUtcNow().AddSeconds(-1)));
    }
}
