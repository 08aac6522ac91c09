using System.CommandLine;
using System.Diagnostics;
using VmEcosystem.ConsoleHost.Reporting;
using VmEcosystem.Tuning;

namespace VmEcosystem.ConsoleHost.Commands;

/// <summary>
/// `benchmark ga`: the tuning engine's genetic algorithm on a test function, with the anchor's setup (tournament 2,
/// uniform crossover 0.75, per-gene uniform mutation 1/genes, elitist reinsertion): warm-up runs (at least 3 and
/// half a second), then the median of 5 timed serial runs in this process.
/// </summary>
internal static class GaBenchmarkCommand
{
    // GeneticSharp's real-valued serial run of the same setup (Rastrigin, 16 genes, population 100, 500 generations,
    // seed 42), measured on a 2-core machine of this kind: the anchor figures shipped with the task.
    private const double AnchorEvaluationsPerSecond = 479_000, AnchorBestFitness = 0.6275;

    public static Command Create()
    {
        var function = new Option<string>("--function") { Description = "rastrigin or sphere.", DefaultValueFactory = _ => "rastrigin" };
        var dims = new Option<int>("--dims") { Description = "Genes.", DefaultValueFactory = _ => 16 };
        var population = new Option<int>("--population") { Description = "Genomes per generation.", DefaultValueFactory = _ => 100 };
        var generations = new Option<int>("--generations") { Description = "Generations.", DefaultValueFactory = _ => 500 };
        var seed = new Option<int>("--seed") { Description = "Seed.", DefaultValueFactory = _ => 42 };
        var mutation = new Option<double?>("--mutation") { Description = "Per-gene probability of a uniform mutation (default 1/dims)." };
        var parallel = new Option<bool>("--parallel") { Description = "Instead: an evaluation that costs 1 ms (a sleep), run with 1, 2, 4 and 8 evaluation slots." };
        var json = new Option<bool>("--json") { Description = "One JSON object." };
        var command = new Command("ga", "Time the tuning engine's genetic algorithm on a test function against GeneticSharp's anchor.")
        {
            function, dims, population, generations, seed, mutation, parallel, json,
        };
        command.SetAction((parse, ct) => CliErrors.RunAsync(() =>
        {
            string name = parse.GetValue(function)!;
            int genes = parse.GetValue(dims), size = parse.GetValue(population), rounds = parse.GetValue(generations);
            if (name is not ("rastrigin" or "sphere"))
            {
                throw new ArgumentException($"--function must be rastrigin or sphere; got '{name}'.");
            }

            if (genes is < 1 or > 10_000 || size is < 2 or > 100_000 || rounds is < 1 or > 1_000_000)
            {
                throw new ArgumentException("--dims must be 1 to 10000, --population 2 to 100000 and --generations 1 to 1000000.");
            }

            double perGene = parse.GetValue(mutation) ?? 1.0 / genes;
            if (perGene is < 0 or > 1)
            {
                throw new ArgumentException($"--mutation must be between 0 and 1; got {perGene}.");
            }

            if (parse.GetValue(parallel))
            {
                var slots = Parallel(genes, size, rounds, parse.GetValue(seed), perGene, ct);
                CliOutput.Line(parse.GetValue(json) ? Json.Line(slots)
                    : string.Join(Environment.NewLine, slots.Runs.Select(r => $"{r.Slots} slots: {r.WallSeconds:F3} s, {r.Speedup:F2}x one slot, best {r.BestFitness:F4}")));
                return Task.FromResult(0);
            }

            var result = Run(name, genes, size, rounds, parse.GetValue(seed), perGene, ct);
            if (parse.GetValue(json))
            {
                CliOutput.Line(Json.Line(result));
            }
            else
            {
                CliOutput.Line($"{name} {genes} genes, population {size}, {rounds} generations: {result.EvaluationsPerSecond:F0} evaluations/s "
                    + $"({result.RatioToAnchor:F2}x GeneticSharp's {AnchorEvaluationsPerSecond:F0}), best {result.BestFitness:F4} (anchor {AnchorBestFitness}), median run {result.WallSeconds * 1000:F1} ms");
            }

            return Task.FromResult(0);
        }));
        return command;
    }

