using System.Runtime.CompilerServices;
using System.Threading.Channels;

namespace VmEcosystem.Hypervisor;

/// <summary>
/// Broadcasts inventory changes to any number of subscribers, each through its own bounded channel. A subscriber
/// that falls behind loses events but is told so with <see cref="InventoryResyncRequired"/>, so memory stays
/// bounded and nobody silently works from a stale inventory.
/// </summary>
internal sealed class ChangeFeed(int capacity, TimeProvider timeProvider)
{
    private readonly Lock _gate = new();
    private readonly List<Subscriber> _subscribers = [];
    private bool _completed;

    public int SubscriberCount
    {
        get
        {
            lock (_gate)
            {
                return _subscribers.Count;
            }
        }
    }

    public void Publish(InventoryChange change)
    {
        lock (_gate)
        {
            foreach (var s in _subscribers)
            {
                if (!s.Channel.Writer.TryWrite(change))
                {
                    s.Overflowed = true;
                }
            }
        }
    }

    public void Complete()
    {
        lock (_gate)
        {
            _completed = true;
            foreach (var s in _subscribers)
            {
                s.Channel.Writer.TryComplete();
            }
        }
    }

    /// <summary>
    /// Subscribes now (events published from this call on are kept) and returns the stream; the subscription
    /// ends when the stream is disposed, <paramref name="cancellationToken"/> fires, or the feed completes.
    /// </summary>
    public IAsyncEnumerable<InventoryChange> Subscribe(CancellationToken cancellationToken)
    {
        var subscriber = new Subscriber(Channel.CreateBounded<InventoryChange>(new BoundedChannelOptions(capacity)
        {
            FullMode = BoundedChannelFullMode.Wait, // TryWrite fails when full; Publish then flags the overflow.
            SingleReader = true,
        }));
        lock (_gate)
        {
            if (_completed)
            {
                subscriber.Channel.Writer.TryComplete();
            }
            else
            {
                _subscribers.Add(subscriber);
            }
        }

        cancellationToken.Register(() => Unsubscribe(subscriber));
        return ReadAsync(subscriber, cancellationToken);
    }

    private async IAsyncEnumerable<InventoryChange> ReadAsync(Subscriber subscriber, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        try
        {
            var reader = subscriber.Channel.Reader;
            while (await reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
            {
                while (reader.TryRead(out var change))
                {
                    yield return change;
                    if (subscriber.Overflowed)
                    {
                        subscriber.Overflowed = false;
                        yield return new InventoryResyncRequired(
                            $"The consumer fell behind by more than {capacity} inventory events; some were dropped.")
                        {
                            Timestamp = timeProvider.GetUtcNow(),
                        };
                    }
                }
            }
        }
        finally
        {
            Unsubscribe(subscriber);
        }
    }

    private void Unsubscribe(Subscriber subscriber)
    {
        lock (_gate)
        {
            _subscribers.Remove(subscriber);
        }

        subscriber.Channel.Writer.TryComplete();
    }

    private sealed class Subscriber(Channel<InventoryChange> channel)
    {
        public Channel<InventoryChange> Channel { get; } = channel;

        public volatile bool Overflowed;
    }
}
