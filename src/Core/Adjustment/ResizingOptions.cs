namespace VmEcosystem.Adjustment;

/// <summary>Proactive resizing (configuration section <c>VmEcosystem:Resizing</c>).</summary>
public sealed class ResizingOptions
{
    /// <summary>Path of the JSON policy document; without one, the policies are read inline from <c>VmEcosystem:Resizing:Policies</c>.</summary>
    public string? PolicyFile { get; set; }

    /// <summary>Reload the document when the file changes (a document with errors is reported and the last good version kept).</summary>
    public bool Watch { get; set; } = true;

    /// <summary>Time between two passes of the resizing controller (also the forecasts' step: a policy's horizon is counted in these).</summary>
    public TimeSpan Interval { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Confidence of the forecast interval whose upper bound is the signal.</summary>
    public double Confidence { get; set; } = 0.9;

    /// <summary>The forecasters re-estimate their parameters every this many passes.</summary>
    public int RetrainEvery { get; set; } = 12;

    /// <summary>After a shrink, use at or above this share of the new size means the shrink made things worse: it is reverted.</summary>
    public double SaturatedAbove { get; set; } = 0.98;

    /// <summary>
    /// A resource whose use sits at or above <see cref="SaturatedAbove"/> of its cap (a CPU quota, an IOPS or bandwidth
    /// limit) hides its real demand: a grow then is at least this factor of the cap.
    /// </summary>
    public double SaturatedGrowth { get; set; } = 1.5;

    /// <summary>
    /// After a shrink, application latency (from the provider's samples or an <c>IApplicationMetricsSource</c>) above
    /// this multiple of its level before the shrink means the shrink made things worse: it is reverted.
    /// </summary>
    public double WorseLatencyRatio { get; set; } = 1.25;

    /// <summary>How long a reverted shrink keeps the VM from shrinking below the restored size.</summary>
    public TimeSpan RollbackMemory { get; set; } = TimeSpan.FromHours(1);

    /// <summary>Share of its memory use a guest keeps when shrunk (it cannot give back what it uses).</summary>
    public double GuestMemoryKeep { get; set; } = 1.05;

    /// <summary>Validates the options; every message names the setting.</summary>
    public IReadOnlyList<string> Validate()
    {
        const string p = "VmEcosystem:Resizing:";
        var errors = new List<string>();
        if (Interval < TimeSpan.FromSeconds(1) || Interval > TimeSpan.FromDays(1))
        {
            errors.Add($"{p}Interval must be between 1 second and 1 day; got {Interval}.");
        }

        if (!(Confidence is > 0.5 and < 1))
        {
            errors.Add($"{p}Confidence must be within (0.5, 1); got {Confidence}.");
        }

        if (RetrainEvery < 1)
        {
            errors.Add($"{p}RetrainEvery must be at least 1; got {RetrainEvery}.");
        }

        if (!(SaturatedAbove is > 0 and <= 1))
        {
            errors.Add($"{p}SaturatedAbove must be within (0, 1]; got {SaturatedAbove}.");
        }

        if (!(SaturatedGrowth is >= 1 and <= 10))
        {
            errors.Add($"{p}SaturatedGrowth must be within [1, 10]; got {SaturatedGrowth}.");
        }

        if (!(WorseLatencyRatio is > 1 and <= 10))
        {
            errors.Add($"{p}WorseLatencyRatio must be within (1, 10]; got {WorseLatencyRatio}.");
        }

        if (RollbackMemory < TimeSpan.Zero)
        {
            errors.Add($"{p}RollbackMemory must not be negative; got {RollbackMemory}.");
        }

        if (!(GuestMemoryKeep is >= 1 and <= 2))
        {
            errors.Add($"{p}GuestMemoryKeep must be within [1, 2]; got {GuestMemoryKeep}.");
        }

        return errors;
    }
}
