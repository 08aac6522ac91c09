using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using VmEcosystem.Adjustment;
using VmEcosystem.Borrowing;
using VmEcosystem.Cluster;
using VmEcosystem.Hypervisor;
using VmEcosystem.Policies;
using VmEcosystem.Runtime.Audit;

namespace VmEcosystem.Runtime;

/// <summary>
/// The runtime's <c>resizing</c> loop. Every <see cref="ResizingOptions.Interval"/>, for each running VM a policy
/// governs: forecast its CPU (cores used) and memory use, compare the forecast's upper bound at the policy's horizon
/// with its allocation (<see cref="ResizeAdvisor"/>), share each host's room among the resizes (<see cref="ResizeArbiter"/>;
/// a grow the host cannot hold asks the planner to move the VM instead of overcommitting), and propose hot-plugs and
/// CPU quotas through the executor (its modes, limits and audit; each reason names the policy and its version).
/// What a proposal did is read back from the provider on the next pass: a partial apply is rolled back to the sizes
/// before it, and a shrink after which the VM runs saturated is reverted and remembered. A VM's use comes from the
/// provider's samples, or from an <see cref="IResizingUsageSource"/> when the application registers one.
/// </summary>
internal sealed partial class ResizingController(ResizePolicyStore policies, IOptions<ResizingOptions> options, IServiceProvider services) : IRuntimeController
{
    public const string ControllerName = "resizing";
    public const int Cpu = 0, Memory = 1, Disk = 2, Network = 3, ResourceCount = 4;

    private static readonly PolicyResource[] Resources = [PolicyResource.Cpu, PolicyResource.Memory, PolicyResource.DiskIops, PolicyResource.NetworkMbps];
    private readonly Dictionary<VmId, VmResizeState> _states = [];
    private string? _versionInUse;
    private ScaleWatch? _scaleWatch;
    private long _passes, _rollbacks, _plannerRequests;

    public string Name => ControllerName;

    private long _restoredAt = -1; // the leadership changes count when the trail's policies were last read

    // At the first pass, and whenever this instance's leadership changed: a version set at run time by an earlier
    // run or by the previous leader comes back from the shared trail (PolicyTrail says when it wins).
    private async Task RestoreFromTrailAsync(ControllerContext context, CancellationToken cancellationToken)
    {
        long changes = services.GetService<EcosystemRuntime>()?.Status.Leadership?.Changes ?? 0;
        if (changes == _restoredAt || services.GetService<IAuditStore>() is not { } store)
        {
            return;
        }

        _restoredAt = changes;
        if (await PolicyTrail.RestoreAsync(policies, store, cancellationToken).ConfigureAwait(false) is { } restored)
        {
            await context.AuditAsync(AuditKind.PolicyVersionInUse, restored).ConfigureAwait(false);
        }
    }

    /// <summary>Resizes reverted (partial applies and shrinks that made things worse).</summary>
    public long Rollbacks => Interlocked.Read(ref _rollbacks);

    /// <summary>Grows the host could not hold, handed to the planner.</summary>
    public long PlannerRequests => Interlocked.Read(ref _plannerRequests);

