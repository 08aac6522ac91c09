using System.CommandLine;
using VmEcosystem.ConsoleHost.Reporting;
using VmEcosystem.Tuning;

namespace VmEcosystem.ConsoleHost.Commands;

/// <summary>
/// `benchmark tuning`: configuration tuning on the simulated application, whose optimum is known (the whole grid is
/// enumerated). For each seed, the evaluations the GA with guided mutation needs to reach a configuration within the
/// tolerance of the optimum's score, against random search over the same space (both skip configurations that break a
/// constraint without evaluating them), and the GA without guidance for reference. Median over the seeds.
/// </summary>
internal static class TuningBenchmarkCommand
{
    // Anchor: CherryPick (NSDI 2017) reports near-optimal cloud configurations with up to 75 % less search cost than
    // the alternatives; the bar is the GA with guidance using at most a quarter of random search's evaluations.
    private const double Bar = 0.25;
    private const long RandomBudget = 5_000_000;

    public static Command Create()
    {
        var seeds = new Option<int>("--seeds") { Description = "Seeds 1..N.", DefaultValueFactory = _ => 10 };
        var tolerance = new Option<double>("--tolerance") { Description = "Within this share of the optimum's score.", DefaultValueFactory = _ => 0.02 };
        var population = new Option<int>("--population") { Description = "GA population.", DefaultValueFactory = _ => 20 };
        var candidates = new Option<int>("--guided") { Description = "Candidate mutants per guided child.", DefaultValueFactory = _ => 16 };
        var mutation = new Option<double>("--mutation") { Description = "Per-gene mutation probability.", DefaultValueFactory = _ => 0.3 };
        var json = new Option<bool>("--json") { Description = "One JSON object." };
        var command = new Command("tuning", "Tuning on the simulated application: GA with guided mutation against random search, evaluations to near-optimum.")
        {
            seeds, tolerance, population, candidates, mutation, json,
        };
        command.SetAction((parse, ct) => CliErrors.RunAsync(() =>
        {
            int n = parse.GetValue(seeds);
            double tol = parse.GetValue(tolerance);
            int size = parse.GetValue(population), guided = parse.GetValue(candidates);
            double perGene = parse.GetValue(mutation);
            if (n is < 1 or > 1000 || tol is <= 0 or >= 1 || size is < 2 or > 10_000 || guided is < 1 or > 1000 || perGene is <= 0 or > 1)
            {
                throw new ArgumentException("--seeds must be 1 to 1000, --tolerance between 0 and 1 (exclusive), --population 2 to 10000, --guided 1 to 1000, --mutation in (0, 1].");
            }

            var result = Run(new Setup(n, tol, size, guided, perGene), ct);
            CliOutput.Line(parse.GetValue(json) ? Json.Line(result)
                : $"optimum score {result.OptimumScore:F4} ({result.OptimumConfiguration}); within {tol:P0}: GA+guided median {result.MedianGuided} evaluations, "
                  + $"GA {result.MedianUnguided}, random search {result.MedianRandom}; ratio {result.RatioOfMedians:F3} (bar {Bar})");
            return Task.FromResult(0);
        }));
        return command;
    }

    internal sealed record SeedRun(int Seed, long? Guided, long? Unguided, long Random, double? Ratio);

    internal sealed record TuningRun(double OptimumScore, string OptimumConfiguration, long GridSize, double Tolerance, double TargetScore,
        IReadOnlyList<SeedRun> Seeds, double MedianGuided, double MedianUnguided, double MedianRandom, double RatioOfMedians, double MedianRatio, double Bar);

    internal sealed record Setup(int Seeds, double Tolerance, int Population, int GuidedCandidates, double Mutation);

    internal static TuningRun Run(Setup setup, CancellationToken ct)
    {
        double tolerance = setup.Tolerance;
        var application = new SimulatedApplication();
        var space = SearchSpaceJson.Parse(SimulatedApplication.SearchSpaceJson);
        var fitness = new WeightedFitness(SimulatedApplication.Goals, SimulatedApplication.Metrics(application.Measure(SimulatedApplication.Baseline)));
        var (optimum, optimumValues, grid) = Optimum(space, application, fitness);
        double target = optimum + (tolerance * Math.Abs(optimum));
        var runs = new List<SeedRun>();
        for (int seed = 1; seed <= setup.Seeds; seed++)
        {
            long? guided = GeneticEvaluations(space, application, target, setup, setup.GuidedCandidates, seed, ct);
            long? unguided = GeneticEvaluations(space, application, target, setup, 0, seed, ct);
            long random = RandomEvaluations(space, application, fitness, target, seed);
            runs.Add(new SeedRun(seed, guided, unguided, random, guided is { } g ? (double)g / random : null));
        }

        double mg = Median(runs.Select(r => (double)(r.Guided ?? long.MaxValue))), mu = Median(runs.Select(r => (double)(r.Unguided ?? long.MaxValue)));
        double mr = Median(runs.Select(r => (double)r.Random));
        return new TuningRun(optimum, space.Describe(optimumValues), grid, tolerance, target, runs, mg, mu, mr, mg / mr,
            Median(runs.Select(r => r.Ratio ?? double.PositiveInfinity)), Bar);
    }

