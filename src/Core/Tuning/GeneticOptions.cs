namespace VmEcosystem.Tuning;

/// <summary>How the first population is drawn.</summary>
internal enum GeneticInitialization
{
    /// <summary>Each gene uniform in its range.</summary>
    Random,

    /// <summary>Latin hypercube: each gene's range cut into population-many strata, each stratum used once.</summary>
    LatinHypercube,
}

/// <summary>How parents are chosen.</summary>
internal enum GeneticSelection
{
    /// <summary>The fittest of <see cref="GeneticOptions.TournamentSize"/> drawn at random.</summary>
    Tournament,

    /// <summary>With probability proportional to rank (the fittest has rank n).</summary>
    Rank,

    /// <summary>With probability proportional to fitness (for minimisation: to worst minus own, plus a little).</summary>
    Roulette,

    /// <summary>Uniformly among the fittest half (truncation).</summary>
    Elite,
}

/// <summary>How a pair of parents is crossed.</summary>
internal enum GeneticCrossover
{
    /// <summary>Each gene from either parent (complementary children).</summary>
    Uniform,

    /// <summary>Genes before a random cut from one parent, after it from the other.</summary>
    OnePoint,

    /// <summary>Genes between two random cuts from the other parent.</summary>
    TwoPoint,

    /// <summary>BLX-α for reals: each gene uniform in the parents' interval widened by α on both sides.</summary>
    Blend,
}

/// <summary>How a child is mutated.</summary>
internal enum GeneticMutation
{
    /// <summary>A mutated gene is drawn anew in its range.</summary>
    Uniform,

    /// <summary>A mutated gene moves by a gaussian step (σ a share of its range), σ adapted by the 1/5 success rule.</summary>
    Gaussian,
}

/// <summary>
/// Settings of a <see cref="GeneticAlgorithm"/> run over real-valued genes in [min, max] (the engine's hot core; the
/// search-space format, discrete genes and guided mutation build on it). Validated when the run starts.
/// </summary>
internal sealed record GeneticOptions
{
    /// <summary>Genomes per generation.</summary>
    public int PopulationSize { get; init; } = 100;

    /// <summary>Generations at most.</summary>
    public int Generations { get; init; } = 500;

    /// <summary>Genomes drawn per tournament (the fittest of them is a parent).</summary>
    public int TournamentSize { get; init; } = 2;

    /// <summary>Probability that a pair of parents is crossed (two children); a pair not crossed gives none.</summary>
    public double CrossoverProbability { get; init; } = 0.75;

    /// <summary>Uniform crossover: probability that a gene comes from the second parent.</summary>
    public double MixRatio { get; init; } = 0.5;

    /// <summary>Probability per gene of a uniform mutation (a new value drawn in the gene's range).</summary>
    public double MutationProbability { get; init; } = 1.0 / 16;

    /// <summary>
    /// Best parents carried into the next generation unchanged at least (elitist reinsertion also fills, with the best
    /// parents, whatever the children leave empty).
    /// </summary>
    public int Elites { get; init; } = 1;

    /// <summary>Evaluations run at once (1: serially on the caller's thread; more: the fitness must be thread-safe).</summary>
    public int Slots { get; init; } = 1;

    /// <summary>
    /// Guided mutation: candidate mutants drawn per guided child, of which the one the surrogate model (k-nearest
    /// neighbours over the evaluation history) predicts best is kept. 0 turns guidance off.
    /// </summary>
    public int GuidedCandidates { get; init; }

    /// <summary>Share of children mutated under guidance once the history holds a generation (the rest mutate blindly).</summary>
    public double GuidedProbability { get; init; } = 0.5;

    /// <summary>How the first population is drawn (default: uniform).</summary>
    public GeneticInitialization Initialization { get; init; }

    /// <summary>Encoded genomes placed first in the initial population (the current configurations, for example).</summary>
    public IReadOnlyList<double[]> Seeds { get; init; } = [];

    /// <summary>Parent selection (default: tournament).</summary>
    public GeneticSelection Selection { get; init; }

    /// <summary>Crossover (default: uniform).</summary>
    public GeneticCrossover Crossover { get; init; }

    /// <summary>BLX-α's widening (default 0.5).</summary>
    public double BlendAlpha { get; init; } = 0.5;

    /// <summary>Mutation (default: uniform).</summary>
    public GeneticMutation Mutation { get; init; }

    /// <summary>The gaussian mutation's first σ as a share of each gene's range (default 0.1).</summary>
    public double GaussianSigma { get; init; } = 0.1;

    /// <summary>Stop once this many evaluations were made (checked between generations; null: never).</summary>
    public long? MaxEvaluations { get; init; }

    /// <summary>Stop once this much time passed on <see cref="Time"/> (checked between generations; null: never).</summary>
    public TimeSpan? TimeLimit { get; init; }

    /// <summary>The clock of <see cref="TimeLimit"/>.</summary>
    public TimeProvider Time { get; init; } = TimeProvider.System;

    /// <summary>Called after every generation with the run's state (to persist it; the run can be resumed from it).</summary>
    public Action<GeneticCheckpoint>? AfterGeneration { get; init; }

    /// <summary>Stop once the best fitness is at or below this (null: never).</summary>
    public double? TargetFitness { get; init; }