    internal sealed record GaRun(string Function, int Dims, int Population, int Generations, int Seed, double Mutation, long Evaluations, double WallSeconds,
        double EvaluationsPerSecond, double BestFitness, string Stopped, double AnchorEvaluationsPerSecond, double AnchorBestFitness, double RatioToAnchor);

    private static GaRun Run(string function, int genes, int size, int generations, int seed, double mutation, CancellationToken ct)
    {
        double bound = function == "rastrigin" ? 5.12 : 100;
        var min = Enumerable.Repeat(-bound, genes).ToArray();
        var max = Enumerable.Repeat(bound, genes).ToArray();
        var ga = new GeneticAlgorithm(new GeneticOptions { PopulationSize = size, Generations = generations, MutationProbability = mutation }, min, max);
        GeneticAlgorithm.Fitness fitness = function == "rastrigin" ? Rastrigin : Sphere;
        GeneticResult? last = null;
        var times = new List<double>();
        // Warm-ups: at least 3 runs and half a second, so the timed runs use the JIT's optimised code (a run of ours
        // is shorter than the tiering delay; GeneticSharp's 3 warm-ups of 79 ms each passed it).
        var warming = Stopwatch.StartNew();
        for (int run = 0; run < 3 || warming.Elapsed < TimeSpan.FromSeconds(0.5); run++)
        {
            ga.Run(fitness, new Random(seed), ct);
        }

        for (int run = 0; run < 5; run++)
        {
            var watch = Stopwatch.StartNew();
            last = ga.Run(fitness, new Random(seed), ct);
            times.Add(watch.Elapsed.TotalSeconds);
        }

        times.Sort();
        double median = times[times.Count / 2];
        double perSecond = last!.Evaluations / median;
        return new GaRun(function, genes, size, generations, seed, mutation, last.Evaluations, median, perSecond, last.BestFitness, last.Stopped,
            AnchorEvaluationsPerSecond, AnchorBestFitness, perSecond / AnchorEvaluationsPerSecond);
    }

    internal sealed record SlotRun(int Slots, long Evaluations, double WallSeconds, double Speedup, double BestFitness);

    internal sealed record SlotRuns(string Function, double EvaluationMilliseconds, int Dims, int Population, int Generations, int Seed, IReadOnlyList<SlotRun> Runs);

    // Rastrigin behind a 1 ms sleep (an evaluation that waits on something, like a benchmark run on a VM), timed once
    // per slot count: the same run (the same seed gives the same genomes whatever the slots), only faster.
    private static SlotRuns Parallel(int genes, int size, int generations, int seed, double mutation, CancellationToken ct)
    {
        var min = Enumerable.Repeat(-5.12, genes).ToArray();
        var max = Enumerable.Repeat(5.12, genes).ToArray();
        var runs = new List<SlotRun>();
        ThreadPool.GetMinThreads(out int workers, out int io);
        ThreadPool.SetMinThreads(Math.Max(workers, 8 + Environment.ProcessorCount), io); // blocked evaluations must not wait for thread injection
        foreach (int slots in new[] { 1, 2, 4, 8 })
        {
            var ga = new GeneticAlgorithm(new GeneticOptions { PopulationSize = size, Generations = generations, MutationProbability = mutation, Slots = slots }, min, max);
            var watch = Stopwatch.StartNew();
            var result = ga.Run(x =>
            {
                Thread.Sleep(1);
                return Rastrigin(x);
            }, new Random(seed), ct);
            double seconds = watch.Elapsed.TotalSeconds;
            runs.Add(new SlotRun(slots, result.Evaluations, seconds, runs.Count == 0 ? 1 : runs[0].WallSeconds / seconds, result.BestFitness));
        }

        return new SlotRuns("rastrigin", 1, genes, size, generations, seed, runs);
    }

    private static double Rastrigin(ReadOnlySpan<double> x)
    {
        double sum = 10.0 * x.Length;
        foreach (double v in x)
        {
            sum += (v * v) - (10.0 * Math.Cos(2 * Math.PI * v));
        }

        return sum;
    }

    private static double Sphere(ReadOnlySpan<double> x)
    {
        double sum = 0;
        foreach (double v in x)
        {
            sum += v * v;
        }

        return sum;
    }
}
