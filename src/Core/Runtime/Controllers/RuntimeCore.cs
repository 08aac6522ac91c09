using Microsoft.Extensions.Logging;
using VmEcosystem.Hypervisor;
using VmEcosystem.Runtime.Audit;

namespace VmEcosystem.Runtime;

/// <summary>
/// What every controller shares: the provider and its guarded calls, the clock and the quiescence tracker, the
/// options, the audit trail, the instruments and the proposal queue into the executor.
/// </summary>
internal sealed class RuntimeCore
{
    private long _planSequence;

    private readonly Leadership.LeadershipState _leadership = new(null);

    public RuntimeCore(IHypervisor hypervisor, RuntimeOptions options, TimeProvider time, IAuditStore audit, RuntimeInstruments instruments, ILogger logger)
    {
        Hypervisor = hypervisor;
        Options = options;
        Time = time;
        Instruments = instruments;
        Logger = logger;
        Audit = new RuntimeAudit(audit, time, logger, options.AuditQueueCapacity, options.CallTimeout) { Leadership = _leadership };
        Calls = new ProviderCalls(Quiet, time, options);
        Proposals = new ProposalQueue(Quiet, options.PlanQueueCapacity, dropped =>
            _ = Audit.AppendAsync(AuditKind.PlanDiscarded, dropped.Controller, dropped.PlanId, null, null, null, "superseded by a newer plan before execution"));
    }

    public IHypervisor Hypervisor { get; }

    public RuntimeOptions Options { get; }

    public TimeProvider Time { get; }

    public Quiescence Quiet { get; } = new();

    public RuntimeAudit Audit { get; }

    public ProviderCalls Calls { get; }

    public RuntimeInstruments Instruments { get; }

    public ILogger Logger { get; }

    public ProposalQueue Proposals { get; }

    /// <summary>Whether this runtime may act (no election, or it leads) and the fence its intents carry.</summary>
    public Leadership.LeadershipState Leadership
    {
        get => _leadership;
        init
        {
            _leadership = value;
            Audit.Leadership = value;
        }
    }

    /// <summary>The application's own metrics, read around each migration for what the runtime learns (null: none).</summary>
    public IApplicationMetricsSource? ApplicationMetrics { get; init; }

    /// <summary>Rebuild action kinds that need services from plans held for approval, after a restart.</summary>
    public IReadOnlyList<IPendingActionRestorer> ActionRestorers { get; init; } = [];

    /// <summary>Application metrics of a VM, or null when there is no source or it fails (a missing figure never stops a move).</summary>
    public async Task<Cluster.ApplicationMetrics?> ReadApplicationAsync(Cluster.VmId vm, CancellationToken cancellationToken)
    {
        if (ApplicationMetrics is null)
        {
            return null;
        }

        try
        {
            return await ApplicationMetrics.GetAsync(vm, cancellationToken).WaitAsync(Options.CallTimeout, Time, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            Logger.LogWarning(ex, "Application metrics of {Vm} could not be read; the move is learned from without them", vm.Value);
            return null;
        }
    }

    /// <summary>Plan ids are unique within the runtime, whichever controller proposes.</summary>
    /// <remarks>
    /// With an election the term is part of the id (<c>plan-t7-000012</c>), sharded the instance and its start: two
    /// leaders' plans never share one.
    /// </remarks>
    public string NextPlanId() => (Leadership.Enabled, Leadership.Sharded) switch
    {
        (false, _) => $"plan-{Interlocked.Increment(ref _planSequence):D6}",
        (true, false) => $"plan-t{Leadership.Term}-{Interlocked.Increment(ref _planSequence):D6}",
        (true, true) => $"plan-{Leadership.Instance}-{_started:x}-{Interlocked.Increment(ref _planSequence):D6}",
    };

    // Sharded plan ids name the instance and its start (several leaders at once, each restarting on its own).
    private readonly long _started = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();

    /// <summary>Continues plan numbering after <paramref name="last"/> (read from the trail), so ids stay unique across restarts.</summary>
    public void ContinuePlanIdsAfter(long last)
    {
        long seen = Interlocked.Read(ref _planSequence);
        while (last > seen && Interlocked.CompareExchange(ref _planSequence, last, seen) != seen)
        {
            seen = Interlocked.Read(ref _planSequence);
        }
    }
}

/// <summary>The one backoff formula of the runtime: doubling from <c>first</c>, capped at <c>max</c>.</summary>
internal static class Backoff
{
    public static TimeSpan Delay(int attempt, TimeSpan first, TimeSpan max) =>
        TimeSpan.FromTicks(Math.Min(max.Ticks, first.Ticks << Math.Clamp(attempt - 1, 0, 20)));
}
