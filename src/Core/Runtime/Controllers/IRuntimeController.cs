using Microsoft.Extensions.Logging;
using VmEcosystem.Hypervisor;
using VmEcosystem.Runtime.Audit;

namespace VmEcosystem.Runtime;

/// <summary>
/// One loop of the runtime, in the manner of a Kubernetes controller: the runtime calls <see cref="RunOnceAsync"/>
/// again and again until it stops. A throwing iteration is logged, counted (<c>vmeco.loop.errors</c> with the
/// controller's name), audited and retried after an exponential backoff; the controller never dies. The built-in
/// controllers (<c>collection</c>, <c>planning</c>, <c>execution</c>, <c>inventory</c>) are written against the same
/// contract; an application adds its own with <c>builder.AddController&lt;T&gt;()</c>.
/// </summary>
/// <remarks>
/// Wait only through the <see cref="ControllerContext"/> (<see cref="ControllerContext.DelayAsync"/>,
/// <see cref="ControllerContext.WaitAsync{T}(Task{T})"/>, <see cref="ControllerContext.CallAsync{T}"/>): the runtime
/// then knows when the controller has no runnable work, which is what lets a virtual clock drive it. Change the
/// cluster only through <see cref="ControllerContext.ProposeAsync"/>: the executor applies the shared limits, the
/// mode and the audit.
/// </remarks>
public interface IRuntimeController
{
    /// <summary>Name in logs, metrics and the audit trail; unique within a runtime.</summary>
    string Name { get; }

    /// <summary>One iteration: wait for something to do (a timer, a queue), do it, return.</summary>
    Task RunOnceAsync(ControllerContext context, CancellationToken cancellationToken);
}

/// <summary>What the runtime gives a controller: its clock, waits the runtime can see, provider calls with timeouts, proposals, audit.</summary>
public sealed class ControllerContext
{
    private readonly RuntimeCore _core;

    internal ControllerContext(string name, RuntimeCore core, ILogger logger)
    {
        Name = name;
        _core = core;
        Logger = logger;
    }

    /// <summary>The controller's name.</summary>
    public string Name { get; }

    /// <summary>The runtime's clock.</summary>
    public TimeProvider Time => _core.Time;

    /// <summary>A logger named after the controller.</summary>
    public ILogger Logger { get; }

    /// <summary>The provider, for reading (inventory, metrics, controls). Changes go through <see cref="ProposeAsync"/>.</summary>
    public IHypervisor Hypervisor => _core.Hypervisor;

    /// <summary>The runtime's options.</summary>
    public RuntimeOptions Options => _core.Options;

    /// <summary>Waits on the runtime's clock without counting as busy.</summary>
    public Task DelayAsync(TimeSpan delay, CancellationToken cancellationToken) => _core.Quiet.DelayAsync(delay, _core.Time, cancellationToken);

    /// <summary>Awaits something outside the runtime (an event, another service) without counting as busy meanwhile.</summary>
    public Task<T> WaitAsync<T>(Task<T> task) => _core.Quiet.Waiting(task);

    /// <summary>Awaits something outside the runtime without counting as busy meanwhile.</summary>
    public Task WaitAsync(Task task) => _core.Quiet.Waiting(task);

    /// <summary>The application's own metrics of a VM (null: no source registered, or it failed or timed out).</summary>
    internal Task<Cluster.ApplicationMetrics?> ReadApplicationAsync(Cluster.VmId vm, CancellationToken cancellationToken) =>
        _core.Quiet.Waiting(_core.ReadApplicationAsync(vm, cancellationToken));

    /// <summary>A provider call with <see cref="RuntimeOptions.CallTimeout"/> and retries of transient failures.</summary>
    public Task<T> CallAsync<T>(string operation, Func<IHypervisor, CancellationToken, Task<T>> call, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(call);
        return _core.Calls.CallAsync(operation, ct => call(_core.Hypervisor, ct), cancellationToken);
    }

    /// <summary>
    /// Proposes actions to the executor, each audited as planned; returns the plan id. The mode of each action's
    /// kind decides: dry run (audited only), approval (held in <see cref="EcosystemRuntime.PendingPlans"/>) or
    /// automatic (executed within the shared limits). A newer proposal of the same controller supersedes an
    /// unexecuted older one (audited as discarded). With leader election, only the actions in scopes this instance
    /// leads are proposed; on a follower nothing is: the id is returned and nothing recorded.
    /// </summary>
    public async Task<string> ProposeAsync(IReadOnlyList<ClusterAction> actions, string trigger = "periodic")
    {
        ArgumentNullException.ThrowIfNull(actions);
        ArgumentException.ThrowIfNullOrWhiteSpace(trigger);
        string id = _core.NextPlanId();
        actions = [.. actions.Where(a => _core.Leadership.MayActOn(a.Host))];
        if (actions.Count == 0 && !_core.Leadership.MayAct)
        {
            return id; // a follower proposes nothing (nothing is audited or queued); the leader's own controller acts
        }

        await _core.Audit.AppendAsync(AuditKind.PlanCreated, Name, id, null, null, null, $"{Name} proposed {actions.Count} actions ({trigger})").ConfigureAwait(false);
        foreach (var a in actions)
        {
            await _core.Audit.AppendAsync(AuditKind.DecisionPlanned, Name, id, a.Vm, a.Host, a.Target, $"{a.Kind}: {a.Reason}").ConfigureAwait(false);
        }

        _core.Proposals.Add(new Proposal(id, Name, trigger, _core.Time.GetUtcNow(), actions));
        return id;
    }

    /// <summary>Appends a record about one VM under the controller's name.</summary>
    internal Task AuditAsync(AuditKind kind, Cluster.VmId vm, string message, string? detail) =>
        _core.Audit.AppendAsync(kind, Name, null, vm, null, null, message, detail);

    /// <summary>Appends to the audit trail under the controller's name (a failing store is counted, never thrown).</summary>
    public Task AuditAsync(AuditKind kind, string message, string? detail = null) =>
        _core.Audit.AppendAsync(kind, Name, null, null, null, null, message, detail);
}
