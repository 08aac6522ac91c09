using VmEcosystem.Cluster;
using VmEcosystem.Hypervisor;

namespace VmEcosystem.Providers.Libvirt.Tests;

/// <summary>
/// Lifecycle-event processing (issue 14, defect 6): it survives any error in a handler, its queue is bounded and an
/// overflow asks watchers to resync, and a bad option is refused naming the setting.
/// </summary>
public sealed class EventPumpTests
{
    private const int Defined = 0, Started = 2;

    private static async Task<InventoryChange> NextAsync(IAsyncEnumerator<InventoryChange> changes, Func<InventoryChange, bool> match)
    {
        while (await changes.MoveNextAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(20), TestContext.Current.CancellationToken))
        {
            if (match(changes.Current))
            {
                return changes.Current;
            }
        }

        throw new InvalidOperationException("the change feed ended");
    }

    [Fact]
    public async Task An_event_whose_handling_throws_is_counted_and_the_next_events_are_still_handled()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var provider = TestDriverFixture.Create();
        await provider.GetInventoryAsync(ct);
        await using var changes = provider.WatchInventoryAsync(ct).GetAsyncEnumerator(ct);
        var first = changes.MoveNextAsync(); // subscribed before the events are injected
        await Task.Delay(50, ct);

        // An event for a host the provider does not manage throws inside the handler (it used to end the pump for good).
        provider.OnLifecycleEvent(new DomainLifecycleEvent(new HostId("no-such-host"), "web1", Started, 0));
        provider.OnLifecycleEvent(new DomainLifecycleEvent(new HostId("host-a"), "web1", Defined, 0));

        Assert.True(await first.AsTask().WaitAsync(TimeSpan.FromSeconds(20), ct));
        var change = changes.Current is VmUpdated ? changes.Current : await NextAsync(changes, c => c is VmUpdated);
        Assert.Equal(new VmId("web1"), ((VmUpdated)change).Vm.Id);
        Assert.Equal(1, provider.EventErrors);
    }

    [Fact]
    public async Task An_overflowing_event_queue_drops_events_and_asks_for_one_resync()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var provider = TestDriverFixture.Create(o => o.EventQueueCapacity = 16);
        await provider.GetInventoryAsync(ct);
        await using var changes = provider.WatchInventoryAsync(ct).GetAsyncEnumerator(ct);
        var first = changes.MoveNextAsync();
        await Task.Delay(50, ct);

        for (int i = 0; i < 5000; i++)
        {
            provider.OnLifecycleEvent(new DomainLifecycleEvent(new HostId("host-a"), "web1", Defined, 0));
        }

        Assert.True(provider.EventsDropped > 0, "nothing was dropped");
        Assert.True(await first.AsTask().WaitAsync(TimeSpan.FromSeconds(20), ct));
        var resync = changes.Current as InventoryResyncRequired ?? (InventoryResyncRequired)await NextAsync(changes, c => c is InventoryResyncRequired);
        Assert.Contains("EventQueueCapacity 16", resync.Reason, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("CallTimeout")]
    [InlineData("ConnectTimeout")]
    [InlineData("MaxCallsPerHost")]
    [InlineData("EventQueueCapacity")]
    public void Bounds_of_the_call_and_event_settings_are_checked_naming_the_setting(string setting)
    {
        var options = new LibvirtOptions { Hosts = [TestDriverFixture.HostA] };
        switch (setting)
        {
            case "CallTimeout": options.CallTimeout = TimeSpan.Zero; break;
            case "ConnectTimeout": options.ConnectTimeout = TimeSpan.FromDays(1); break;
            case "MaxCallsPerHost": options.MaxCallsPerHost = 0; break;
            default: options.EventQueueCapacity = 1; break;
        }

        var result = new LibvirtOptionsValidator().Validate(null, options);
        Assert.True(result.Failed);
        Assert.Contains($"VmEcosystem:Libvirt:{setting}", result.FailureMessage, StringComparison.Ordinal);
    }
}
