using System.Globalization;

namespace VmEcosystem.Planning.CloudSim;

/// <summary>
/// THR: a host is overloaded when the sum of its VMs' CPU requests exceeds a fixed share of its capacity
/// (CloudSim's <c>PowerVmAllocationPolicyMigrationStaticThreshold</c>).
/// </summary>
public sealed class StaticThresholdDetector : IOverloadDetector
{
    /// <summary>Creates the detector.</summary>
    /// <param name="threshold">Utilisation above which a host is overloaded (0..1].</param>
    public StaticThresholdDetector(double threshold)
    {
        if (!(threshold > 0 && threshold <= 1))
        {
            throw new ArgumentOutOfRangeException(nameof(threshold), threshold, "The THR threshold must be within (0, 1].");
        }

        Threshold = threshold;
    }

    /// <summary>The threshold.</summary>
    public double Threshold { get; }

    /// <inheritdoc />
    public string Name => $"THR({Threshold.ToString(CultureInfo.InvariantCulture)})";

    /// <inheritdoc />
    public bool IsOverloaded(PlanningState state, int host) =>
        state.RequestedMipsOn(host) / state.HostTotalMips[host] > Threshold;

    /// <inheritdoc />
    public bool IsOverloadedWith(PlanningState state, int host, int vm) =>
        (state.RequestedMipsOn(host) + state.VmRequestedMips[vm]) / state.HostTotalMips[host] > Threshold;

    /// <inheritdoc />
    public TriggerEvidence Explain(PlanningState state, int host)
    {
        double u = state.RequestedMipsOn(host) / state.HostTotalMips[host];
        return new TriggerEvidence("overload", $"{Name}: requested utilisation {u:F3} > {Threshold:F3}", u, null, Threshold);
    }
}

/// <summary>
/// Base of CloudSim's adaptive detectors: they need a long enough host utilisation history and fall back to
/// THR(0.7) when it is shorter.
/// </summary>
public abstract class HistoryDetector : IOverloadDetector
{
    private readonly StaticThresholdDetector _fallback;

    /// <summary>Initialises the detector.</summary>
    /// <param name="safetyParameter">The detector's safety parameter s.</param>
    /// <param name="fallbackThreshold">Threshold of the THR fallback.</param>
    protected HistoryDetector(double safetyParameter, double fallbackThreshold = 0.7)
    {
        if (!double.IsFinite(safetyParameter) || safetyParameter < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(safetyParameter), safetyParameter, "The safety parameter must be non-negative.");
        }

        SafetyParameter = safetyParameter;
        _fallback = new StaticThresholdDetector(fallbackThreshold);
    }

    /// <summary>The safety parameter s.</summary>
    public double SafetyParameter { get; }

    /// <inheritdoc />
    public abstract string Name { get; }

    /// <summary>The fallback detector used while history is short.</summary>
    public IOverloadDetector Fallback => _fallback;

    /// <inheritdoc />
    public bool IsOverloaded(PlanningState state, int host)
    {
        var history = state.HostHistory(host);
        return Decide(state, host, history, state.RequestedMipsOn(host)) ?? _fallback.IsOverloaded(state, host);
    }

    /// <inheritdoc />
    public bool IsOverloadedWith(PlanningState state, int host, int vm)
    {
        Span<double> history = stackalloc double[state.HistoryLength];
        int n = state.HostHistoryWith(host, vm, history);
        double requested = state.RequestedMipsOn(host) + state.VmRequestedMips[vm];
        return Decide(state, host, history[..n], requested, vm) ?? _fallback.IsOverloadedWith(state, host, vm);
    }

    /// <inheritdoc />
    public TriggerEvidence Explain(PlanningState state, int host)
    {
        var history = state.HostHistory(host);
        if (Describe(state, host, history, state.RequestedMipsOn(host)) is { } evidence)
        {
            return evidence;
        }

        var fb = _fallback.Explain(state, host);
        return fb with { Detail = $"{Name} has {history.Length} history points; fallback {fb.Detail}" };
    }

    /// <summary>The verdict from <paramref name="history"/> (newest first), or null to use the fallback.</summary>
    protected abstract bool? Decide(PlanningState state, int host, ReadOnlySpan<double> history, double requestedMips, int extraVm = -1);

    /// <summary>The evidence behind a verdict, or null when the fallback decides.</summary>
    protected abstract TriggerEvidence? Describe(PlanningState state, int host, ReadOnlySpan<double> history, double requestedMips);
}

/// <summary>
/// IQR: overloaded when requested utilisation exceeds 1 − s·IQR(history) (CloudSim's
/// <c>PowerVmAllocationPolicyMigrationInterQuartileRange</c>; needs 12 history points).
/// </summary>
public sealed class InterQuartileRangeDetector(double safetyParameter) : HistoryDetector(safetyParameter)
{
    /// <inheritdoc />
    public override string Name => $"IQR({SafetyParameter.ToString(CultureInfo.InvariantCulture)})";

