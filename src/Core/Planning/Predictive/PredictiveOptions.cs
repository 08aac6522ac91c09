namespace VmEcosystem.Planning.Predictive;

/// <summary>Settings of the predictive policy (<see cref="PredictivePolicy"/>).</summary>
public sealed record PredictiveOptions
{
    /// <summary>A host is overloaded when its predicted load exceeds this share of its capacity.</summary>
    public double TargetUtilization { get; init; } = 1.0;

    /// <summary>Consolidation fills targets only up to this share of capacity (room for what forecasts miss).</summary>
    public double ConsolidationUtilization { get; init; } = 0.9;

    /// <summary>
    /// Hosts whose predicted load is below this share of capacity are candidates for evacuation. Just under
    /// <see cref="ConsolidationUtilization"/> by default: an active host costs its idle power (about 90 W on the
    /// servers modelled) whatever its load, so any host whose VMs all fit elsewhere is worth emptying; cooldowns and
    /// settle times, not this threshold, keep the churn down.
    /// </summary>
    public double EvacuationThreshold { get; init; } = 0.85;

    /// <summary>Assumed average correlation of VMs' deviations above their expected demand.</summary>
    public double GrowthCorrelation { get; init; } = 0.3;

    /// <summary>A VM is not moved again within this time.</summary>
    public TimeSpan VmCooldown { get; init; } = TimeSpan.FromHours(1);

    /// <summary>A VM never goes back to the host it left within this time (no ping-pong).</summary>
    public TimeSpan Hysteresis { get; init; } = TimeSpan.FromHours(4);

    /// <summary>A host that received VMs is not evacuated within this time.</summary>
    public TimeSpan HostSettleTime { get; init; } = TimeSpan.FromHours(1);

    /// <summary>Concurrent migrations touching one host (in plus out).</summary>
    public int MaxMigrationsPerHost { get; init; } = 8;

    /// <summary>Concurrent migrations in the whole cluster.</summary>
    public int MaxMigrationsInCluster { get; init; } = 10_000;

    /// <summary>Hosts evacuated in one pass.</summary>
    public int MaxEvacuationsPerPass { get; init; } = int.MaxValue;

    /// <summary>Refuse targets whose memory (sum of configured VM memory) would be exceeded.</summary>
    public bool EnforceMemory { get; init; } = true;

    /// <summary>Clusters with fewer hosts are searched exhaustively; larger ones through a free-capacity index.</summary>
    public int ExhaustiveSearchBelowHosts { get; init; } = 1024;

    /// <summary>Candidates the free-capacity index returns from each end (tightest fit, most room).</summary>
    public int CandidatesPerEnd { get; init; } = 32;

    /// <summary>Consolidation stops after this many hosts in a row could not be emptied (the rest are fuller still).</summary>
    public int MaxConsecutiveFailedEvacuations { get; init; } = 16;

    /// <summary>Close alternatives recorded per decision (0 for speed).</summary>
    public int AlternativesToExplain { get; init; } = 3;

    /// <summary>Weights of the scorers.</summary>
    public PredictiveWeights Weights { get; init; } = new();

    /// <summary>Checks the values; throws <see cref="ArgumentException"/> naming the bad one.</summary>
    public void Validate()
    {
        if (Weights is null || !(Weights.Energy >= 0 && Weights.Fit >= 0 && Weights.MemoryFit >= 0 && Weights.Contention >= 0 && Weights.Migration >= 0))
        {
            throw new ArgumentException("PredictiveOptions.Weights must all be non-negative.");
        }

        if (!(TargetUtilization > 0 && TargetUtilization <= 1.5) || !(ConsolidationUtilization > 0 && ConsolidationUtilization <= TargetUtilization))
        {
            throw new ArgumentException("PredictiveOptions: 0 < ConsolidationUtilization <= TargetUtilization <= 1.5.");
        }

        if (!(EvacuationThreshold >= 0 && EvacuationThreshold < ConsolidationUtilization))
        {
            throw new ArgumentException("PredictiveOptions.EvacuationThreshold must be within [0, ConsolidationUtilization).");
        }

        if (!(GrowthCorrelation >= 0 && GrowthCorrelation <= 1))
        {
            throw new ArgumentException($"PredictiveOptions.GrowthCorrelation must be within 0..1; got {GrowthCorrelation}.");
        }

        if (VmCooldown < TimeSpan.Zero || Hysteresis < TimeSpan.Zero || HostSettleTime < TimeSpan.Zero)
        {
            throw new ArgumentException("PredictiveOptions: cooldown, hysteresis and settle times must be non-negative.");
        }

        if (MaxMigrationsPerHost < 1 || MaxMigrationsInCluster < 1 || MaxEvacuationsPerPass < 0 || AlternativesToExplain < 0)
        {
            throw new ArgumentException("PredictiveOptions: migration limits must be positive, evacuations and alternatives non-negative.");
        }
    }
}

/// <summary>
/// Weights of the predictive policy's scorers (the forecast horizon and interval level are the planning session's:
/// <see cref="PlanningSessionOptions"/>).
/// </summary>
public sealed record PredictiveWeights
{
    /// <summary>Predicted power increase.</summary>
    public double Energy { get; init; } = 1;

    /// <summary>Resource fit.</summary>
    public double Fit { get; init; } = 0.5;

    /// <summary>Memory fit (only where memory is enforced, <see cref="PredictiveOptions.EnforceMemory"/>).</summary>
    public double MemoryFit { get; init; } = 2;

    /// <summary>Future contention on the target.</summary>
    public double Contention { get; init; } = 1;

    /// <summary>Migration cost.</summary>
    public double Migration { get; init; } = 0.2;
}
