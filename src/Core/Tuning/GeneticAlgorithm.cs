namespace VmEcosystem.Tuning;

/// <summary>
/// A generational genetic algorithm on real-valued genes, minimising a fitness function: tournament selection,
/// uniform crossover, uniform per-gene mutation, elitist reinsertion, and terminations by generations, target and
/// stagnation. The population lives in two flat arrays (genome i is the span [i × genes, (i + 1) × genes)), swapped
/// each generation: nothing is allocated per genome or per generation, and genes are never boxed. Deterministic for
/// the injected <see cref="Random"/>; the best genome ever evaluated is kept.
/// </summary>
internal sealed class GeneticAlgorithm(GeneticOptions options, double[] min, double[] max)
{
    /// <summary>Fitness of one genome (lower is better). Called on the caller's thread, one genome at a time.</summary>
    public delegate double Fitness(ReadOnlySpan<double> genome);

    /// <summary>Runs to a termination.</summary>
    public GeneticResult Run(Fitness fitness, Random random, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(fitness);
        ArgumentNullException.ThrowIfNull(random);
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

            scores[i] = fitness(genome);
            evaluations++;
        }

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

            // Elites first, unchanged (their scores are known): the best of this generation survive it.
            for (int i = 0; i < size; i++)
            {
                order[i] = i;
            }

            int elites = options.Elites;
            if (elites == 1)
            {
                order[0] = ArgMin(scores); // the common case needs no sort
                ranked[0] = scores[order[0]];
            }
            else if (elites > 1)
            {
                scores.AsSpan().CopyTo(ranked);
                Array.Sort(ranked, order);
            }

            for (int e = 0; e < elites; e++)
            {
                population.AsSpan(order[e] * genes, genes).CopyTo(next.AsSpan(e * genes, genes));
                nextScores[e] = ranked[e];
            }

            for (int child = elites; child < size; child++)
            {
                var offspring = next.AsSpan(child * genes, genes);
                var first = population.AsSpan(Tournament(scores, random) * genes, genes);
                if (random.NextDouble() < options.CrossoverProbability)
                {
                    var second = population.AsSpan(Tournament(scores, random) * genes, genes);
                    for (int g = 0; g < genes; g++)
                    {
                        offspring[g] = random.NextDouble() < options.MixRatio ? second[g] : first[g];
                    }
                }
                else
                {
                    first.CopyTo(offspring);
                }

                for (int g = 0; g < genes; g++)
                {
                    if (random.NextDouble() < options.MutationProbability)
                    {
                        offspring[g] = min[g] + ((max[g] - min[g]) * random.NextDouble());
                    }
                }

                nextScores[child] = fitness(offspring);
                evaluations++;
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

    private int Tournament(double[] scores, Random random)
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

    private static int ArgMin(double[] scores)
    {
        int at = 0;
        for (int i = 1; i < scores.Length; i++)
        {
            at = scores[i] < scores[at] ? i : at;
        }

        return at;
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
