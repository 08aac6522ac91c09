namespace VmEcosystem.Runtime;

/// <summary>
/// Knows whether the runtime has runnable work: loops count themselves busy except while they wait on the clock,
/// on a provider call or on an empty queue. A queued item is runnable work only while its consumer waits to read
/// (it is about to wake); a consumer held up by the clock or a provider call will take it when time moves on. With a
/// virtual clock this tells a driver when it may advance time, which makes a simulated day through the runtime
/// deterministic.
/// </summary>
internal sealed class Quiescence
{
    /// <summary>The queue between collection and planning.</summary>
    public const int Observations = 0;

    /// <summary>The queue between planning and execution.</summary>
    public const int Plans = 1;

    private readonly int[] _queued = new int[2];
    private readonly int[] _reading = new int[2];
    private int _busy;
    private readonly List<Hypervisor.IChangeBacklog> _backlogs = [];
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public bool IsQuiet
    {
        get
        {
            if (Volatile.Read(ref _busy) != 0)
            {
                return false;
            }

            lock (_backlogs)
            {
                foreach (var b in _backlogs)
                {
                    if (b.Backlog > 0)
                    {
                        return false; // a change the runtime has not processed yet is on its way
                    }
                }
            }

            for (int q = 0; q < _queued.Length; q++)
            {
                if (Volatile.Read(ref _queued[q]) > 0 && Volatile.Read(ref _reading[q]) > 0)
                {
                    return false;
                }
            }

            return true;
        }
    }

    public Task Changed => Volatile.Read(ref _changed).Task;

    /// <summary>Counts the runtime busy while <paramref name="backlog"/> holds changes its consumer has not finished with.</summary>
    public void Track(Hypervisor.IChangeBacklog backlog)
    {
        lock (_backlogs)
        {
            _backlogs.Add(backlog);
        }
    }

    public void Untrack(Hypervisor.IChangeBacklog backlog)
    {
        lock (_backlogs)
        {
            _backlogs.Remove(backlog);
        }

        Pulse();
    }

    public void Enter() => Interlocked.Increment(ref _busy);

    /// <summary>Counts the runtime busy until the scope is disposed (work started outside a loop, such as a completion handler).</summary>
    public BusyScope Busy()
    {
        Enter();
        return new BusyScope(this);
    }

    public void Exit()
    {
        if (Interlocked.Decrement(ref _busy) == 0)
        {
            Pulse();
        }
    }

    public void Queued(int queue) => Interlocked.Increment(ref _queued[queue]);

    public void Dequeued(int queue)
    {
        if (Interlocked.Decrement(ref _queued[queue]) == 0)
        {
            Pulse();
        }
    }

    /// <summary>Awaits a consumer's wait for <paramref name="queue"/> to have items, marking it reading meanwhile.</summary>
    public async Task<bool> WaitingToRead(int queue, Task<bool> wait)
    {
        Interlocked.Increment(ref _reading[queue]);
        try
        {
            return await Waiting(wait).ConfigureAwait(false);
        }
        finally
        {
            // Counted busy again (Waiting re-entered) before it stops counting as reading: never idle in between.
            Interlocked.Decrement(ref _reading[queue]);
        }
    }

    public void Pulse() => Interlocked.Exchange(ref _changed, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();

    /// <summary>Awaits <paramref name="task"/> without counting as busy while it is pending.</summary>
    public async Task<T> Waiting<T>(Task<T> task)
    {
        if (task.IsCompleted)
        {
            return await task.ConfigureAwait(false);
        }

        Exit();
        try
        {
            return await task.ConfigureAwait(false);
        }
        finally
        {
            Enter();
        }
    }

    /// <summary>Awaits <paramref name="task"/> without counting as busy while it is pending.</summary>
    public async Task Waiting(Task task)
    {
        if (task.IsCompleted)
        {
            await task.ConfigureAwait(false);
            return;
        }

        Exit();
        try
        {
            await task.ConfigureAwait(false);
        }
        finally
        {
            Enter();
        }
    }

    /// <summary>A delay on <paramref name="time"/> that does not count as busy; the timer's firing does, until the caller resumes.</summary>
    public async Task DelayAsync(TimeSpan delay, TimeProvider time, CancellationToken cancellationToken)
    {
        if (delay <= TimeSpan.Zero)
        {
            cancellationToken.ThrowIfCancellationRequested();
            return;
        }

        var tcs = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var timer = time.CreateTimer(_ =>
        {
            Enter();
            if (!tcs.TrySetResult())
            {
                Exit();
            }
        }, null, delay, Timeout.InfiniteTimeSpan);
        using var registration = cancellationToken.Register(() =>
        {
            Enter();
            if (!tcs.TrySetCanceled(cancellationToken))
            {
                Exit();
            }
        });

        // Only now, with the timer armed, may a driver see this loop idle.
        Exit();
        await tcs.Task.ConfigureAwait(false);
    }

    /// <summary>Ends a <see cref="Busy"/> scope.</summary>
    public readonly struct BusyScope(Quiescence owner) : IDisposable
    {
        public void Dispose() => owner.Exit();
    }
}

/// <summary>
/// A wake-up a loop waits on without counting as busy; whoever sets it counts the loop busy until it resumes (as a
/// timer's firing does in <see cref="Quiescence.DelayAsync"/>), so a driver never sees the runtime idle in between.
/// A set with no waiter is kept for the next wait.
/// </summary>
internal sealed class QuietSignal(Quiescence quiet)
{
    private readonly Lock _gate = new();
    private TaskCompletionSource? _waiter;
    private bool _pending;

    public void Set()
    {
        lock (_gate)
        {
            if (_waiter is { } waiter)
            {
                _waiter = null;
                quiet.Enter();
                waiter.TrySetResult();
            }
            else
            {
                _pending = true;
            }
        }
    }

    public async Task WaitAsync(CancellationToken cancellationToken)
    {
        TaskCompletionSource tcs;
        lock (_gate)
        {
            if (_pending)
            {
                _pending = false;
                return;
            }

            _waiter = tcs = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }

        using var registration = cancellationToken.Register(() =>
        {
            lock (_gate)
            {
                if (ReferenceEquals(_waiter, tcs))
                {
                    _waiter = null;
                    quiet.Enter();
                    tcs.TrySetCanceled(cancellationToken);
                }
            }
        });

        // Only now, with the waiter registered, may a driver see this loop idle.
        quiet.Exit();
        await tcs.Task.ConfigureAwait(false);
    }
}

