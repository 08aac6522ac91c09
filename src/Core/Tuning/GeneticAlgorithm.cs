namespace VmEcosystem.Tuning;

/// <summary>
/// A generational genetic algorithm on real-valued genes, minimising a fitness function: tournament selection,
/// complementary uniform crossover of parent pairs (a pair that is not crossed gives no children), uniform per-gene
/// mutation of the children, elitist reinsertion (the best parents fill the generation beside the children), and
/// terminations by generations, target and stagnation. This is GeneticSharp's generation, the anchor's setup. The population lives in two flat arrays (genome i is the span [i × genes, (i + 1) × genes)), swapped
/// each generation: nothing is allocated per genome or per generation, and genes are never boxed. Deterministic for
/// the injected <see cref="Random"/>; the best genome ever evaluated is kept.
/// </summary>
internal sealed partial class GeneticAlgorithm(GeneticOptions options, double[] min, double[] max)
{
    /// <summary>Fitness of one genome (lower is better). Called on the caller's thread, one genome at a time.</summary>
    public delegate double Fitness(ReadOnlySpan<double> genome);

    /// <summary>Runs to a termination, from the start or from <paramref name="resume"/> (a checkpoint of the same setup).</summary>
    public GeneticResult Run(Fitness fitness, Random seed, CancellationToken cancellationToken = default, GeneticCheckpoint? resume = null)
    {
        ArgumentNullException.ThrowIfNull(fitness);
        ArgumentNullException.ThrowIfNull(seed);
        int genes = min.Length;
        if (max.Length != genes)
        {
            throw new ArgumentException($"The ranges disagree: {genes} minimums and {max.Length} maximums.");
        }

        options.Validate(genes);
        int size = options.PopulationSize;
        if (resume is not null && (resume.Genes != genes || resume.Scores.Length != size))
        {
            throw new ArgumentException($"The checkpoint is of {resume.Genes} genes and {resume.Scores.Length} genomes; this run has {genes} and {size}.", nameof(resume));
        }

        var random = resume is null ? new GeneticRandom(seed) : new GeneticRandom(resume.RandomState);
        var population = new double[size * genes];
        var next = new double[size * genes];
        var scores = new double[size];
        var nextScores = new double[size];
        var order = new int[size];
        var ranked = new double[size]; // the scores sorted, beside their genome indices in order
        var weights = new double[size]; // cumulative selection weights (rank and roulette)
        var parentOf = new int[size];
        var best = new double[genes];
        double bestScore = double.PositiveInfinity, sigma = options.GaussianSigma;
        long evaluations = 0;
        int generation = 0, sinceImproved = 0;
        var guide = options.GuidedCandidates > 0 ? new NearestNeighbourSurrogate(min, max) : null;
        var candidates = guide is null ? [] : new double[options.GuidedCandidates * genes];
        if (resume is null)
        {
            Initialize(population, size, genes, random);
            Evaluate(fitness, population, scores, size, genes, cancellationToken);
            evaluations += size;
            Keep(population, scores, best, ref bestScore, genes);
        }
        else
        {
            resume.Population.CopyTo(population, 0);
            resume.Scores.CopyTo(scores, 0);
            resume.Best.CopyTo(best, 0);
            (bestScore, generation, sinceImproved, evaluations, sigma) = (resume.BestScore, resume.Generation, resume.SinceImproved, resume.Evaluations, resume.Sigma);
        }

        if (resume?.HistoryGenomes is { } history && resume.HistoryFitness is { } fitnessHistory)
        {
            for (int k = 0; guide is not null && k < fitnessHistory.Length; k++)
            {
                guide.Add(history.AsSpan(k * genes, genes), fitnessHistory[k]); // the surrogate as it was, oldest first
            }
        }
        else
        {
            Learn(guide, population, scores, size, genes);
        }
        var started = options.Time.GetTimestamp();
        string stopped = "generations";
        while (generation < options.Generations)
        {
            if (Stop(bestScore, evaluations, started, cancellationToken) is { } reason)
            {
                stopped = reason;
                break;
            }

            // Parents by selection, crossed in pairs: a pair that is crossed gives two children, one that is not gives
            // none. Children are mutated and evaluated; the best parents fill the rest of the next generation
            // (elitist reinsertion: at least Elites of them).
            PrepareSelection(scores, weights, order, ranked);
            int children = 0, room = size - options.Elites;
            for (int p = 0; p + 1 < size && children < room; p += 2)
            {
                int a = Select(scores, weights, order, random), b = Select(scores, weights, order, random);
                if (random.NextDouble() >= options.CrossoverProbability)
                {
                    continue;
                }

                bool two = children + 1 < room;
                Cross(population.AsSpan(a * genes, genes), population.AsSpan(b * genes, genes), next.AsSpan(children * genes, genes),
                    two ? next.AsSpan((children + 1) * genes, genes) : Span<double>.Empty, random);
                parentOf[children] = a;
                if (two)
                {
                    parentOf[children + 1] = b;
                }

                children += two ? 2 : 1;
            }

            for (int child = 0; child < children; child++)
            {
                var offspring = next.AsSpan(child * genes, genes);
                if (guide is not null && guide.Count >= size && random.NextDouble() < options.GuidedProbability)
                {
                    Guide(offspring, candidates, guide, random);
                    continue;
                }

                Mutate(offspring, sigma, random);
            }

            Evaluate(fitness, next, nextScores, children, genes, cancellationToken);
            evaluations += children;
            Learn(guide, next, nextScores, children, genes);
            sigma = AdaptSigma(sigma, nextScores, scores, parentOf, children);

            for (int i = 0; i < size; i++)
            {
                order[i] = i;
            }

            scores.AsSpan().CopyTo(ranked);
            Array.Sort(ranked, order);
            for (int r = 0; children + r < size; r++)
            {
                population.AsSpan(order[r] * genes, genes).CopyTo(next.AsSpan((children + r) * genes, genes));
                nextScores[children + r] = ranked[r];
            }

            (population, next) = (next, population);
            (scores, nextScores) = (nextScores, scores);
            generation++;
            bool improved = Keep(population, scores, best, ref bestScore, genes);
            sinceImproved = improved ? 0 : sinceImproved + 1;
            options.AfterGeneration?.Invoke(Checkpoint());
            if (!improved && options.StagnationGenerations is { } limit && sinceImproved >= limit)
            {
                stopped = "stagnation";
                break;
            }
        }

        if (stopped == "generations" && options.TargetFitness is { } reached && bestScore <= reached)
        {
            stopped = "target";
        }

        return new GeneticResult(best, bestScore, generation, evaluations, stopped, Checkpoint());

        GeneticCheckpoint Checkpoint()
        {
            var (history, historyFitness) = guide?.Export() ?? (null!, null!);
            return new(genes, (double[])population.Clone(), (double[])scores.Clone(), (double[])best.Clone(), bestScore, generation, sinceImproved, evaluations,
                random.State, sigma, history, historyFitness);
        }
    }

