using System.Globalization;
using VmEcosystem.Borrowing;
using VmEcosystem.Cluster;
using VmEcosystem.Forecasting;
using VmEcosystem.Runtime.Audit;

namespace VmEcosystem.Runtime;

/// <summary>
/// Watches each budgeted host set's aggregate use (summed over its VMs each resizing pass) with a forecaster of its
/// own (Holt's linear trend: a sum is smoother than its parts, and its trend shows a ramp). When the upper bound at
/// the lead time, plus the margin lenders keep, exceeds the budget of any resource, neither resizing nor loans can
/// serve the set: a scale-out request goes to the <see cref="IScaleOutHandler"/>, through the executor. When the set
/// stays under <see cref="BorrowingOptions.ScaleInShare"/> of its budget for the hold time, a scale-in request.
/// </summary>
internal sealed class ScaleWatch(BorrowingOptions options, IScaleOutHandler handler)
{
    private const int MinPasses = 6; // the trend needs a few sums before it means anything
    private readonly Dictionary<(string Set, int Resource), (IForecaster Forecaster, int Count)> _sums = [];
    private readonly Dictionary<string, DateTimeOffset> _lastRequest = new(StringComparer.Ordinal);
    private readonly Dictionary<string, DateTimeOffset> _lowSince = new(StringComparer.Ordinal);

    /// <summary>Feeds this pass's sums and returns the scale actions due (audited as requested).</summary>
    public async Task<List<ClusterAction>> PassAsync(ControllerContext context, ResizePass pass)
    {
        var actions = new List<ClusterAction>();
        var now = context.Time.GetUtcNow();
        int steps = Math.Max(1, (int)Math.Ceiling(options.ScaleOutLeadTime / pass.Options.Interval));
        foreach (var set in options.Budgets.Keys.Order(StringComparer.Ordinal))
        {
            var members = pass.SeenVms.Values.Where(s => s.Host.HostSet?.Value == set && s.Usage is not null).OrderBy(s => s.Vm.Id.Value, StringComparer.Ordinal).ToList();
            if (members.Count == 0)
            {
                continue;
            }

            double margin = members.Average(s => s.Policy.Loans.LenderMargin);
            (double Ratio, string Text) worst = (0, string.Empty);
            bool ready = true;
            for (int r = 0; r < ResizingController.ResourceCount; r++)
            {
                if (pass.BudgetOf(set, r) is not { } budget)
                {
                    continue;
                }

                var (f, count) = _sums.TryGetValue((set, r), out var e) ? e : (ExponentialSmoothingForecaster.Holt(), 0);
                f.Update(members.Sum(s => s.Usage![r]));
                if (++count % pass.Options.RetrainEvery == 0)
                {
                    f.Refit();
                }

                _sums[(set, r)] = (f, count);
                ready &= count >= MinPasses;
                if (count < MinPasses)
                {
                    continue;
                }

                double need = f.Forecast(steps, pass.Options.Confidence).Upper * (1 + margin);
                if (need / budget > worst.Ratio)
                {
                    worst = (need / budget, string.Create(CultureInfo.InvariantCulture,
                        $"{Names[r]}: {ResizeAdvisor(options.ScaleOutLeadTime)} forecast upper bound {need / (1 + margin):0.##} plus the lenders' {margin:P0} margin = {need:0.##} against a budget of {budget:0.##}"));
                }
            }

            if (!ready || (_lastRequest.TryGetValue(set, out var last) && now - last < options.ScaleCooldown))
            {
                continue;
            }

            var services = members.Select(s => s.Vm.Labels.GetValueOrDefault("service")).Distinct().Take(2).ToList();
            string? service = services.Count == 1 ? services[0] : null; // the set's service when its VMs share one
            if (worst.Ratio > 1)
            {
                int instances = Math.Max(1, (int)Math.Ceiling((worst.Ratio - 1) * members.Count));
                var template = members[0];
                string reason = $"host set {set} needs {instances} more instance(s) by {now + options.ScaleOutLeadTime:HH:mm}: {worst.Text}";
                actions.Add(new ScaleOutAction(template.Vm.Id, template.Host.Id, new ScaleOutRequest(set, service, instances, reason, now + options.ScaleOutLeadTime, template.Vm.Id), reason) { Handler = handler });
                await Requested(context, set, now, reason).ConfigureAwait(false);
                _lowSince.Remove(set);
                continue;
            }

            if (worst.Ratio >= options.ScaleInShare || members.Count < 2)
            {
                _lowSince.Remove(set);
                continue;
            }

            var since = _lowSince.TryGetValue(set, out var s0) ? s0 : _lowSince[set] = now;
            if (now - since >= options.ScaleInHold)
            {
                var candidates = members.OrderBy(s => s.Usage![ResizingController.Cpu]).Select(s => s.Vm.Id).ToList();
                var victim = members.First(s => s.Vm.Id == candidates[0]);
                string reason = $"host set {set} stayed under {options.ScaleInShare:P0} of its budget for {options.ScaleInHold}: {worst.Text}";
                actions.Add(new ScaleInAction(victim.Vm.Id, victim.Host.Id, new ScaleInRequest(set, service, 1, reason, candidates), reason) { Handler = handler });
                await Requested(context, set, now, reason).ConfigureAwait(false);
                _lowSince.Remove(set);
            }
        }

        return actions;
    }

    private static readonly string[] Names = ["cpu", "memory", "disk IOPS", "network"];

    private static string ResizeAdvisor(TimeSpan lead) => Adjustment.ResizeAdvisor.Duration(lead);

    private async Task Requested(ControllerContext context, string set, DateTimeOffset now, string reason)
    {
        _lastRequest[set] = now;
        await context.AuditAsync(AuditKind.ScaleRequested, reason).ConfigureAwait(false);
    }
}

/// <summary>Asks the platform for more instances of a host set (through the executor: modes, limits, audit).</summary>
/// <param name="Vm">A VM of the set the new instances are made like.</param>
/// <param name="Host">Where it runs.</param>
/// <param name="Request">The request.</param>
/// <param name="Reason">Why.</param>
internal sealed record ScaleOutAction(VmId Vm, HostId Host, ScaleOutRequest Request, string Reason) : ClusterAction(Vm, Host, Reason)
{
    public const string KindName = "scale-out";

    public override string Kind => KindName;

    public required IScaleOutHandler Handler { get; init; }

    internal async Task<string> ExecuteAsync(CancellationToken cancellationToken) =>
        (await Handler.ScaleOutAsync(Request, cancellationToken).ConfigureAwait(false)).Message;
}

/// <summary>Asks the platform to retire instances of a host set (through the executor).</summary>
/// <param name="Vm">The first candidate to remove.</param>
/// <param name="Host">Where it runs.</param>
/// <param name="Request">The request.</param>
/// <param name="Reason">Why.</param>
internal sealed record ScaleInAction(VmId Vm, HostId Host, ScaleInRequest Request, string Reason) : ClusterAction(Vm, Host, Reason)
{
    public const string KindName = "scale-in";

    public override string Kind => KindName;

    public required IScaleOutHandler Handler { get; init; }

    internal async Task<string> ExecuteAsync(CancellationToken cancellationToken) =>
        (await Handler.ScaleInAsync(Request, cancellationToken).ConfigureAwait(false)).Message;
}
