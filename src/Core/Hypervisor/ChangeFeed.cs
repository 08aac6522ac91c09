using System.Runtime.CompilerServices;
using System.Threading.Channels;

namespace VmEcosystem.Hypervisor;

/// <summary>
/// A change stream that knows how many published changes its consumer has not finished with (a change counts until
/// the consumer asks for the next one). The runtime's quiescence uses it: a virtual-clock driver never advances
/// while a change the runtime has not processed is on its way.
/// </summary>
internal interface IChangeBacklog
{
    int Backlog { get; }
}

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
                if (s.Channel.Writer.TryWrite(change))
                {
                    Interlocked.Increment(ref s.Unacknowledged);
                }
                else
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
        return new Subscription(ReadAsync(subscriber, cancellationToken), subscriber);
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
                    Interlocked.Decrement(ref subscriber.Unacknowledged); // the consumer is back for the next one
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
        Volatile.Write(ref subscriber.Unacknowledged, 0); // nobody will consume what is left
    }

    private sealed class Subscription(IAsyncEnumerable<InventoryChange> stream, Subscriber subscriber) : IAsyncEnumerable<InventoryChange>, IChangeBacklog
    {
        public int Backlog => Math.Max(0, Volatile.Read(ref subscriber.Unacknowledged));

        public IAsyncEnumerator<InventoryChange> GetAsyncEnumerator(CancellationToken cancellationToken = default) => stream.GetAsyncEnumerator(cancellationToken);
    }

    private sealed class Subscriber(Channel<InventoryChange> channel)
    {
        public Channel<InventoryChange> Channel { get; } = channel;

        public volatile bool Overflowed;

        public int Unacknowledged;
    }
}