    // Every feasible configuration of the grid, scored without allocation: the exact optimum.
    private static (double Score, double[] Values, long Grid) Optimum(SearchSpace space, SimulatedApplication application, WeightedFitness fitness)
    {
        var values = new double[space.Genes.Count];
        var best = new double[values.Length];
        Span<double> metrics = stackalloc double[4];
        double bestScore = double.PositiveInfinity;
        long grid = 0;
        var genes = space.Genes;
        for (double v = genes[0].Min; v <= genes[0].Max; v += 1)
        {
            for (double m = genes[1].Min; m <= genes[1].Max; m += genes[1].Step!.Value)
            {
                for (double t = genes[2].Min; t <= genes[2].Max; t += 1)
                {
                    for (double c = genes[3].Min; c <= genes[3].Max; c += genes[3].Step!.Value)
                    {
                        for (int gc = 0; gc < 3; gc++)
                        {
                            for (int z = 0; z < 2; z++)
                            {
                                values[0] = v; values[1] = m; values[2] = t; values[3] = c; values[4] = gc; values[5] = z;
                                grid++;
                                if (space.Violation(values) > 0)
                                {
                                    continue;
                                }

                                double score = Score(application, fitness, values, metrics);
                                if (score < bestScore)
                                {
                                    bestScore = score;
                                    values.CopyTo(best, 0);
                                }
                            }
                        }
                    }
                }
            }
        }

        return (bestScore, best, grid);
    }

    private static double Score(SimulatedApplication application, WeightedFitness fitness, ReadOnlySpan<double> values, Span<double> metrics)
    {
        var m = application.Measure(values);
        metrics[0] = m.Throughput;
        metrics[1] = m.LatencyMs;
        metrics[2] = m.Cost;
        metrics[3] = m.Availability;
        return fitness.ScoreValues(metrics);
    }

    // The tuner's evaluations until the first one within the target (null: not within the run's budget).
    private static long? GeneticEvaluations(SearchSpace space, SimulatedApplication application, double target, Setup setup, int guidedCandidates, int seed, CancellationToken ct)
    {
        var options = new TuningOptions
        {
            Genetic = new GeneticOptions
            {
                PopulationSize = setup.Population, Generations = 20_000 / setup.Population, MutationProbability = setup.Mutation, GuidedCandidates = guidedCandidates,
                TargetFitness = target,
            },
        };
        var tuner = new ConfigurationTuner(space, SimulatedApplication.Goals, new SimulatedEvaluator(application), options);
        var result = tuner.Run(SimulatedApplication.Baseline, new Random(seed), ct);
        return result.Evaluations.FirstOrDefault(e => e.Fitness.Score <= target)?.Index;
    }

    // Uniform random configurations (those breaking a constraint are skipped, not evaluated) until one is within the target.
    private static long RandomEvaluations(SearchSpace space, SimulatedApplication application, WeightedFitness fitness, double target, int seed)
    {
        var random = new Random(seed);
        var encoded = new double[space.Genes.Count];
        var values = new double[encoded.Length];
        Span<double> metrics = stackalloc double[4];
        for (long evaluations = 1; evaluations <= RandomBudget;)
        {
            for (int g = 0; g < encoded.Length; g++)
            {
                encoded[g] = space.EncodedMin[g] + ((space.EncodedMax[g] - space.EncodedMin[g]) * random.NextDouble());
            }

            space.Decode(encoded, values);
            if (space.Violation(values) > 0)
            {
                continue;
            }

            if (Score(application, fitness, values, metrics) <= target)
            {
                return evaluations;
            }

            evaluations++;
        }

        return RandomBudget;
    }

    private static double Median(IEnumerable<double> values) => Tuning.Rollout.MannWhitney.Median([.. values]);
}
