namespace VmEcosystem.Tuning;

/// <summary>
/// A generational genetic algorithm on real-valued genes, minimising a fitness function: tournament selection,
/// complementary uniform crossover of parent pairs (a pair that is not crossed gives no children), uniform per-gene
/// mutation of the children, elitist reinsertion (the best parents fill the generation beside the children), and
/// terminations by generations, target and stagnation. This is GeneticSharp's generation, the anchor's setup. The population lives in two flat arrays (genome i is the span [i × genes, (i + 1) × genes)), swapped
/// each generation: nothing is allocated per genome or per generation, and genes are never boxed. Deterministic for
/// the injected <see cref="Random"/>; the best genome ever evaluated is kept.
/// </summary>
internal sealed class GeneticAlgorithm(GeneticOptions options, double[] min, double[] max)
{
    /// <summary>Fitness of one genome (lower is better). Called on the caller's thread, one genome at a time.</summary>
    public delegate double Fitness(ReadOnlySpan<double> genome);

    /// <summary>Runs to a termination.</summary>
    public GeneticResult Run(Fitness fitness, Random seed, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(fitness);
        ArgumentNullException.ThrowIfNull(seed);
        var random = new GeneticRandom(seed);
        int genes = min.Length;
        if (max.Length != genes)
        {
            throw new ArgumentException($"The ranges disagree: {genes} minimums and {max.Length} maximums.");
        }

        options.Validate(genes);
        int size = options.PopulationSize;
        var population = new double[size * genes];
        var next = new double[size * genes];
        var scores = new double[size];
        var nextScores = new double[size];
        var order = new int[size];
        var ranked = new double[size]; // the scores sorted, beside their genome indices in order
        var best = new double[genes];
        double bestScore = double.PositiveInfinity;
        long evaluations = 0;

        for (int i = 0; i < size; i++)
        {
            var genome = population.AsSpan(i * genes, genes);
            for (int g = 0; g < genes; g++)
            {
                genome[g] = min[g] + ((max[g] - min[g]) * random.NextDouble());
            }
        }

        var guide = options.GuidedCandidates > 0 ? new NearestNeighbourSurrogate(min, max) : null;
        var candidates = guide is null ? [] : new double[options.GuidedCandidates * genes];
        Evaluate(fitness, population, scores, size, genes, cancellationToken);
        evaluations += size;
        Learn(guide, population, scores, size, genes);

        int generation = 0, sinceImproved = 0;
        string stopped = "generations";
        Keep(population, scores, best, ref bestScore, genes);
        while (generation < options.Generations)
        {
            if (cancellationToken.IsCancellationRequested)
            {
                stopped = "cancelled";
                break;
            }

            if (options.TargetFitness is { } target && bestScore <= target)
            {
                stopped = "target";
                break;
            }

            // Parents by tournament, crossed in pairs: a pair that is crossed gives two children (complementary uniform
            // crossover), one that is not gives none. Children are mutated and evaluated; the best parents fill the rest
            // of the next generation (elitist reinsertion: at least Elites of them).
            int children = 0, room = size - options.Elites;
            for (int p = 0; p + 1 < size && children < room; p += 2)
            {
                int a = Tournament(scores, random), b = Tournament(scores, random);
                if (random.NextDouble() >= options.CrossoverProbability)
                {
                    continue;
                }

                var first = population.AsSpan(a * genes, genes);
                var second = population.AsSpan(b * genes, genes);
                var one = next.AsSpan(children * genes, genes);
                bool two = children + 1 < room;
                var other = two ? next.AsSpan((children + 1) * genes, genes) : Span<double>.Empty;
                bool halves = options.MixRatio == 0.5; // one random bit per gene instead of one draw
                ulong bits = 0;
                for (int g = 0; g < genes; g++)
                {
                    if (halves && (g & 63) == 0)
                    {
                        bits = random.NextUInt64();
                    }

                    bool swap = halves ? ((bits >> (g & 63)) & 1) != 0 : random.NextDouble() < options.MixRatio;
                    one[g] = swap ? second[g] : first[g];
                    if (two)
                    {
                        other[g] = swap ? first[g] : second[g];
                    }
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

                for (int g = 0; g < genes; g++)
                {
                    if (random.NextDouble() < options.MutationProbability)
                    {
                        offspring[g] = min[g] + ((max[g] - min[g]) * random.NextDouble());
                    }
                }
            }

            Evaluate(fitness, next, nextScores, children, genes, cancellationToken);
            evaluations += children;
            Learn(guide, next, nextScores, children, genes);

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
            if (Keep(population, scores, best, ref bestScore, genes))
            {
                sinceImproved = 0;
            }
            else if (options.StagnationGenerations is { } limit && ++sinceImproved >= limit)
            {
                stopped = "stagnation";
                break;
            }
        }

        if (stopped == "generations" && options.TargetFitness is { } reached && bestScore <= reached)
        {
            stopped = "target";
        }

        return new GeneticResult(best, bestScore, generation, evaluations, stopped);
    }

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

    private int Tournament(double[] scores, GeneticRandom random)
    {
        int winner = random.Next(scores.Length);
        for (int k = 1; k < options.TournamentSize; k++)
        {
            int other = random.Next(scores.Length);
            if (scores[other] < scores[winner])
            {
                winner = other;
            }
        }

        return winner;
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
