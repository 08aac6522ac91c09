using System.Runtime.CompilerServices;
using System.Threading.Channels;
using VmEcosystem.Cluster;

namespace VmEcosystem.Hypervisor;

/// <summary>
/// The provider's side of a migration: report progress and the one final result. Created by
/// <see cref="HypervisorProvider"/> and handed to <c>StartMigrationCoreAsync</c>. Thread-safe; the first
/// final result wins and later ones are ignored, so a provider cannot report a migration twice.
/// </summary>
public sealed class MigrationExecution
{
    private readonly MigrationOperation _operation;

    internal MigrationExecution(MigrationOperation operation) => _operation = operation;

    /// <summary>The operation consumers see.</summary>
    public IMigrationOperation Operation => _operation;

    /// <summary>Fires when the consumer asked to cancel; the provider should abort the job.</summary>
    public CancellationToken CancellationRequested => _operation.CancellationRequestedToken;

    /// <summary>True once a final result was recorded.</summary>
    public bool IsCompleted => _operation.Completion.IsCompleted;

    /// <summary>Publishes a progress report (ignored after completion).</summary>
    public void ReportProgress(MigrationProgress progress) => _operation.Report(progress);

    /// <summary>Records success: the VM now runs on the target.</summary>
    public bool Succeed(DateTimeOffset finishedAt, long bytesTransferred) =>
        _operation.TryComplete(new MigrationResult(
            MigrationOutcome.Succeeded, _operation.Target, _operation.StartedAt, finishedAt, bytesTransferred));

    /// <summary>Records failure: the VM still runs on <paramref name="finalHost"/> (normally the source).</summary>
    public bool Fail(DateTimeOffset finishedAt, HypervisorException error, long bytesTransferred = 0, HostId? finalHost = null) =>
        _operation.TryComplete(new MigrationResult(
            MigrationOutcome.Failed, finalHost ?? _operation.Source, _operation.StartedAt, finishedAt, bytesTransferred, error));

    /// <summary>Records cancellation: the VM still runs on the source.</summary>
    public bool Cancel(DateTimeOffset finishedAt, long bytesTransferred = 0) =>
        _operation.TryComplete(new MigrationResult(
            MigrationOutcome.Cancelled, _operation.Source, _operation.StartedAt, finishedAt, bytesTransferred,
            new HypervisorException(HypervisorErrorKind.Conflict, $"Migration of VM '{_operation.Vm}' was cancelled.")));
}

/// <summary>The consumer-facing migration object.</summary>
internal sealed class MigrationOperation : IMigrationOperation
{
    private readonly TaskCompletionSource<MigrationResult> _completion =
        new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly CancellationTokenSource _cancel = new();
    private readonly Lock _gate = new();
    private readonly List<Channel<MigrationProgress>> _watchers = [];
    private MigrationProgress _progress;
    private Action? _ending;
    private Func<double, CancellationToken, Task>? _tune;

    public MigrationOperation(string id, VmId vm, HostId source, HostId target, DateTimeOffset startedAt)
    {
        Id = id;
        Vm = vm;
        Source = source;
        Target = target;
        StartedAt = startedAt;
        _progress = new MigrationProgress(MigrationPhase.Preparing, 0, 0, 0, null, startedAt);
    }

    public string Id { get; }

    public VmId Vm { get; }

    public HostId Source { get; }

    public HostId Target { get; }

    public DateTimeOffset StartedAt { get; }

    public MigrationProgress Progress
    {
        get
        {
            lock (_gate)
            {
                return _progress;
            }
        }
    }

    public Task<MigrationResult> Completion => _completion.Task;

    internal CancellationToken CancellationRequestedToken => _cancel.Token;

    /// <summary>Runs once when the result is set, before awaiters of <see cref="Completion"/> resume.</summary>
    internal void WhenEnding(Action ending) => _ending = ending;

    /// <summary>Where <see cref="SetBandwidthAsync"/> goes (the provider's guarded call).</summary>
    internal void TuneWith(Func<double, CancellationToken, Task> tune) => _tune = tune;

    public Task SetBandwidthAsync(double bandwidthMbps, CancellationToken cancellationToken = default) =>
        _tune is { } tune ? tune(bandwidthMbps, cancellationToken)
            : throw new HypervisorException(HypervisorErrorKind.NotSupported, "This migration's bandwidth cannot be changed.", null, "SetMigrationBandwidth");

    public Task CancelAsync(CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        if (!_completion.Task.IsCompleted)
        {
            _cancel.Cancel();
        }

        return Task.CompletedTask;
    }

    public async IAsyncEnumerable<MigrationProgress> WatchProgressAsync(
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        // Progress is a gauge: when a watcher is slow, older reports are dropped, never the newest.
        var channel = Channel.CreateBounded<MigrationProgress>(new BoundedChannelOptions(64)
        {
            FullMode = BoundedChannelFullMode.DropOldest,
            SingleReader = true,
        });
        lock (_gate)
        {
            channel.Writer.TryWrite(_progress);
            if (_completion.Task.IsCompleted)
            {
                channel.Writer.TryComplete();
            }
            else
            {
                _watchers.Add(channel);
            }
        }

        try
        {
            await foreach (var p in channel.Reader.ReadAllAsync(cancellationToken).ConfigureAwait(false))
            {
                yield return p;
            }
        }
        finally
        {
            lock (_gate)
            {
                _watchers.Remove(channel);
            }
        }
    }

    internal void Report(MigrationProgress progress)
    {
        lock (_gate)
        {
            if (_completion.Task.IsCompleted)
            {
                return;
            }

            _progress = progress;
            foreach (var w in _watchers)
            {
                w.Writer.TryWrite(progress);
            }
        }
    }

    internal bool TryComplete(MigrationResult result)
    {
        lock (_gate)
        {
            if (_completion.Task.IsCompleted)
            {
                return false;
            }

            _progress = _progress with
            {
                Phase = MigrationPhase.Completed,
                Percent = result.Outcome == MigrationOutcome.Succeeded ? 100 : _progress.Percent,
                BytesTransferred = Math.Max(_progress.BytesTransferred, result.BytesTransferred),
                BytesRemaining = result.Outcome == MigrationOutcome.Succeeded ? 0 : _progress.BytesRemaining,
                Timestamp = result.FinishedAt,
            };
            foreach (var w in _watchers)
            {
                w.Writer.TryWrite(_progress);
                w.Writer.TryComplete();
            }

            _watchers.Clear();
            _ending?.Invoke(); // before anyone awaiting the result resumes: they see the provider's state already updated
            _completion.TrySetResult(result);
            return true;
        }
    }
}
