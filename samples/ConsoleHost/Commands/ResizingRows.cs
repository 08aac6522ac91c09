using System.Globalization;
using VmEcosystem.Experiments;
using VmEcosystem.Policies;
using VmEcosystem.Simulation;

namespace VmEcosystem.ConsoleHost.Commands;

/// <summary>`simulate --resize`: the day's traces again, with per-VM allocations resized predictively and reactively.</summary>
internal static class ResizingRows
{
    /// <summary>Runs both modes, adds their figures to <paramref name="rows"/> and returns them for the JSON line.</summary>
    public static object Run(IReadOnlyList<DemandTrace> traces, PolicySet policies, List<(string, string)> rows, CancellationToken ct)
    {
        var predictive = ResizingExperiment.Run(traces, policies, ResizingMode.Predictive, cancellationToken: ct);
        var reactive = ResizingExperiment.Run(traces, policies, ResizingMode.Reactive, cancellationToken: ct);
        var inv = CultureInfo.InvariantCulture;
        rows.Add(("Resizing policies (version)", policies.Version));
        rows.Add(("Resizing: SLO-violation VM-minutes, predictive / reactive", $"{predictive.SloViolationMinutes.ToString(inv)} / {reactive.SloViolationMinutes.ToString(inv)}"));
        rows.Add(("Resizing: CPU slack, predictive / reactive", $"{predictive.SlackPercent.ToString("F1", inv)}% / {reactive.SlackPercent.ToString("F1", inv)}%"));
        if (predictive.WithMemory)
        {
            rows.Add(("Resizing: memory slack, predictive / reactive", $"{predictive.MemorySlackPercent.ToString("F1", inv)}% / {reactive.MemorySlackPercent.ToString("F1", inv)}%"));
        }

        rows.Add(("Resizing (predictive): resizes, rollbacks, planner requests", $"{predictive.Resizes.ToString(inv)}, {predictive.Rollbacks.ToString(inv)}, {predictive.PlannerRequests.ToString(inv)}"));
        return new { policyVersion = policies.Version, predictive = Figures(predictive), reactive = Figures(reactive) };
    }

    private static object Figures(ResizingRunResult r) => new
    {
        sloViolationMinutes = r.SloViolationMinutes,
        unservedCoreHours = r.UnservedCoreHours,
        slackPercent = r.SlackPercent,
        memorySlackPercent = r.WithMemory ? r.MemorySlackPercent : (double?)null,
        resizes = r.Resizes,
        rollbacks = r.Rollbacks,
        plannerRequests = r.PlannerRequests,
    };
}
