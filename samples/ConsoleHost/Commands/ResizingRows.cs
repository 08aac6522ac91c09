using System.Globalization;
using VmEcosystem.Experiments;
using VmEcosystem.Policies;
using VmEcosystem.Runtime;
using VmEcosystem.Simulation;

namespace VmEcosystem.ConsoleHost.Commands;

/// <summary>
/// `simulate --resize`: the runtime's day with its resizing controller on the simulator's allocation model, and the
/// day's traces again with per-VM allocations resized predictively and reactively (the experiment harness).
/// </summary>
internal static class ResizingRows
{
    /// <summary>Adds the runtime day's and both modes' figures to <paramref name="rows"/> and returns them for the JSON line.</summary>
    public static object Run(IReadOnlyList<DemandTrace> traces, PolicySet policies, List<(string, string)> rows, AllocationShortfall runtimeDay, RuntimeStatus status, CancellationToken ct)
    {
        var predictive = ResizingExperiment.Run(traces, policies, ResizingMode.Predictive, cancellationToken: ct);
        var reactive = ResizingExperiment.Run(traces, policies, ResizingMode.Reactive, cancellationToken: ct);
        var inv = CultureInfo.InvariantCulture;
        rows.Add(("Resizing policies (version)", policies.Version));
        int resizes = Succeeded(status, "hot-plug") + Succeeded(status, "resource-controls");
        rows.Add(("Runtime resizing on the simulator: short VM-minutes, unserved core-h, CPU slack",
            $"{runtimeDay.ShortVmMinutes.ToString("F0", inv)}, {runtimeDay.UnservedCoreHours.ToString("F1", inv)}, {runtimeDay.CpuSlackPercent.ToString("F1", inv)}%"));
        rows.Add(("Runtime resizing on the simulator: changes applied", resizes.ToString(inv)));
        rows.Add(("Resizing: SLO-violation VM-minutes, predictive / reactive", $"{predictive.SloViolationMinutes.ToString(inv)} / {reactive.SloViolationMinutes.ToString(inv)}"));
        rows.Add(("Resizing: CPU slack, predictive / reactive", $"{predictive.SlackPercent.ToString("F1", inv)}% / {reactive.SlackPercent.ToString("F1", inv)}%"));
        if (predictive.WithMemory)
        {
            rows.Add(("Resizing: memory slack, predictive / reactive", $"{predictive.MemorySlackPercent.ToString("F1", inv)}% / {reactive.MemorySlackPercent.ToString("F1", inv)}%"));
        }

        rows.Add(("Resizing (predictive): resizes, rollbacks, planner requests", $"{predictive.Resizes.ToString(inv)}, {predictive.Rollbacks.ToString(inv)}, {predictive.PlannerRequests.ToString(inv)}"));
        return new
        {
            policyVersion = policies.Version,
            runtime = new
            {
                shortVmMinutes = runtimeDay.ShortVmMinutes,
                unservedCoreHours = runtimeDay.UnservedCoreHours,
                slackPercent = runtimeDay.CpuSlackPercent,
                allocatedCoreHours = runtimeDay.AllocatedCoreHours,
                changes = resizes,
            },
            predictive = Figures(predictive),
            reactive = Figures(reactive),
        };
    }

    private static int Succeeded(RuntimeStatus status, string kind) => status.Actions.TryGetValue(kind, out var c) ? (int)c.Succeeded : 0;

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
