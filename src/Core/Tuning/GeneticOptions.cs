namespace VmEcosystem.Tuning;

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
        Check(StagnationGenerations is null or >= 1, $"StagnationGenerations must be at least 1, or null; got {StagnationGenerations}.");
    }
}

/// <summary>What a run found.</summary>
/// <param name="Best">The best genome ever evaluated.</param>
/// <param name="BestFitness">Its fitness (lower is better).</param>
/// <param name="Generations">Generations run.</param>
/// <param name="Evaluations">Fitness evaluations made.</param>
/// <param name="Stopped">Why the run ended.</param>
internal sealed record GeneticResult(double[] Best, double BestFitness, int Generations, long Evaluations, string Stopped);
