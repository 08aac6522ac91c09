using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using VmEcosystem.Runtime.Audit;

namespace VmEcosystem.Runtime;

/// <summary>
/// Runs controllers: each iteration of each controller in turn until stop; a failing iteration is logged, counted,
/// audited and retried after <see cref="Backoff"/>. Knows which controllers are alive and how often each failed.
/// </summary>
internal sealed class ControllerHost(RuntimeCore core, ILoggerFactory? loggers)
{
    private readonly Lock _gate = new();
    private readonly Dictionary<string, long> _errors = [];
    private readonly HashSet<string> _alive = [];
    private Task[] _running = [];

    public IReadOnlyDictionary<string, long> Errors
    {
        get
        {
            lock (_gate)
            {
                return new Dictionary<string, long>(_errors);
            }
        }
    }

    public IReadOnlyList<string> Alive
    {
        get
        {
            lock (_gate)
            {
                return [.. _alive.Order(StringComparer.Ordinal)];
            }
        }
    }

    /// <summary>Throws when a controller has no name or shares one with another.</summary>
    public static void Validate(IReadOnlyList<IRuntimeController> controllers)
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var c in controllers)
        {
            if (string.IsNullOrWhiteSpace(c.Name) || !names.Add(c.Name))
            {
                throw new ArgumentException($"Controller names must be non-empty and unique; '{c.Name}' ({c.GetType().Name}) is not.", nameof(controllers));
            }
        }
    }

    public void Start(IReadOnlyList<IRuntimeController> controllers, CancellationToken cancellationToken)
    {
        // Counted busy before they run, so the runtime is never seen idle before its controllers start.
        foreach (var _ in controllers)
        {
            core.Quiet.Enter();
        }

        _running = [.. controllers.Select(c => SuperviseAsync(c, cancellationToken))];
    }

    public Task WhenStopped => Task.WhenAll(_running);

    private async Task SuperviseAsync(IRuntimeController controller, CancellationToken cancellationToken)
    {
        string name = controller.Name;
        var logger = loggers?.CreateLogger($"VmEcosystem.Runtime.Controllers.{name}") ?? (ILogger)NullLogger.Instance;
        var context = new ControllerContext(name, core, logger);
        lock (_gate)
        {
            _alive.Add(name);
            _errors.TryAdd(name, 0);
        }

        await Task.Yield();
        int attempt = 0;
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                try
                {
                    await controller.RunOnceAsync(context, cancellationToken).ConfigureAwait(false);
                    attempt = 0;
                }
                catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
                {
                    break;
                }
                catch (Exception ex) when (ex is not OutOfMemoryException)
                {
                    attempt++;
                    var delay = Backoff.Delay(attempt, core.Options.IterationBackoff, core.Options.MaxIterationBackoff);
                    lock (_gate)
                    {
                        _errors[name]++;
                    }

                    core.Instruments.LoopErrors.Add(1, new KeyValuePair<string, object?>("controller", name));
                    RuntimeLog.LoopFailed(core.Logger, ex, name, attempt, delay);
                    await core.Audit.AppendAsync(AuditKind.LoopError, name, null, null, null, null, $"{name} controller failed (attempt {attempt}): {ex.Message}").ConfigureAwait(false);
                    try
                    {
                        await core.Quiet.DelayAsync(delay, core.Time, cancellationToken).ConfigureAwait(false);
                    }
                    catch (OperationCanceledException)
                    {
                        break;
                    }
                }
            }
        }
        finally
        {
            core.Quiet.Exit();
            lock (_gate)
            {
                _alive.Remove(name);
            }
        }
    }
}
