namespace VmEcosystem.Forecasting;

/// <summary>Settings of <see cref="WorkloadProfiler"/> (section <c>VmEcosystem:Forecasting</c>).</summary>
public sealed class WorkloadProfilerOptions
{
    /// <summary>Interval between metric samples.</summary>
    public TimeSpan SampleInterval { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Horizons forecasts are tracked and calibrated at.</summary>
    public IList<TimeSpan> Horizons { get; set; } = [TimeSpan.FromMinutes(5), TimeSpan.FromMinutes(15), TimeSpan.FromHours(1)];

    /// <summary>How often local models are refitted and the global model refreshed.</summary>
    public TimeSpan RetrainInterval { get; set; } = TimeSpan.FromHours(1);

    /// <summary>Interval level of forecasts.</summary>
    public double Confidence { get; set; } = 0.95;

    /// <summary>Samples kept per VM and metric.</summary>
    public int HistoryCapacity { get; set; } = 288;

    /// <summary>Method for CPU: <c>auto</c> (global model with local fallbacks) or any local method name.</summary>
    public string CpuMethod { get; set; } = "auto";

    /// <summary>Method for memory.</summary>
    public string MemoryMethod { get; set; } = "holt_damped";

    /// <summary>Method for network.</summary>
    public string NetworkMethod { get; set; } = "median24";

    /// <summary>Method for disk.</summary>
    public string DiskMethod { get; set; } = "median24";

    /// <summary>Samples of history the global model needs before its first training.</summary>
    public int GlobalWarmupSamples { get; set; } = 96;

    /// <summary>A VM that sends no sample for this many rounds is forgotten.</summary>
    public int EvictAfterMissedRounds { get; set; } = 12;

    /// <summary>Hot spot: forecast growth over the longest horizon, as a share of the VM's allocation, that counts as rising.</summary>
    public double RisingShareOfAllocation { get; set; } = 0.25;

    /// <summary>Hot spot: 95 % interval width at the longest horizon, as a share of the allocation, that counts as volatile.</summary>
    public double VolatileShareOfAllocation { get; set; } = 0.6;

    /// <summary>Prior of the average pairwise correlation of VM forecast errors, used until enough residuals exist.</summary>
    public double CorrelationPrior { get; set; } = 0.3;

    /// <summary>Checks every value; the messages name the setting.</summary>
    public IEnumerable<string> Validate()
    {
        const string p = "VmEcosystem:Forecasting:";
        if (SampleInterval <= TimeSpan.Zero)
        {
            yield return $"{p}SampleInterval must be positive; got {SampleInterval}.";
        }

        if (Horizons.Count == 0 || Horizons.Any(h => h <= TimeSpan.Zero))
        {
            yield return $"{p}Horizons needs at least one positive horizon.";
        }

        if (RetrainInterval < SampleInterval)
        {
            yield return $"{p}RetrainInterval ({RetrainInterval}) must be at least SampleInterval ({SampleInterval}).";
        }

        if (!(Confidence > 0 && Confidence < 1))
        {
            yield return $"{p}Confidence must be within (0, 1); got {Confidence}.";
        }

        if (HistoryCapacity < 24)
        {
            yield return $"{p}HistoryCapacity must be at least 24; got {HistoryCapacity}.";
        }

        foreach (var (name, method) in new[] { ("CpuMethod", CpuMethod), ("MemoryMethod", MemoryMethod), ("NetworkMethod", NetworkMethod), ("DiskMethod", DiskMethod) })
        {
            if (method != "auto" && !ForecastBenchmark.LocalMethods.Contains(method))
            {
                yield return $"{p}{name} '{method}' is unknown; use auto or one of {string.Join(", ", ForecastBenchmark.LocalMethods)}.";
            }
        }

        if (!(CorrelationPrior >= 0 && CorrelationPrior <= 1))
        {
            yield return $"{p}CorrelationPrior must be within 0..1; got {CorrelationPrior}.";
        }

        if (EvictAfterMissedRounds < 1 || GlobalWarmupSamples < 48)
        {
            yield return $"{p}EvictAfterMissedRounds must be at least 1 and GlobalWarmupSamples at least 48.";
        }
    }
}
