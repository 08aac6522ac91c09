namespace VmEcosystem.Planning.Predictive;

/// <summary>
/// The predictive policy: plans from per-VM forecasts and their intervals instead of the load now. It relieves
/// hosts predicted to overload within the horizon and empties lightly loaded hosts whose VMs fit elsewhere without
/// creating future contention. Placement: maintenance, core and (optionally) memory capacity, capacity net of shadow
/// slots; scorers: energy, fit, future contention, migration cost; limits: concurrency, cooldown, hysteresis.
/// </summary>
public static class PredictivePolicy
{
    /// <summary>The policy's name in benchmarks and audits.</summary>
    public const string Name = "predictive";

    /// <summary>Composes the policy.</summary>
    public static MigrationPlanner Create(PredictiveOptions? options = null)
    {
        options ??= new PredictiveOptions();
        options.Validate();
        double rho = options.GrowthCorrelation;
        var filters = new List<IPlacementFilter> { new MaintenanceFilter(), new CoreCapacityFilter(), new PlacementConstraintFilter() };
        if (options.EnforceMemory)
        {
            filters.Add(new MemoryCapacityFilter());
        }

        // Network and disk I/O count where the provider reports them (no-ops otherwise).
        filters.Add(new NetworkCapacityFilter());
        filters.Add(new DiskCapacityFilter());

        filters.Add(new PredictedCapacityFilter(rho, options.TargetUtilization));
        var w = options.Weights;
        var scorers = new List<IPlacementScorer>
        {
            new EnergyScorer(rho) { Weight = w.Energy },
            new ResourceFitScorer(rho) { Weight = w.Fit },
            new FutureContentionScorer(rho) { Weight = w.Contention },
            new MigrationCostScorer { Weight = w.Migration },
        };
        if (options.EnforceMemory && w.MemoryFit > 0)
        {
            scorers.Add(new MemoryFitScorer { Weight = w.MemoryFit });
        }

        return new MigrationPlanner(
            Name,
            [new PredictiveOverloadStage(options), new PredictiveConsolidationStage(options)],
            filters,
            scorers,
            [
                new ConcurrencyLimit(options.MaxMigrationsPerHost, options.MaxMigrationsInCluster),
                new CooldownLimit(options.VmCooldown),
                new HysteresisLimit(options.Hysteresis),
                new OneMovePerPassLimit(),
            ],
            new PlannerSettings
            {
                Candidates = new FreeCapacityIndex(rho, options.CandidatesPerEnd) { ExhaustiveBelow = options.ExhaustiveSearchBelowHosts },
                AlternativesToExplain = options.AlternativesToExplain,
                UsesForecasts = true,
            });
    }
}
