using System.Diagnostics;
using VmEcosystem.Adjustment;
using VmEcosystem.Policies;
using VmEcosystem.Simulation;

namespace VmEcosystem.Experiments;

/// <summary>
/// A simulated day of per-VM allocations separate from demand: each VM has a CPU allocation (cores of quota, its
/// vCPUs hot-plugged to match) and, when the traces carry memory, a memory allocation; demand above the allocation
/// is unserved (an SLO violation, counted per VM-minute and priority). Every tick a controller proposes resizes under
/// the policy set (<see cref="ResizeAdvisor"/>), each host shares its room among them (<see cref="ResizeArbiter"/>:
/// what does not fit is a request to the planner, never an overcommit), and a change takes effect after the hot-plug
/// delay. A shrink after which the VM falls short of demand its old size covered is rolled back and remembered.
/// Accounting is per minute with the traces' interpolation; memory shrinks stop at what the guest uses.
/// </summary>
public static class ResizingExperiment
{
    /// <summary>Runs one mode over <paramref name="traces"/> (all the same length).</summary>
    /// <exception cref="ArgumentException">No traces, traces of different lengths, or a mode unknown.</exception>
    public static ResizingRunResult Run(
        IReadOnlyList<DemandTrace> traces, PolicySet policies, ResizingMode mode, ResizingRunOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(traces);
        ArgumentNullException.ThrowIfNull(policies);
        if (traces.Count == 0 || traces.Any(t => t.Length != traces[0].Length))
        {
            throw new ArgumentException("A resizing run needs traces, all of the same length.", nameof(traces));
        }

        var o = options ?? new ResizingRunOptions();
        var wall = Stopwatch.StartNew();
        var day = new ResizingDay(traces, policies, o);
        double tick = o.Tick.TotalSeconds;
        int ticks = (int)Math.Floor((traces[0].Length * traces[0].IntervalSeconds / tick) + 1e-9), warm = (int)Math.Round(o.WarmUp / o.Tick);
        for (int k = 0; k < ticks; k++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            double now = k * tick;
            day.Observe(k, learn: mode == ResizingMode.Predictive, retrain: k % Math.Max(1, o.RetrainEveryTicks) == 0);
            if (k >= warm && mode != ResizingMode.Static)
            {
                day.Control(k, now, mode);
            }

            day.Account(now, tick);
        }

        return day.Result(mode, ticks * tick, wall.Elapsed.TotalSeconds);
    }
}
