using VmEcosystem.Tuning;

namespace VmEcosystem.Tests.Tuning;

/// <summary>The tuning engine's genetic algorithm (issue 19, first part): it optimises, repeats itself for a seed, stops as told.</summary>
public sealed class GeneticAlgorithmTests
{
    private static double Sphere(ReadOnlySpan<double> x)
    {
        double sum = 0;
        foreach (double v in x)
        {
            sum += (v - 1) * (v - 1); // optimum at (1, ..., 1)
        }

        return sum;
    }

    private static GeneticAlgorithm Engine(GeneticOptions options, int genes = 8) =>
        new(options, Enumerable.Repeat(-5.0, genes).ToArray(), Enumerable.Repeat(5.0, genes).ToArray());

    [Fact]
    public void It_finds_the_optimum_of_a_smooth_function_and_keeps_the_best_genome_it_saw()
    {
        var result = Engine(new GeneticOptions { Generations = 400, MutationProbability = 0.05 }).Run(Sphere, new Random(7));
        Assert.True(result.BestFitness < 0.05, $"best {result.BestFitness}");
        Assert.Equal(result.BestFitness, Sphere(result.Best), 12);
        Assert.All(result.Best, g => Assert.InRange(g, 0.5, 1.5));
        // Only children are evaluated: about three in four genomes a generation (pairs crossed with probability 0.75).
        Assert.InRange(result.Evaluations, 100 + (400 * 60), 100 + (400 * 90));
    }

    [Fact]
    public void A_seed_gives_the_same_run_every_time_and_another_seed_another()
    {
        var options = new GeneticOptions { Generations = 50 };
        var first = Engine(options).Run(Sphere, new Random(3));
        var again = Engine(options).Run(Sphere, new Random(3));
        var other = Engine(options).Run(Sphere, new Random(4));
        Assert.Equal(first.Best, again.Best);
        Assert.Equal(first.BestFitness, again.BestFitness);
        Assert.NotEqual(first.Best, other.Best);
    }

    [Fact]
    public void Evaluating_in_parallel_slots_gives_the_same_run()
    {
        int concurrent = 0, most = 0;
        double Slow(ReadOnlySpan<double> x)
        {
            int now = Interlocked.Increment(ref concurrent);
            InterlockedMax(ref most, now);
            Thread.SpinWait(2000);
            Interlocked.Decrement(ref concurrent);
            return Sphere(x);
        }

        var serial = Engine(new GeneticOptions { Generations = 30 }).Run(Sphere, new Random(9));
        var parallel = Engine(new GeneticOptions { Generations = 30, Slots = 4 }).Run(Slow, new Random(9));
        Assert.Equal(serial.Best, parallel.Best);
        Assert.Equal(serial.Evaluations, parallel.Evaluations);
        Assert.InRange(most, 1, 4); // never more evaluations at once than slots
    }

    private static void InterlockedMax(ref int target, int value)
    {
        int seen = Volatile.Read(ref target);
        while (value > seen && Interlocked.CompareExchange(ref target, value, seen) != seen)
        {
            seen = Volatile.Read(ref target);
        }
    }

    [Fact]
    public void It_stops_at_its_target_at_stagnation_and_when_cancelled()
    {
        var target = Engine(new GeneticOptions { Generations = 10_000, TargetFitness = 1.0 }).Run(Sphere, new Random(1));
        Assert.Equal("target", target.Stopped);
        Assert.True(target.BestFitness <= 1.0 && target.Generations < 10_000);

        var flat = Engine(new GeneticOptions { Generations = 10_000, StagnationGenerations = 5 }).Run(_ => 1.0, new Random(1));
        Assert.Equal(("stagnation", 5), (flat.Stopped, flat.Generations));

        using var cancel = new CancellationTokenSource();
        cancel.Cancel();
        Assert.Equal(("cancelled", 0), Engine(new GeneticOptions()).Run(Sphere, new Random(1), cancel.Token) is var c ? (c.Stopped, c.Generations) : default);
    }

    [Fact]
    public void Bad_settings_are_named()
    {
        Assert.Contains("TournamentSize", Assert.Throws<ArgumentException>(() => Engine(new GeneticOptions { TournamentSize = 0 }).Run(Sphere, new Random(1))).Message, StringComparison.Ordinal);
        Assert.Contains("Elites", Assert.Throws<ArgumentException>(() => Engine(new GeneticOptions { PopulationSize = 4, Elites = 4 }).Run(Sphere, new Random(1))).Message, StringComparison.Ordinal);
        Assert.Contains("ranges disagree", Assert.Throws<ArgumentException>(() => new GeneticAlgorithm(new GeneticOptions(), [0.0], [1.0, 2.0]).Run(Sphere, new Random(1))).Message, StringComparison.Ordinal);
    }
}