    public async Task RunOnceAsync(ControllerContext context, CancellationToken cancellationToken)
    {
        var o = options.Value;
        await context.DelayAsync(o.Interval, cancellationToken).ConfigureAwait(false);
        await RestoreFromTrailAsync(context, cancellationToken).ConfigureAwait(false);
        var set = policies.Current;
        if (set.Policies.Count == 0)
        {
            return;
        }

        if (set.Version != _versionInUse)
        {
            _versionInUse = set.Version;
            var version = policies.Find(set.Version);
            string source = version?.Source ?? "unknown";
            await context.AuditAsync(AuditKind.PolicyVersionInUse, $"resizing policies version {set.Version} in use ({set.Policies.Count} policies, from {source})",
                version is null ? null : PolicyTrail.Detail(version)).ConfigureAwait(false);
        }

        var inventory = await context.CallAsync("GetInventory", (h, ct) => h.GetInventoryAsync(ct), cancellationToken).ConfigureAwait(false);
        var samples = await context.CallAsync("GetVmMetrics", (h, ct) => h.GetVmMetricsAsync(null, ct), cancellationToken).ConfigureAwait(false);
        var book = services.GetService<LoanBook>();
        if (book is not null)
        {
            await RestoreLoansAsync(context, book, cancellationToken).ConfigureAwait(false);
        }

        var (lending, borrowing) = Roles(book);
        var pass = new ResizePass(context, inventory, samples, set, o, ++_passes) { Budgets = book?.Options, Lending = lending, Borrowing = borrowing, Sender = services.GetService<AdjustmentSender>() };
        foreach (var vm in inventory.Vms)
        {
            if (vm.State == VmPowerState.Running && pass.HostOf(vm.Id) is { } host && set.Resolve(pass.Subject(vm, host)) is { } policy)
            {
                if (!_states.TryGetValue(vm.Id, out var state))
                {
                    _states[vm.Id] = state = new VmResizeState();
                }

                var use = services.GetService<IResizingUsageSource>() is { } source
                    ? await context.WaitAsync(source.GetUseAsync(vm, cancellationToken).AsTask()).ConfigureAwait(false)
                    : null;
                await ConsiderAsync(pass, vm, host, policy, state, use, cancellationToken).ConfigureAwait(false);
            }
        }

        foreach (var gone in _states.Keys.Where(id => !pass.Exists(id)).ToList())
        {
            _states.Remove(gone);
        }

        pass.Arbitrate(_states, out var shortfalls);
        foreach (var (vm, host, why) in shortfalls)
        {
            await AskPlannerAsync(context, vm, why, _states[vm], o, cancellationToken).ConfigureAwait(false);
        }

        if (book is not null)
        {
            await LendAsync(context, pass, book).ConfigureAwait(false);
        }

        var actions = pass.Actions();
        if (book is not null && services.GetService<IScaleOutHandler>() is { } handler)
        {
            _scaleWatch ??= new ScaleWatch(book.Options, handler);
            actions.AddRange(await _scaleWatch.PassAsync(context, pass).ConfigureAwait(false));
        }

        Interlocked.Add(ref _rollbacks, pass.Rollbacks);
        if (actions.Count > 0)
        {
            await context.ProposeAsync(actions, ControllerName).ConfigureAwait(false);
        }
    }

    private static async Task ConsiderAsync(
        ResizePass pass, VmInfo vm, HostInfo host, EffectivePolicy policy, VmResizeState state, ResourceUse? use, CancellationToken cancellationToken)
    {
        var observed = await pass.ObserveAsync(vm, state, policy, cancellationToken).ConfigureAwait(false);
        var application = await pass.ApplicationAsync(vm, cancellationToken).ConfigureAwait(false);
        double? latency = application?.LatencyMs;
        if (latency is { } measured && double.IsFinite(measured) && measured >= 0)
        {
            state.Latency.Update(measured);
            state.LatencySamples++;
        }

        if (application?.ThroughputPerSecond is { } rate && double.IsFinite(rate) && rate >= 0)
        {
            state.Throughput.Update(rate);
            state.ThroughputSamples++;
        }
        var usage = pass.Usage(vm, host, use);
        pass.Saw(vm, host, policy, state, observed, usage);
        if (usage is null)
        {
            return; // no sample this pass: nothing to decide on
        }

        for (int r = 0; r < ResourceCount; r++)
        {
            state.Forecasters[r].Update(usage[r]);
            if (pass.Number % pass.Options.RetrainEvery == 0)
            {
                state.Forecasters[r].Refit();
            }
        }

        if (state.RollbackTo is { } back)
        {
            if (!observed.SameAs(back))
            {
                pass.Restore(vm, host, state, observed, back, $"rolling back {vm.Name} to {back} (now {observed})"); // until it is through
                return;
            }

            state.RollbackTo = null;
        }

        bool memoryMoving = false;
        if (state.Outstanding is { } outstanding)
        {
            if (Converging(observed, outstanding.Before, outstanding.Asked) && ++state.WaitedPasses <= MaxConvergingPasses)
            {
                // A balloon gives memory back (or takes it) over seconds: decide on its target, leave memory alone meanwhile.
                memoryMoving = true;
                observed = observed with { MemoryMiB = outstanding.Asked.MemoryMiB };
            }
            else
            {
                state.Outstanding = null;
                state.WaitedPasses = 0;
            }

            if (!memoryMoving && !observed.SameAs(outstanding.Asked) && !observed.SameAs(outstanding.Before))
            {
                // Part of it took effect (a call failed halfway): back to the sizes before, whole.
                pass.Rollback(vm, host, policy, state, observed, outstanding.Before, $"partial apply: asked {outstanding.Asked}, got {observed}");
                return;
            }
        }

        if (!memoryMoving && WorseAfterShrink(pass, state, observed, usage, latency) is { } worse)
        {
            pass.Rollback(vm, host, policy, state, observed, worse.To, worse.Why);
            return;
        }

        if (state.Outstanding is null && latency is { } l)
        {
            // the application's latency while sizes hold still: what a shrink is judged against
            state.LatencyBaseline = double.IsNaN(state.LatencyBaseline) ? l : (0.7 * state.LatencyBaseline) + (0.3 * l);
        }

        pass.Saw(vm, host, policy, state, observed, usage); // with the memory on its way counted as arrived
        pass.Propose(vm, host, policy, state, observed, usage, skipMemory: memoryMoving);
    }

