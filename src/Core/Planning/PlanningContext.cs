namespace VmEcosystem.Planning;

/// <summary>
/// What a planning pass knows besides the cluster state: seeded randomness, the tick length (for predictions
/// measured in ticks), migration bandwidth, and the optional inputs later capabilities attach (forecasts,
/// shadow-slot reservations, cooldowns, the dependency graph).
/// </summary>
public sealed class PlanningContext
{
    private readonly Dictionary<Type, object> _features = [];

    /// <summary>Creates a context.</summary>
    /// <param name="random">Seeded randomness for stochastic strategies.</param>
    /// <param name="tickIntervalSeconds">Seconds between planning passes.</param>
    /// <param name="migrationBandwidthShare">Share of a host's bandwidth used by a migration.</param>
    public PlanningContext(Random random, double tickIntervalSeconds = 300, double migrationBandwidthShare = 0.5)
    {
        ArgumentNullException.ThrowIfNull(random);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(tickIntervalSeconds);
        Random = random;
        TickIntervalSeconds = tickIntervalSeconds;
        MigrationBandwidthShare = migrationBandwidthShare;
    }

    /// <summary>Wall-clock (or simulated) time of the pass; cooldowns and reservations compare against it.</summary>
    public DateTimeOffset Now { get; set; } = DateTimeOffset.UnixEpoch;

    /// <summary>Seeded randomness.</summary>
    public Random Random { get; }

    /// <summary>Seconds between planning passes.</summary>
    public double TickIntervalSeconds { get; }

    /// <summary>Share of a host's network bandwidth a migration may use.</summary>
    public double MigrationBandwidthShare { get; }

    /// <summary>The concurrency limits of the executor that will run the plans (null in a batch run): plans stay within them.</summary>
    public ExecutorConcurrency? ExecutorLimits { get; set; }

    /// <summary>Attaches a feature (forecasts, reservation ledger, ...), replacing one of the same type.</summary>
    public PlanningContext With<T>(T feature)
        where T : class
    {
        ArgumentNullException.ThrowIfNull(feature);
        _features[typeof(T)] = feature;
        return this;
    }

    /// <summary>Gets an attached feature, or null.</summary>
    public T? Get<T>()
        where T : class => _features.TryGetValue(typeof(T), out var f) ? (T)f : null;

    /// <summary>Seconds a migration of <paramref name="memoryMiB"/> takes into a host with <paramref name="bandwidthMbps"/>.</summary>
    public double MigrationSeconds(double memoryMiB, double bandwidthMbps) =>
        memoryMiB / (bandwidthMbps * MigrationBandwidthShare / 8);

    /// <summary>The live-migration model behind <see cref="MigrationSeconds(double, double, double)"/>.</summary>
    public Reservations.PreCopyMigrationModel MigrationModel { get; init; } = new();

    /// <summary>
    /// Seconds a pre-copy migration needs when the guest dirties <paramref name="dirtyMiBps"/>, under
    /// <see cref="MigrationModel"/>: its rounds, stop-and-copy and switch-over at the migration's share of the link.
    /// </summary>
    public double MigrationSeconds(double memoryMiB, double bandwidthMbps, double dirtyMiBps) =>
        MigrationModel.Estimate(Math.Max(0, memoryMiB), Math.Max(0, dirtyMiBps), Math.Max(1e-9, bandwidthMbps * MigrationBandwidthShare / 8)).TotalSeconds;
}