    /// <inheritdoc />
    protected override bool? Decide(PlanningState state, int host, ReadOnlySpan<double> history, double requestedMips, int extraVm = -1)
    {
        if (history.Length < 12)
        {
            return null;
        }

        Span<double> scratch = stackalloc double[history.Length];
        double threshold = 1 - (SafetyParameter * CloudSimMath.Iqr(history, scratch));
        return requestedMips / state.HostTotalMips[host] > threshold;
    }

    /// <inheritdoc />
    protected override TriggerEvidence? Describe(PlanningState state, int host, ReadOnlySpan<double> history, double requestedMips)
    {
        if (history.Length < 12)
        {
            return null;
        }

        Span<double> scratch = stackalloc double[history.Length];
        double threshold = 1 - (SafetyParameter * CloudSimMath.Iqr(history, scratch));
        double u = requestedMips / state.HostTotalMips[host];
        return new TriggerEvidence("overload", $"{Name}: requested utilisation {u:F3} vs adaptive threshold {threshold:F3}", u, null, threshold);
    }
}

/// <summary>
/// MAD: overloaded when requested utilisation exceeds 1 − s·MAD(history) (CloudSim's
/// <c>PowerVmAllocationPolicyMigrationMedianAbsoluteDeviation</c>; needs 12 history points).
/// </summary>
public sealed class MedianAbsoluteDeviationDetector(double safetyParameter) : HistoryDetector(safetyParameter)
{
    /// <inheritdoc />
    public override string Name => $"MAD({SafetyParameter.ToString(CultureInfo.InvariantCulture)})";

    /// <inheritdoc />
    protected override bool? Decide(PlanningState state, int host, ReadOnlySpan<double> history, double requestedMips, int extraVm = -1)
    {
        if (history.Length < 12)
        {
            return null;
        }

        Span<double> scratch = stackalloc double[history.Length];
        double threshold = 1 - (SafetyParameter * CloudSimMath.Mad(history, scratch));
        return requestedMips / state.HostTotalMips[host] > threshold;
    }

    /// <inheritdoc />
    protected override TriggerEvidence? Describe(PlanningState state, int host, ReadOnlySpan<double> history, double requestedMips)
    {
        if (history.Length < 12)
        {
            return null;
        }

        Span<double> scratch = stackalloc double[history.Length];
        double threshold = 1 - (SafetyParameter * CloudSimMath.Mad(history, scratch));
        double u = requestedMips / state.HostTotalMips[host];
        return new TriggerEvidence("overload", $"{Name}: requested utilisation {u:F3} vs adaptive threshold {threshold:F3}", u, null, threshold);
    }
}

/// <summary>
/// LR: fits a line to the last 10 points of the host's utilisation history and predicts the utilisation after
/// the longest migration of its VMs; overloaded when s × prediction ≥ 1 (CloudSim's
/// <c>PowerVmAllocationPolicyMigrationLocalRegression</c>). LRR (robust) is numerically identical in CloudSim
/// 3.0.3 because its re-weighting never applies; <paramref name="robust"/> only changes the name.
/// </summary>
public sealed class LocalRegressionDetector(double safetyParameter, double tickIntervalSeconds = 300, double migrationBandwidthShare = 0.5, bool robust = false)
    : HistoryDetector(safetyParameter)
{
    private const int Points = 10;

    /// <inheritdoc />
    public override string Name => $"{(robust ? "LRR" : "LR")}({SafetyParameter.ToString(CultureInfo.InvariantCulture)})";

    /// <inheritdoc />
    protected override bool? Decide(PlanningState state, int host, ReadOnlySpan<double> history, double requestedMips, int extraVm = -1) =>
        Predict(state, host, history, extraVm) is { } p ? p >= 1 : null;

    /// <inheritdoc />
    protected override TriggerEvidence? Describe(PlanningState state, int host, ReadOnlySpan<double> history, double requestedMips) =>
        Predict(state, host, history, -1) is { } p
            ? new TriggerEvidence("overload", $"{Name}: predicted utilisation × s = {p:F3} (≥ 1 is overloaded)", p / SafetyParameter, null, 1 / SafetyParameter)
            : null;

    private double? Predict(PlanningState state, int host, ReadOnlySpan<double> history, int extraVm)
    {
        if (history.Length < Points)
        {
            return null;
        }

        Span<double> y = stackalloc double[Points];
        for (int i = 0; i < Points; i++)
        {
            y[i] = history[Points - i - 1];
        }

        var (b0, b1) = CloudSimMath.Regress(y);
        double maxMemory = 0;
        var list = state.HostVms[host];
        for (int i = 0; i < list.Count; i++)
        {
            maxMemory = Math.Max(maxMemory, state.VmMemoryMiB[list[i]]);
        }

        if (extraVm >= 0)
        {
            maxMemory = Math.Max(maxMemory, state.VmMemoryMiB[extraVm]);
        }

        double migrationSeconds = maxMemory / (state.HostBandwidthMbps[host] * migrationBandwidthShare / 8);
        double intervals = Math.Ceiling(migrationSeconds / tickIntervalSeconds);
        double predicted = b0 + (b1 * (Points + intervals));
        return predicted * SafetyParameter;
    }
}