    // A shrink that took effect and made things worse: the VM now runs at its new size (use at or above SaturatedAbove
    // of it) or the application's latency rose past WorseLatencyRatio of its level before. The shrunk resources go
    // back to their sizes before, and the VM is kept from shrinking below them for RollbackMemory.
    private static (VmSizes To, string Why)? WorseAfterShrink(ResizePass pass, VmResizeState state, VmSizes observed, double[] usage, double? latency)
    {
        var to = observed;
        var why = new List<string>();
        double before = state.LatencyBeforeShrink;
        bool slower = latency is { } now && before > 0 && now > pass.Options.WorseLatencyRatio * before;
        for (int r = 0; r < ResourceCount; r++)
        {
            if (double.IsNaN(state.ShrunkFrom[r]) || !(observed[r] < state.ShrunkFrom[r]))
            {
                continue;
            }

            double from = state.ShrunkFrom[r];
            state.ShrunkFrom[r] = double.NaN;
            state.LatencyBeforeShrink = double.NaN;
            bool saturated = usage[r] >= pass.Options.SaturatedAbove * observed[r];
            if (!saturated && !slower)
            {
                continue;
            }

            ResizeAdvisor.Remember(ref state.Tracks[r], from, pass.Seconds + pass.Options.RollbackMemory.TotalSeconds);
            to = to.With(r, from);
            why.Add(saturated
                ? FormattableString.Invariant($"the shrink of {Resources[r]} made things worse: use {usage[r]:0.##} at {usage[r] / observed[r]:P0} of {observed[r]:0.##}")
                : FormattableString.Invariant($"the shrink of {Resources[r]} made things worse: application latency {latency:0.#} ms against {before:0.#} ms before (over {pass.Options.WorseLatencyRatio:0.##}x)"));
        }

        return why.Count > 0 ? (to, string.Join("; ", why)) : null;
    }

    // Passes a memory change may take to show before a difference counts as a partial apply.
    private const int MaxConvergingPasses = 6;

    // Everything else is as asked and the memory lies strictly between what it was and what was asked: on its way.
    private static bool Converging(VmSizes observed, VmSizes before, VmSizes asked) =>
        observed.SameExceptMemory(asked) && !observed.SameAs(asked)
        && Math.Abs(asked.MemoryMiB - before.MemoryMiB) > 0.5
        && (observed.MemoryMiB - before.MemoryMiB) * (asked.MemoryMiB - observed.MemoryMiB) >= 0;

    private async Task AskPlannerAsync(ControllerContext context, VmId vm, string why, VmResizeState state, ResizingOptions o, CancellationToken cancellationToken)
    {
        var now = context.Time.GetUtcNow();
        if (now - state.PlannerAskedAt < o.Interval * 3)
        {
            return; // asked recently: give the move time to happen
        }

        state.PlannerAskedAt = now;
        Interlocked.Increment(ref _plannerRequests);
        if (services.GetService<IEcosystemControl>() is { } control)
        {
            string outcome;
            try
            {
                var request = await control.RequestMigrationAsync(vm, null, $"resizing needs room: {why}", cancellationToken).ConfigureAwait(false);
                outcome = $"request {request.Id} {request.State}";
            }
            catch (InvalidOperationException ex) // the runtime has not observed the cluster yet: asked again later
            {
                state.PlannerAskedAt = DateTimeOffset.MinValue;
                outcome = $"not yet: {ex.Message}";
            }

            await context.AuditAsync(AuditKind.DecisionPlanned, string.Create(CultureInfo.InvariantCulture, $"{vm}: the host cannot hold its grow ({why}); asked the planner to move it: {outcome}")).ConfigureAwait(false);
        }
    }
}