    /// <summary>Stop after this many generations without improvement (null: never).</summary>
    public int? StagnationGenerations { get; init; }

    internal void Validate(int genes)
    {
        static void Check(bool ok, string message)
        {
            if (!ok)
            {
                throw new ArgumentException(message);
            }
        }

        Check(genes >= 1, $"A genome needs at least one gene; got {genes}.");
        Check(PopulationSize is >= 2 and <= 1_000_000, $"PopulationSize must be between 2 and 1000000; got {PopulationSize}.");
        Check(Generations is >= 1 and <= 10_000_000, $"Generations must be between 1 and 10000000; got {Generations}.");
        Check(TournamentSize >= 1 && TournamentSize <= PopulationSize, $"TournamentSize must be between 1 and PopulationSize ({PopulationSize}); got {TournamentSize}.");
        Check(CrossoverProbability is >= 0 and <= 1, $"CrossoverProbability must be between 0 and 1; got {CrossoverProbability}.");
        Check(MixRatio is >= 0 and <= 1, $"MixRatio must be between 0 and 1; got {MixRatio}.");
        Check(MutationProbability is >= 0 and <= 1, $"MutationProbability must be between 0 and 1; got {MutationProbability}.");
        Check(Elites >= 0 && Elites < PopulationSize, $"Elites must be at least 0 and below PopulationSize ({PopulationSize}); got {Elites}.");
        Check(Slots is >= 1 and <= 4096, $"Slots must be between 1 and 4096; got {Slots}.");
        Check(GuidedCandidates is >= 0 and <= 1000, $"GuidedCandidates must be between 0 and 1000; got {GuidedCandidates}.");
        Check(GuidedProbability is >= 0 and <= 1, $"GuidedProbability must be between 0 and 1; got {GuidedProbability}.");
        Check(BlendAlpha is >= 0 and <= 2, $"BlendAlpha must be between 0 and 2; got {BlendAlpha}.");
        Check(GaussianSigma is > 0 and <= 1, $"GaussianSigma must be above 0 and at most 1; got {GaussianSigma}.");
        Check(MaxEvaluations is null or >= 1, $"MaxEvaluations must be at least 1, or null; got {MaxEvaluations}.");
        Check(TimeLimit is null || TimeLimit > TimeSpan.Zero, $"TimeLimit must be positive, or null; got {TimeLimit}.");
        Check(Seeds.All(g => g.Length == genes), $"Every seed genome must have {genes} genes.");
        Check(StagnationGenerations is null or >= 1, $"StagnationGenerations must be at least 1, or null; got {StagnationGenerations}.");
    }
}

/// <summary>What a run found.</summary>
/// <param name="Best">The best genome ever evaluated.</param>
/// <param name="BestFitness">Its fitness (lower is better).</param>
/// <param name="Generations">Generations run.</param>
/// <param name="Evaluations">Fitness evaluations made.</param>
/// <param name="Stopped">Why the run ended.</param>
/// <param name="Checkpoint">The state at the end, to resume the run (after a cancellation, or for more generations).</param>
internal sealed record GeneticResult(double[] Best, double BestFitness, int Generations, long Evaluations, string Stopped, GeneticCheckpoint Checkpoint);

/// <summary>
/// A run's state between two generations: the population and its scores, the best genome ever, the counters and the
/// random stream. Saved as JSON (<see cref="ToJson"/>), it resumes the run exactly where it was.
/// </summary>
internal sealed record GeneticCheckpoint(int Genes, double[] Population, double[] Scores, double[] Best, double BestScore, int Generation,
    int SinceImproved, long Evaluations, ulong[] RandomState, double Sigma, double[]? HistoryGenomes = null, double[]? HistoryFitness = null)
{
    public string ToJson() => System.Text.Json.JsonSerializer.Serialize(this, GeneticCheckpointJson.Default.GeneticCheckpoint);

    /// <exception cref="FormatException">Not a checkpoint.</exception>
    public static GeneticCheckpoint FromJson(string json)
    {
        try
        {
            var c = System.Text.Json.JsonSerializer.Deserialize(json, GeneticCheckpointJson.Default.GeneticCheckpoint);
            return c is { Population: not null, Scores: not null, Best: not null, RandomState: not null } && c.Genes >= 1 && c.Population.Length == c.Scores.Length * c.Genes && c.Best.Length == c.Genes && c.RandomState.Length == 4
                && (c.HistoryGenomes is null) == (c.HistoryFitness is null) && (c.HistoryGenomes is null || c.HistoryGenomes.Length == c.HistoryFitness!.Length * c.Genes)
                ? c : throw new FormatException("The checkpoint's arrays are missing or do not agree with its gene count.");
        }
        catch (System.Text.Json.JsonException ex)
        {
            throw new FormatException($"Not a genetic-algorithm checkpoint: {ex.Message}", ex);
        }
    }
}

[System.Text.Json.Serialization.JsonSerializable(typeof(GeneticCheckpoint))]
[System.Text.Json.Serialization.JsonSourceGenerationOptions(NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals)]
internal sealed partial class GeneticCheckpointJson : System.Text.Json.Serialization.JsonSerializerContext;
