using System.Threading.Channels;

namespace VmEcosystem.Runtime;

/// <summary>
/// A bounded channel between two controllers that keeps the quiescence count: an item is runnable work while its
/// consumer waits to read, and a dropped item is no longer queued.
/// </summary>
internal sealed class QuietChannel<T>
{
    private readonly Quiescence _quiet;
    private readonly int _queue;
    private readonly Channel<T> _channel;

    public QuietChannel(Quiescence quiet, int queue, int capacity, BoundedChannelFullMode fullMode, Action<T> dropped)
    {
        _quiet = quiet;
        _queue = queue;
        _channel = Channel.CreateBounded<T>(
            new BoundedChannelOptions(capacity) { FullMode = fullMode, SingleReader = true, SingleWriter = true },
            item =>
            {
                dropped(item);
                _quiet.Dequeued(_queue);
            });
    }

    public int Count => _channel.Reader.Count;

    /// <summary>Writes, waiting for room when the channel waits on full (not counted busy meanwhile).</summary>
    public async Task WriteAsync(T item, CancellationToken cancellationToken)
    {
        _quiet.Queued(_queue);
        if (_channel.Writer.TryWrite(item))
        {
            return;
        }

        try
        {
            await _quiet.Waiting(_channel.Writer.WriteAsync(item, cancellationToken).AsTask()).ConfigureAwait(false);
        }
        catch
        {
            _quiet.Dequeued(_queue);
            throw;
        }
    }

    /// <summary>The next item, or false once the channel is completed (the runtime is stopping).</summary>
    public async Task<(bool Read, T Item)> ReadAsync(CancellationToken cancellationToken)
    {
        var reader = _channel.Reader;
        if (!reader.TryRead(out var item))
        {
            if (!await _quiet.WaitingToRead(_queue, reader.WaitToReadAsync(cancellationToken).AsTask()).ConfigureAwait(false) || !reader.TryRead(out item))
            {
                return (false, default!);
            }
        }

        // Taken: the consumer is busy until it has handled it.
        _quiet.Dequeued(_queue);
        return (true, item);
    }

    public void Complete() => _channel.Writer.TryComplete();
}

/// <summary>
/// Proposals waiting for the execution controller, at most <c>perController</c> of each controller: a newer
/// proposal supersedes its controller's oldest unexecuted one, never another controller's.
/// </summary>
internal sealed class ProposalQueue(Quiescence quiet, int perController, Action<Proposal> superseded)
{
    private readonly Lock _gate = new();
    private readonly LinkedList<Proposal> _items = new();
    private TaskCompletionSource<bool>? _waiter;
    private bool _completed;

    public int Count
    {
        get
        {
            lock (_gate)
            {
                return _items.Count;
            }
        }
    }

    /// <summary>Proposals of <paramref name="controller"/> waiting to be taken.</summary>
    public int CountOf(string controller)
    {
        lock (_gate)
        {
            return _items.Count(p => p.Controller == controller);
        }
    }

    public void Add(Proposal proposal)
    {
        Proposal? dropped = null;
        TaskCompletionSource<bool>? waiter;
        lock (_gate)
        {
            if (_completed)
            {
                return;
            }

            if (proposal.Supersedable && _items.Count(p => p.Controller == proposal.Controller && p.Supersedable) >= perController)
            {
                dropped = _items.First(p => p.Controller == proposal.Controller && p.Supersedable);
                _items.Remove(dropped);
            }

            _items.AddLast(proposal);
            quiet.Queued(Quiescence.Plans);
            waiter = _waiter;
            _waiter = null;
        }

        if (dropped is not null)
        {
            superseded(dropped);
            quiet.Dequeued(Quiescence.Plans);
        }

        waiter?.TrySetResult(true);
    }

    /// <summary>The oldest proposal, or false once completed and empty.</summary>
    public async Task<(bool Read, Proposal? Item)> TakeAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            TaskCompletionSource<bool> waiter;
            lock (_gate)
            {
                if (_items.First is { } first)
                {
                    _items.RemoveFirst();
                    quiet.Dequeued(Quiescence.Plans);
                    return (true, first.Value);
                }

                if (_completed)
                {
                    return (false, null);
                }

                waiter = _waiter ??= new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
            }

            await quiet.WaitingToRead(Quiescence.Plans, waiter.Task.WaitAsync(cancellationToken)).ConfigureAwait(false);
        }
    }

    public void Complete()
    {
        TaskCompletionSource<bool>? waiter;
        lock (_gate)
        {
            _completed = true;
            waiter = _waiter;
            _waiter = null;
        }

        waiter?.TrySetResult(false);
    }
}
