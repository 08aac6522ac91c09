namespace VmEcosystem.Tuning;

/// <summary>The engine's operators: initial population, selection, crossover, mutation and the gaussian step's adaptation.</summary>
internal sealed partial class GeneticAlgorithm
{
    // Seeds first, then random or Latin-hypercube genomes.
    private void Initialize(double[] population, int size, int genes, GeneticRandom random)
    {
        int seeded = Math.Min(options.Seeds.Count, size);
        for (int i = 0; i < seeded; i++)
        {
            options.Seeds[i].CopyTo(population, i * genes);
        }

        int rest = size - seeded;
        if (options.Initialization == GeneticInitialization.LatinHypercube && rest > 0)
        {
            // Per gene, a random permutation of the rest's strata: every stratum of every gene is used exactly once.
            var strata = new int[rest];
            for (int g = 0; g < genes; g++)
            {
                for (int k = 0; k < rest; k++)
                {
                    strata[k] = k;
                }

                for (int k = rest - 1; k > 0; k--)
                {
                    int j = random.Next(k + 1);
                    (strata[k], strata[j]) = (strata[j], strata[k]);
                }

                for (int i = 0; i < rest; i++)
                {
                    population[((seeded + i) * genes) + g] = min[g] + ((max[g] - min[g]) * (strata[i] + random.NextDouble()) / rest);
                }
            }

            return;
        }

        for (int i = seeded; i < size; i++)
        {
            var genome = population.AsSpan(i * genes, genes);
            for (int g = 0; g < genes; g++)
            {
                genome[g] = min[g] + ((max[g] - min[g]) * random.NextDouble());
            }
        }
    }

    // Once per generation: for rank and truncation selection the genomes sorted by fitness (in `order`, through
    // `ranked`, the arrays reinsertion sorts into later anyway), and cumulative weights for rank and roulette.
    private void PrepareSelection(double[] scores, double[] weights, int[] order, double[] ranked)
    {
        int n = scores.Length;
        if (options.Selection is GeneticSelection.Rank or GeneticSelection.Elite)
        {
            for (int i = 0; i < n; i++)
            {
                order[i] = i;
            }

            scores.AsSpan().CopyTo(ranked);
            Array.Sort(ranked, order);
        }

        if (options.Selection == GeneticSelection.Rank)
        {
            for (int r = 0; r < n; r++)
            {
                weights[order[r]] = n - r; // the fittest has weight n
            }
        }
        else if (options.Selection == GeneticSelection.Roulette)
        {
            double worst = double.NegativeInfinity, bestScore = double.PositiveInfinity;
            foreach (double s in scores)
            {
                worst = Math.Max(worst, double.IsFinite(s) ? s : worst);
                bestScore = Math.Min(bestScore, s);
            }

            double epsilon = Math.Max(1e-12, (worst - bestScore) * 0.01);
            for (int i = 0; i < n; i++)
            {
                weights[i] = double.IsFinite(scores[i]) ? worst - scores[i] + epsilon : epsilon;
            }
        }
        else
        {
            return;
        }

        for (int i = 1; i < n; i++)
        {
            weights[i] += weights[i - 1];
        }
    }

    private int Select(double[] scores, double[] weights, int[] order, GeneticRandom random)
    {
        switch (options.Selection)
        {
            case GeneticSelection.Rank:
            case GeneticSelection.Roulette:
                double x = random.NextDouble() * weights[^1];
                int at = Array.BinarySearch(weights, x);
                return Math.Min(at < 0 ? ~at : at, weights.Length - 1);
            case GeneticSelection.Elite:
                return order[random.Next(Math.Max(1, scores.Length / 2))]; // uniform among the fitter half
            default:
                int winner = random.Next(scores.Length);
                for (int t = 1; t < options.TournamentSize; t++)
                {
                    int other = random.Next(scores.Length);
                    if (scores[other] < scores[winner])
                    {
                        winner = other;
                    }
                }

                return winner;
        }
    }

    private void Cross(ReadOnlySpan<double> first, ReadOnlySpan<double> second, Span<double> one, Span<double> other, GeneticRandom random)
    {
        int genes = first.Length;
        bool two = !other.IsEmpty;
        switch (options.Crossover)
        {
            case GeneticCrossover.OnePoint:
            case GeneticCrossover.TwoPoint:
                int from = options.Crossover == GeneticCrossover.OnePoint ? 0 : random.Next(genes);
                int to = from + random.Next(genes - from) + (options.Crossover == GeneticCrossover.OnePoint ? 1 : 0);
                for (int g = 0; g < genes; g++)
                {
                    bool swap = options.Crossover == GeneticCrossover.OnePoint ? g >= to : g >= from && g < to;
                    one[g] = swap ? second[g] : first[g];
                    if (two)
                    {
                        other[g] = swap ? first[g] : second[g];
                    }
                }

                return;
            case GeneticCrossover.Blend:
                for (int g = 0; g < genes; g++)
                {
                    double lo = Math.Min(first[g], second[g]), hi = Math.Max(first[g], second[g]), d = (hi - lo) * options.BlendAlpha;
                    one[g] = Math.Clamp(lo - d + ((hi - lo + (2 * d)) * random.NextDouble()), min[g], max[g]);
                    if (two)
                    {
                        other[g] = Math.Clamp(lo - d + ((hi - lo + (2 * d)) * random.NextDouble()), min[g], max[g]);
                    }
                }

                return;
            default:
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

                return;
        }
    }

    private void Mutate(Span<double> offspring, double sigma, GeneticRandom random)
    {
        for (int g = 0; g < offspring.Length; g++)
        {
            if (random.NextDouble() < options.MutationProbability)
            {
                offspring[g] = options.Mutation == GeneticMutation.Gaussian
                    ? Math.Clamp(offspring[g] + (sigma * (max[g] - min[g]) * random.NextGaussian()), min[g], max[g])
                    : min[g] + ((max[g] - min[g]) * random.NextDouble());
            }
        }
    }

    // Rechenberg's 1/5 rule: a larger step when more than a fifth of the children beat their first parent, else smaller.
    private double AdaptSigma(double sigma, double[] childScores, double[] parentScores, int[] parentOf, int children)
    {
        if (options.Mutation != GeneticMutation.Gaussian || children == 0)
        {
            return sigma;
        }

        int better = 0;
        for (int c = 0; c < children; c++)
        {
            better += childScores[c] < parentScores[parentOf[c]] ? 1 : 0;
        }

        return Math.Clamp(better * 5 > children ? sigma * 1.22 : sigma * 0.82, 1e-4, 0.5);
    }
}
