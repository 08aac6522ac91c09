using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using VmEcosystem.Cluster;
using VmEcosystem.Runtime.Audit;

namespace VmEcosystem.Runtime;

/// <summary>
/// The runtime's one way into the audit store: a bounded background writer, so a slow or locked store never stalls a
/// loop. Records are written in the order they were appended. When the store fails, records are kept (up to the
/// capacity) and retried with backoff, in order; every failed attempt and every record lost to overflow is counted
/// and logged. Intents are the exception to fire-and-forget: their caller waits for the write, because an action
/// whose intent is not durable is not taken.
/// </summary>
internal sealed class RuntimeAudit : IAsyncDisposable
{
    private static readonly TimeSpan FirstRetry = TimeSpan.FromSeconds(1), LastRetry = TimeSpan.FromSeconds(30);

    private readonly IAuditStore _store;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly int _capacity;
    private readonly TimeSpan _intentTimeout;
    private readonly Channel<Entry> _queue = Channel.CreateUnbounded<Entry>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Queue<AuditRecord> _retry = new(); // the writer's alone
    private readonly Task _writer;
    private long _failures, _lost, _pending;
    private volatile bool _down; // the store failed and no retry has succeeded since: intents are refused at once
    private int _retryAttempt;
    private DateTimeOffset _nextRetry;

    public RuntimeAudit(IAuditStore store, TimeProvider time, ILogger logger, int capacity, TimeSpan intentTimeout)
    {
        _store = store;
        _time = time;
        _logger = logger;
        _capacity = capacity;
        _intentTimeout = intentTimeout;
        _writer = Task.Run(WriteLoopAsync);
    }

    public IAuditStore Store => _store;

    /// <summary>The runtime's standing in the election: intents carry its fence, and a refused fence demotes it.</summary>
    public Leadership.LeadershipState? Leadership { get; set; }

    /// <summary>Failed write attempts (each retry counts).</summary>
    public long Failures => Interlocked.Read(ref _failures);

    /// <summary>Records lost: the queue was full, or the store still failed when the runtime was disposed.</summary>
    public long Lost => Interlocked.Read(ref _lost);

    /// <summary>Records waiting to be written (queued or waiting for a retry).</summary>
    public long Pending => Interlocked.Read(ref _pending);

    // What an action's life records (its intent and everything after it) carries its term's fence: a store refuses the
    // records of a term older than the scope's, so a replaced leader can neither act nor record an outcome twice.
    private static readonly HashSet<AuditKind> Fenced =
    [
        AuditKind.ActionIntended, AuditKind.MigrationStarted, AuditKind.MigrationSucceeded, AuditKind.MigrationFailed, AuditKind.MigrationCancelled,
        AuditKind.ActionStarted, AuditKind.ActionSucceeded, AuditKind.ActionFailed, AuditKind.DecisionSkipped,
    ];

    /// <summary>Queues a record; never waits for the store.</summary>
    public Task AppendAsync(AuditKind kind, string? controller, string? planId, VmId? vm, HostId? source, HostId? target, string message, string? detail = null)
    {
        var record = Record(kind, controller, planId, vm, source, target, message, detail);
        if (Fenced.Contains(kind) && Leadership?.FenceFor(source) is { } fence)
        {
            record = record with { FencingScope = fence.Scope, FencingToken = fence.Token };
        }

        _ = Enqueue(new Entry(record, null));
        return Task.CompletedTask;
    }

    /// <summary>
    /// Writes an intent and waits for the store (at most the intent timeout): true once it is durable. False when the
    /// store refused it, the queue is full or the store did not answer in time (then it is not written later either,
    /// unless the write had already begun; the caller's skip record follows it in the trail).
    /// </summary>
    public async Task<bool> TryAppendAsync(AuditKind kind, string? controller, string? planId, VmId? vm, HostId? source, HostId? target, string message, string? detail = null)
    {
        if (_down)
        {
            _logger.LogWarning("The audit store is failing; the intent is refused and its action not taken: {Message}", message);
            return false;
        }

        var record = Record(kind, controller, planId, vm, source, target, message, detail);
        if (Leadership?.FenceFor(source) is { } fence)
        {
            if (!Leadership.MayActOn(source))
            {
                _logger.LogWarning("This instance does not lead {Scope}; the intent is refused and its action not taken: {Message}", fence.Scope, message);
                return false;
            }

            record = record with { FencingScope = fence.Scope, FencingToken = fence.Token };
        }

        var entry = new Entry(record, new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously));
        if (!Enqueue(entry))
        {
            return false;
        }