    // Why the run ends before the next generation, or null.
    private string? Stop(double bestScore, long evaluations, long started, CancellationToken cancellationToken) =>
        cancellationToken.IsCancellationRequested ? "cancelled"
        : options.TargetFitness is { } target && bestScore <= target ? "target"
        : options.MaxEvaluations is { } budget && evaluations >= budget ? "evaluations"
        : options.TimeLimit is { } limit && options.Time.GetElapsedTime(started) >= limit ? "time"
        : null;

    // The first count genomes' fitness, in up to Slots evaluations at once (an evaluation can be a benchmark run: the
    // function must then be safe to call concurrently). The random stream is not touched, so a run is the same.
    private void Evaluate(Fitness fitness, double[] genomes, double[] scores, int count, int genes, CancellationToken cancellationToken)
    {
        if (options.Slots == 1 || count < 2)
        {
            for (int i = 0; i < count; i++)
            {
                scores[i] = fitness(genomes.AsSpan(i * genes, genes));
            }

            return;
        }

        var parallel = new ParallelOptions { MaxDegreeOfParallelism = options.Slots, CancellationToken = cancellationToken };
        Parallel.For(0, count, parallel, i => scores[i] = fitness(genomes.AsSpan(i * genes, genes)));
    }

    // Guided mutation: draws candidate mutants of the child (one gene always redrawn, the others at the mutation
    // rate), and keeps the one the surrogate predicts fittest. Costs no evaluation: only the kept one is evaluated.
    private void Guide(Span<double> offspring, double[] candidates, NearestNeighbourSurrogate guide, GeneticRandom random)
    {
        int genes = offspring.Length, best = 0;
        double bestPrediction = double.PositiveInfinity;
        for (int c = 0; c < options.GuidedCandidates; c++)
        {
            var candidate = candidates.AsSpan(c * genes, genes);
            offspring.CopyTo(candidate);
            int forced = random.Next(genes);
            for (int g = 0; g < genes; g++)
            {
                if (g == forced || random.NextDouble() < options.MutationProbability)
                {
                    candidate[g] = min[g] + ((max[g] - min[g]) * random.NextDouble());
                }
            }

            double predicted = guide.Predict(candidate);
            if (predicted < bestPrediction)
            {
                bestPrediction = predicted;
                best = c;
            }
        }

        candidates.AsSpan(best * genes, genes).CopyTo(offspring);
    }

    private static void Learn(NearestNeighbourSurrogate? guide, double[] genomes, double[] scores, int count, int genes)
    {
        for (int i = 0; guide is not null && i < count; i++)
        {
            guide.Add(genomes.AsSpan(i * genes, genes), scores[i]);
        }
    }

    // Records the generation's best if it beats the best ever; true when it did.
    private static bool Keep(double[] population, double[] scores, double[] best, ref double bestScore, int genes)
    {
        int at = -1;
        for (int i = 0; i < scores.Length; i++)
        {
            if (scores[i] < bestScore && (at < 0 || scores[i] < scores[at]))
            {
                at = i;
            }
        }

        if (at < 0)
        {
            return false;
        }

        bestScore = scores[at];
        population.AsSpan(at * genes, genes).CopyTo(best);
        return true;
    }
}
