namespace VmEcosystem.Runtime;

/// <summary>
/// Knows whether the runtime has runnable work: loops count themselves busy except while they wait on the clock,
/// on a provider call or on an empty queue; queued items count until taken. With a virtual clock this tells a
/// driver when it may advance time, which makes a simulated day through the runtime deterministic.
/// </summary>
internal sealed class Quiescence
{
    private int _busy;
    private int _queued;
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public bool IsQuiet => Volatile.Read(ref _busy) == 0 && Volatile.Read(ref _queued) == 0;

    public Task Changed => Volatile.Read(ref _changed).Task;

    public void Enter() => Interlocked.Increment(ref _busy);

    public void Exit()
    {
        if (Interlocked.Decrement(ref _busy) == 0)
        {
            Pulse();
        }
    }

    public void Queued() => Interlocked.Increment(ref _queued);

    public void Dequeued()
    {
        if (Interlocked.Decrement(ref _queued) == 0)
        {
            Pulse();
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
        Exit();
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
        await tcs.Task.ConfigureAwait(false);
    }
}
