namespace VmEcosystem.Planning;

/// <summary>A migration policy: turns a cluster state into a plan. Pure: no I/O, deterministic for a seeded context.</summary>
public interface IMigrationPolicy
{
    /// <summary>Policy name (<c>lr-mmt</c>, <c>predictive</c>, ...).</summary>
    string Name { get; }

    /// <summary>Plans one pass. <paramref name="state"/> is changed (tentative moves); capture a fresh one per pass.</summary>
    MigrationPlan Plan(PlanningState state, PlanningContext context);

    /// <summary>Whether the policy reads demand forecasts (callers can skip forecasting for policies that do not).</summary>
    bool UsesForecasts => false;
}

/// <summary>A policy that never moves anything (CloudSim's DVFS baseline; a safe default).</summary>
public sealed class NoMigrationPolicy(string name = "dvfs") : IMigrationPolicy
{
    /// <inheritdoc />
    public string Name { get; } = name;

    /// <inheritdoc />
    public MigrationPlan Plan(PlanningState state, PlanningContext context)
    {
        ArgumentNullException.ThrowIfNull(state);
        return MigrationPlan.Empty(state.Time, Name);
    }
}

/// <summary>
/// The planner pipeline, in the manner of a scheduler framework: ordered <see cref="IPlanningStage"/>s decide
/// what should move; every target search runs the <see cref="IPlacementFilter"/>s (hard), the weighted
/// <see cref="IPlacementScorer"/>s (soft) and the <see cref="IMigrationLimit"/>s. CloudSim's heuristics and the
/// predictive policy are both compositions of this class; users add their own stages, filters, scorers and limits.
/// </summary>
public sealed class MigrationPlanner : IMigrationPolicy
{
    private readonly IPlanningStage[] _stages;
    private readonly IPlacementFilter[] _filters;
    private readonly IPlacementScorer[] _scorers;
    private readonly IMigrationLimit[] _limits;
    private readonly ICandidateHostSource? _candidates;

    /// <summary>Creates a pipeline.</summary>
    /// <param name="name">Policy name.</param>
    /// <param name="stages">Stages, run in order.</param>
    /// <param name="filters">Hard constraints, checked in order.</param>
    /// <param name="scorers">Soft preferences, summed with their weights.</param>
    /// <param name="limits">Limits on moves.</param>
    /// <param name="settings">Candidate source, explanation depth, use of forecasts (null: the defaults).</param>
    public MigrationPlanner(
        string name,
        IEnumerable<IPlanningStage> stages,
        IEnumerable<IPlacementFilter> filters,
        IEnumerable<IPlacementScorer> scorers,
        IEnumerable<IMigrationLimit>? limits = null,
        PlannerSettings? settings = null)
    {
        Settings = settings ?? new PlannerSettings();
        var candidates = Settings.Candidates;
        int alternativesToExplain = Settings.AlternativesToExplain;
        bool usesForecasts = Settings.UsesForecasts;
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(stages);
        ArgumentNullException.ThrowIfNull(filters);
        ArgumentNullException.ThrowIfNull(scorers);
        ArgumentOutOfRangeException.ThrowIfNegative(alternativesToExplain);
        Name = name;
        _stages = [.. stages];
        _filters = [.. filters];
        _scorers = [.. scorers];
        _limits = limits is null ? [] : [.. limits];
        _candidates = candidates;
        AlternativesToExplain = alternativesToExplain;
        UsesForecasts = usesForecasts;
        foreach (var s in _scorers)
        {
            if (!(s.Scale > 0) || !double.IsFinite(s.Scale) || !(s.Weight >= 0) || !double.IsFinite(s.Weight))
            {
                throw new ArgumentException($"Scorer '{s.Name}' needs a positive finite Scale and a non-negative finite Weight.", nameof(scorers));
            }
        }
    }

    /// <inheritdoc />
    public string Name { get; }

    /// <summary>Candidate source, explanation depth and use of forecasts.</summary>
    public PlannerSettings Settings { get; }

    /// <summary>How many close alternatives each decision records.</summary>
    public int AlternativesToExplain { get; }

    /// <inheritdoc />
    public bool UsesForecasts { get; }

    /// <summary>The stages.</summary>
    public IReadOnlyList<IPlanningStage> Stages => _stages;

    /// <summary>The filters.</summary>
    public IReadOnlyList<IPlacementFilter> Filters => _filters;

    /// <summary>The scorers.</summary>
    public IReadOnlyList<IPlacementScorer> Scorers => _scorers;

    /// <summary>The limits.</summary>
    public IReadOnlyList<IMigrationLimit> Limits => _limits;

    /// <summary>A copy with different explanation depth (a runtime explains more than a benchmark).</summary>
    public MigrationPlanner WithExplanations(int alternatives) =>
        new(Name, _stages, _filters, _scorers, _limits, Settings with { AlternativesToExplain = alternatives });

    /// <summary>A copy with more stages, filters, scorers or limits appended.</summary>
    public MigrationPlanner With(
        IEnumerable<IPlanningStage>? stages = null,
        IEnumerable<IPlacementFilter>? filters = null,
        IEnumerable<IPlacementScorer>? scorers = null,
        IEnumerable<IMigrationLimit>? limits = null) =>
        new(Name, _stages.Concat(stages ?? []), _filters.Concat(filters ?? []), _scorers.Concat(scorers ?? []),
            _limits.Concat(limits ?? []), Settings);

    /// <summary>A copy with <paramref name="stages"/> run before the existing stages (for example dependency repair before consolidation).</summary>
    public MigrationPlanner WithStagesFirst(params IEnumerable<IPlanningStage> stages) =>
        new(Name, stages.Concat(_stages), _filters, _scorers, _limits, Settings);

    /// <inheritdoc />
    public MigrationPlan Plan(PlanningState state, PlanningContext context)
    {
        ArgumentNullException.ThrowIfNull(state);
        ArgumentNullException.ThrowIfNull(context);
        // A fresh mask per pass keeps the planner safe to share between threads.
        var pass = new PlanningPass(state, context, this, new HostMask(state.HostCount));
        foreach (var stage in _stages)
        {
            stage.Run(pass);
        }

        return pass.ToPlan();
    }
}

/// <summary>Settings of a <see cref="MigrationPlanner"/> beyond its pipeline.</summary>
public sealed record PlannerSettings
{
    /// <summary>Candidate source (null: every host in index order).</summary>
    public ICandidateHostSource? Candidates { get; init; }

    /// <summary>How many close alternatives each decision records (0 for speed).</summary>
    public int AlternativesToExplain { get; init; }

    /// <summary>Whether the policy reads demand forecasts from the context.</summary>
    public bool UsesForecasts { get; init; }
}
