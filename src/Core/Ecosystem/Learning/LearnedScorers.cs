using VmEcosystem.Ecosystem.Graph;
using VmEcosystem.Planning;

namespace VmEcosystem.Ecosystem.Learning;

/// <summary>Migration overhead corrected by what past migrations of the same VM type actually took.</summary>
/// <param name="inner">The model-based estimate.</param>
/// <param name="learner">The learner.</param>
/// <param name="graph">Where VM types come from.</param>
public sealed class LearnedMigrationCostScorer(MigrationCostScorer inner, MigrationOutcomeLearner learner, EcosystemGraph graph) : IPlacementScorer
{
    /// <inheritdoc />
    public string Name => "migration-cost-learned";

    /// <inheritdoc />
    public double Weight { get; init; } = 1;

    /// <inheritdoc />
    public double Scale => inner.Scale;

    /// <inheritdoc />
    public double Cost(PlanningPass pass, int vm, int host)
    {
        string? type = graph.TryVertex(pass.State.VmIds[vm], out int v) ? graph.VmAt(v)!.Profile.Type : null;
        return inner.Cost(pass, vm, host) * learner.MigrationTimeFactor(type);
    }
}

/// <summary>Avoids targets where recent migrations failed (a decayed failure rate, 0..1).</summary>
public sealed class MigrationFailureScorer(MigrationOutcomeLearner learner) : IPlacementScorer
{
    /// <inheritdoc />
    public string Name => "recent-failures";

    /// <inheritdoc />
    public double Weight { get; init; } = 1;

    /// <inheritdoc />
    public double Scale { get; init; } = 0.25;

    /// <inheritdoc />
    public double Cost(PlanningPass pass, int vm, int host) => learner.FailureRate(pass.State.HostIds[host]);
}
