using VmEcosystem.Cluster;
using VmEcosystem.Ecosystem.Graph;
using VmEcosystem.Ecosystem.Learning;
using VmEcosystem.Planning;

namespace VmEcosystem.Ecosystem.Planning;

/// <summary>Limits and weights of the standalone ecosystem policy.</summary>
public sealed record EcosystemPolicyOptions
{
    /// <summary>Most migrations touching one host in one pass (as source or target).</summary>
    public int MaxMigrationsPerHost { get; init; } = 2;

    /// <summary>Most migrations planned per pass.</summary>
    public int MaxMigrationsInCluster { get; init; } = 8;

    /// <summary>A VM does not move again within this time.</summary>
    public TimeSpan VmCooldown { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>A VM never returns to a host it left within this time.</summary>
    public TimeSpan Hysteresis { get; init; } = TimeSpan.FromHours(1);

    /// <summary>Highest predicted utilisation a target may reach.</summary>
    public double TargetUtilization { get; init; } = 0.9;

    /// <summary>Repair settings.</summary>
    public DependencyRepairOptions Repair { get; init; } = new();
}

/// <summary>
/// A policy that only repairs dependencies: the dependency repair stage; filters for maintenance, per-core and
/// predicted CPU capacity, memory and the required-dependency guard; scorers for satisfaction, fit and migration
/// cost (learned when a learner is given, with a penalty for targets where migrations recently failed); limits
/// for concurrency, cooldown and hysteresis. Add the ecosystem to another policy with
/// <see cref="EcosystemPlanning.WithEcosystem"/> instead.
/// </summary>
public static class EcosystemPolicy
{
    /// <summary>The policy's name.</summary>
    public const string Name = "ecosystem";

    /// <summary>Composes the policy.</summary>
    public static MigrationPlanner Create(EcosystemGraph graph, EcosystemPolicyOptions? options = null, MigrationOutcomeLearner? learner = null,
        NetworkTopology? topology = null, IEnumerable<HostInfo>? hosts = null)
    {
        ArgumentNullException.ThrowIfNull(graph);
        options ??= new EcosystemPolicyOptions();
        var repair = learner is null ? options.Repair : options.Repair with { Worthwhile = learner.IsWorthwhile };
        var locations = hosts?.ToDictionary(h => h.Id, h => h.Location);
        var migrationCost = new MigrationCostScorer(topology, locations) { Weight = 0.2 };
        var scorers = new List<IPlacementScorer>
        {
            new DependencySatisfactionScorer(graph),
            new ResourceFitScorer(0.3) { Weight = 0.2 },
            learner is null ? migrationCost : new LearnedMigrationCostScorer(migrationCost, learner, graph) { Weight = 0.2 },
        };
        if (learner is not null)
        {
            scorers.Add(new MigrationFailureScorer(learner));
        }

        return new MigrationPlanner(
            Name,
            [new DependencyRepairStage(graph, repair)],
            [new MaintenanceFilter(), new CoreCapacityFilter(), new PredictedCapacityFilter(0.3, options.TargetUtilization), new MemoryCapacityFilter(),
                new PlacementConstraintFilter(), new DependencyGuardFilter(graph)],
            scorers,
            [new ConcurrencyLimit(options.MaxMigrationsPerHost, options.MaxMigrationsInCluster), new CooldownLimit(options.VmCooldown), new HysteresisLimit(options.Hysteresis), new OneMovePerPassLimit()],
            new PlannerSettings { AlternativesToExplain = 3, UsesForecasts = true });
    }
}
