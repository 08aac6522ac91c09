using System.Globalization;
using VmEcosystem.Policies;

namespace VmEcosystem.Adjustment;

/// <summary>
/// What the advisor remembers about one resource of one VM between ticks (kept by the caller in an array, one per
/// VM and resource). Times are seconds on the caller's clock.
/// </summary>
internal struct ResizeTrack
{
    /// <summary>Since when the signal has stayed under the shrink threshold (NaN: it has not).</summary>
    public double LowSince;

    /// <summary>When the resource last grew (−∞: never).</summary>
    public double LastGrow;

    /// <summary>When it last changed either way (−∞: never).</summary>
    public double LastChange;

    /// <summary>A shrink that was rolled back leaves this floor ...</summary>
    public double RememberedFloor;

    /// <summary>... until this time.</summary>
    public double RememberedUntil;

    /// <summary>A track with no history.</summary>
    public static ResizeTrack New => new()
    {
        LowSince = double.NaN, LastGrow = double.NegativeInfinity, LastChange = double.NegativeInfinity,
        RememberedFloor = 0, RememberedUntil = double.NegativeInfinity,
    };
}

/// <summary>One resize the advisor proposes.</summary>
/// <param name="Resource">The resource.</param>
/// <param name="From">The current allocation.</param>
/// <param name="To">The proposed allocation (within the rule's min and max, a multiple of its step where it can be).</param>
/// <param name="Reason">Why, with the figures ("forecast upper bound 3.4 > 80% of 2").</param>
internal sealed record ResizeAdvice(PolicyResource Resource, double From, double To, string Reason)
{
    /// <summary>True for a grow.</summary>
    public bool Grows => To > From;
}

/// <summary>
/// The decision rule of proactive resizing, for one resource of one VM: grow when the signal (the forecast's upper
/// bound at the policy's horizon, or for the reactive baseline the current usage) passes <c>growAbove</c> of the
/// allocation; shrink when it has stayed under <c>shrinkBelow</c> for the hold time; the new size is the caller's
/// target, rounded up to the step and kept within [min, max], never below what the guest can give back nor below a
/// floor a rolled-back shrink left. A grow waits only for the cooldown after the last grow (a recent shrink never
/// delays serving a predicted peak); a shrink waits for the cooldown after any change. A plain function of its
/// inputs: no clock, no I/O.
/// </summary>
internal static class ResizeAdvisor
{
    /// <summary>Advises on one resource.</summary>
    /// <param name="resource">The resource.</param>
    /// <param name="rule">Its rule.</param>
    /// <param name="allocation">Current allocation.</param>
    /// <param name="signal">What the thresholds compare with the allocation.</param>
    /// <param name="target">The size wanted when a threshold is crossed (before rounding and limits).</param>
    /// <param name="guestFloor">Least the guest can give back to (memory the guest uses; 0: no limit).</param>
    /// <param name="now">Now, seconds.</param>
    /// <param name="track">The resource's history (updated).</param>
    /// <param name="signalName">How the reason names the signal ("15-min forecast upper bound").</param>
    public static ResizeAdvice? Advise(
        PolicyResource resource, ResourceRule rule, double allocation, double signal, double target, double guestFloor,
        double now, ref ResizeTrack track, string signalName)
    {
        if (signal > rule.GrowAbove * allocation || allocation < rule.Min)
        {
            track.LowSince = double.NaN;
            if (now - track.LastGrow < rule.Cooldown.TotalSeconds)
            {
                return null;
            }

            double to = Limit(RoundUp(target, rule.Step), rule);
            return to > allocation
                ? new ResizeAdvice(resource, allocation, to, $"{signalName} {Format(signal)} > {Percent(rule.GrowAbove)} of {Format(allocation)}")
                : null;
        }

        if (!(signal < rule.ShrinkBelow * allocation) && allocation <= rule.Max)
        {
            track.LowSince = double.NaN;
            return null;
        }

        if (double.IsNaN(track.LowSince))
        {
            track.LowSince = now;
        }

        if (now - track.LowSince < rule.ShrinkHold.TotalSeconds || now - track.LastChange < rule.Cooldown.TotalSeconds)
        {
            return allocation > rule.Max ? Over(resource, rule, allocation) : null;
        }

        double floor = Math.Max(guestFloor, now < track.RememberedUntil ? track.RememberedFloor : 0);
        double shrunk = Limit(RoundUp(Math.Max(target, floor), rule.Step), rule);
        return shrunk < allocation
            ? new ResizeAdvice(resource, allocation, shrunk,
                $"{signalName} {Format(signal)} < {Percent(rule.ShrinkBelow)} of {Format(allocation)} for {Duration(rule.ShrinkHold)}")
            : null;
    }

    /// <summary>Records that a change was applied at <paramref name="now"/>.</summary>
    public static void Applied(ref ResizeTrack track, bool grew, double now)
    {
        track.LastChange = now;
        track.LowSince = double.NaN;
        if (grew)
        {
            track.LastGrow = now;
        }
    }

    /// <summary>Records that a shrink made things worse: no shrink below <paramref name="restoredTo"/> until <paramref name="until"/>.</summary>
    public static void Remember(ref ResizeTrack track, double restoredTo, double until)
    {
        track.RememberedFloor = restoredTo;
        track.RememberedUntil = until;
    }

    /// <summary><paramref name="value"/> rounded up to a multiple of <paramref name="step"/>.</summary>
    public static double RoundUp(double value, double step)
    {
        double n = Math.Ceiling((value / step) - 1e-9);
        return Math.Max(0, n) * step;
    }

    /// <summary><paramref name="value"/> kept within the rule's [min, max].</summary>
    public static double Limit(double value, ResourceRule rule) => Math.Min(rule.Max, Math.Max(value, rule.Min));

    private static ResizeAdvice Over(PolicyResource resource, ResourceRule rule, double allocation) =>
        new(resource, allocation, rule.Max, $"allocation {Format(allocation)} is above the policy's max {Format(rule.Max)}");

    /// <summary>"15 min", "2 s": how reasons name a duration.</summary>
    public static string Duration(TimeSpan t) =>
        t >= TimeSpan.FromMinutes(1) ? $"{Format(t.TotalMinutes)} min" : $"{Format(t.TotalSeconds)} s";

    private static string Format(double v) => v.ToString("0.##", CultureInfo.InvariantCulture);

    private static string Percent(double share) => (share * 100).ToString("0.#", CultureInfo.InvariantCulture) + "%";
}