        try
        {
            return await entry.Done!.Task.WaitAsync(_intentTimeout, _time).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            Interlocked.Exchange(ref entry.Abandoned, 1);
            Interlocked.Increment(ref _failures);
            _logger.LogError("The audit store did not record the intent within {Timeout}: {Message}; the action is not taken", _intentTimeout, message);
            return false;
        }
    }

    /// <summary>Completes when every record appended before the call has been written or put aside for a retry.</summary>
    public async Task FlushAsync(CancellationToken cancellationToken = default)
    {
        var entry = new Entry(null, new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously));
        if (!_queue.Writer.TryWrite(entry))
        {
            return;
        }

        await entry.Done!.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Stops taking records, writes what is queued (one more try for records waiting on a retry) and ends the writer.</summary>
    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        await _writer.ConfigureAwait(false);
    }

    private AuditRecord Record(AuditKind kind, string? controller, string? planId, VmId? vm, HostId? source, HostId? target, string message, string? detail) =>
        new(0, _time.GetUtcNow(), kind, planId, vm, source, target, message, detail) { Controller = controller };

    private bool Enqueue(Entry entry)
    {
        if (Interlocked.Increment(ref _pending) > _capacity)
        {
            Interlocked.Decrement(ref _pending);
            Interlocked.Increment(ref _lost);
            _logger.LogError("The audit queue is full ({Capacity} records waiting for the store); lost: {Kind} {Message}", _capacity, entry.Record!.Kind, entry.Record.Message);
            return false;
        }

        // Queued records do not count as runtime work: a virtual-clock driver advances past them (readers flush first).
        if (_queue.Writer.TryWrite(entry))
        {
            return true;
        }

        Interlocked.Decrement(ref _pending);
        Interlocked.Increment(ref _lost);
        _logger.LogError("The audit trail is closed (the runtime was disposed); lost: {Kind} {Message}", entry.Record!.Kind, entry.Record.Message);
        return false;
    }

    private async Task WriteLoopAsync()
    {
        var reader = _queue.Reader;
        var wait = reader.WaitToReadAsync().AsTask();
        while (true)
        {
            if (_retry.Count > 0 && !wait.IsCompleted)
            {
                var delay = _nextRetry - _time.GetUtcNow();
                if (delay > TimeSpan.Zero)
                {
                    using var cancel = new CancellationTokenSource();
                    await Task.WhenAny(wait, Task.Delay(delay, _time, cancel.Token)).ConfigureAwait(false);
                    await cancel.CancelAsync().ConfigureAwait(false);
                }

                if (_time.GetUtcNow() >= _nextRetry)
                {
                    await DrainRetriesAsync().ConfigureAwait(false);
                }

                if (!wait.IsCompleted)
                {
                    continue;
                }
            }

            if (!await wait.ConfigureAwait(false))
            {
                break;
            }

            while (reader.TryRead(out var entry))
            {
                await WriteAsync(entry).ConfigureAwait(false);
            }

            wait = reader.WaitToReadAsync().AsTask();
        }

        if (_retry.Count > 0 && !await DrainRetriesAsync().ConfigureAwait(false))
        {
            Interlocked.Add(ref _lost, _retry.Count);
            Interlocked.Add(ref _pending, -_retry.Count);
            _logger.LogError("The audit store still failed when the runtime was disposed; {Count} records were not written", _retry.Count);
            _retry.Clear();
        }
    }

    private async Task WriteAsync(Entry entry)
    {
        if (entry.Record is not { } record)
        {
            entry.Done!.TrySetResult(true); // a flush marker
            return;
        }

        if (entry.Done is not null && Volatile.Read(ref entry.Abandoned) != 0)
        {
            Interlocked.Decrement(ref _pending); // its caller gave up and did not act
            return;
        }

        // While older records wait for a retry, later ones queue behind them (the trail stays in order) and an intent
        // is refused: only the retry timer probes the store, so no caller ever waits on a store known to fail.
        if (_retry.Count > 0)
        {
            Settle(entry, record);
            return;
        }

        try
        {
            await _store.AppendAsync(record).ConfigureAwait(false);
            Interlocked.Decrement(ref _pending);
            entry.Done?.TrySetResult(true);
        }
        catch (Leadership.StaleFencingTokenException ex)
        {
            // Not a failing store: a newer leader holds the scope. The record is refused (an intent's action is not
            // taken) and this instance stops acting there.
            Refuse(record, ex);
            Interlocked.Decrement(ref _pending);
            entry.Done?.TrySetResult(false);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            Interlocked.Increment(ref _failures);
            _logger.LogError(ex, "The audit store failed to record {Kind}: {Message}", record.Kind, record.Message);
            _retryAttempt = 1;
            _nextRetry = _time.GetUtcNow() + FirstRetry;
            _down = true;
            Settle(entry, record);
        }
    }

    private void Refuse(AuditRecord record, Leadership.StaleFencingTokenException ex)
    {
        _logger.LogWarning("The store refused a record of an older term ({Error}); this instance no longer leads there: {Kind} {Message}", ex.Message, record.Kind, record.Message);
        Leadership?.Fenced(record.FencingScope ?? string.Empty, record.FencingToken ?? 0, $"the store refused its fencing token {record.FencingToken} ({ex.Message})");
    }

    // A record that could not be written now: an intent is refused (its action is not taken), any other is kept for a retry.
    private void Settle(Entry entry, AuditRecord record)
    {
        if (entry.Done is { } done)
        {
            Interlocked.Decrement(ref _pending);
            done.TrySetResult(false);
            return;
        }

        _retry.Enqueue(record);
    }

    private async Task<bool> DrainRetriesAsync()
    {
        int written = 0;
        while (_retry.TryPeek(out var record))
        {
            try
            {
                await _store.AppendAsync(record).ConfigureAwait(false);
            }
            catch (Leadership.StaleFencingTokenException ex)
            {
                // Refused, not failed: a newer term leads its scope (its leader records this action's outcome).
                Refuse(record, ex);
                _retry.Dequeue();
                Interlocked.Decrement(ref _pending);
                continue;
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                Interlocked.Increment(ref _failures);
                _retryAttempt++;
                _nextRetry = _time.GetUtcNow() + Backoff.Delay(_retryAttempt, FirstRetry, LastRetry);
                _logger.LogWarning("The audit store still fails ({Error}); {Count} records wait, next try at {Next:O}", ex.Message, _retry.Count, _nextRetry);
                return false;
            }

            _retry.Dequeue();
            Interlocked.Decrement(ref _pending);
            written++;
        }

        if (written > 0)
        {
            _logger.LogInformation("The audit store recovered; {Count} records written late", written);
        }

        _retryAttempt = 0;
        _down = false;
        return true;
    }

    private sealed class Entry(AuditRecord? record, TaskCompletionSource<bool>? done)
    {
        public int Abandoned;

        public AuditRecord? Record { get; } = record;

        public TaskCompletionSource<bool>? Done { get; } = done;
    }
}
