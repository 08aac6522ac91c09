using Microsoft.Extensions.Time.Testing;
using VmEcosystem.Tuning;

namespace VmEcosystem.Tests.Tuning;

/// <summary>The engine's other operators, terminations and checkpoints.</summary>
public sealed class GeneticOperatorTests
{
    private static double Sphere(ReadOnlySpan<double> x)
    {
        double sum = 0;
        foreach (double v in x)
        {
            sum += (v - 1) * (v - 1);
        }

        return sum;
    }

    private static GeneticAlgorithm Engine(GeneticOptions options, int genes = 6) =>
        new(options, Enumerable.Repeat(-5.0, genes).ToArray(), Enumerable.Repeat(5.0, genes).ToArray());

    [Theory]
    [InlineData(0, 1, 0)]
    [InlineData(1, 2, 1)]
    [InlineData(2, 3, 1)]
    [InlineData(3, 0, 1)]
    [InlineData(1, 3, 0)]
    public void Every_operator_combination_optimises_and_repeats_itself_for_a_seed(int selectionIndex, int crossoverIndex, int mutationIndex)
    {
        var selection = (GeneticSelection)selectionIndex;
        var crossover = (GeneticCrossover)crossoverIndex;
        var mutation = (GeneticMutation)mutationIndex;
        var options = new GeneticOptions
        {
            Generations = 150, MutationProbability = 0.2, Selection = selection, Crossover = crossover, Mutation = mutation,
            Initialization = GeneticInitialization.LatinHypercube,
        };
        var first = Engine(options).Run(Sphere, new Random(5));
        var second = Engine(options).Run(Sphere, new Random(5));
        Assert.True(first.BestFitness < 0.5, $"{selection}/{crossover}/{mutation}: best {first.BestFitness}");
        Assert.Equal(first.BestFitness, second.BestFitness);
        Assert.Equal(first.Evaluations, second.Evaluations);
    }

    [Fact]
    public void A_latin_hypercube_uses_every_stratum_of_every_gene_once_after_the_seeds()
    {
        var seen = new List<double[]>();
        var options = new GeneticOptions { PopulationSize = 10, Generations = 1, Initialization = GeneticInitialization.LatinHypercube, Seeds = [[1, 1, 1]] };
        Engine(options, genes: 3).Run(g =>
        {
            seen.Add(g.ToArray());
            return Sphere(g);
        }, new Random(3));
        var initial = seen.Take(10).ToArray();
        Assert.Equal([1.0, 1.0, 1.0], initial[0]); // the seed comes first
        for (int g = 0; g < 3; g++)
        {
            var strata = initial.Skip(1).Select(x => (int)Math.Floor((x[g] + 5) / 10 * 9)).Order().ToArray();
            Assert.Equal(Enumerable.Range(0, 9), strata);
        }
    }

    [Fact]
    public void Evaluation_budget_and_time_limit_stop_the_run_between_generations()
    {
        var budget = Engine(new GeneticOptions { Generations = 1000, MaxEvaluations = 500 }).Run(Sphere, new Random(1));
        Assert.Equal("evaluations", budget.Stopped);
        Assert.InRange(budget.Evaluations, 500, 600);

        var clock = new FakeTimeProvider();
        var timed = Engine(new GeneticOptions { Generations = 1000, TimeLimit = TimeSpan.FromSeconds(10), Time = clock }).Run(g =>
        {
            clock.Advance(TimeSpan.FromMilliseconds(10)); // an evaluation that takes 10 ms
            return Sphere(g);
        }, new Random(1));
        Assert.Equal("time", timed.Stopped);
        Assert.InRange(timed.Evaluations, 1000, 1200); // checked between generations of about 75
    }

    [Fact]
    public void A_run_resumed_from_its_json_checkpoint_ends_exactly_as_the_uninterrupted_run()
    {
        var whole = Engine(new GeneticOptions { Generations = 40, Mutation = GeneticMutation.Gaussian, GuidedCandidates = 4 }).Run(Sphere, new Random(9));
        string? saved = null;
        var half = Engine(new GeneticOptions { Generations = 20, Mutation = GeneticMutation.Gaussian, GuidedCandidates = 4, AfterGeneration = c => saved = c.ToJson() })
            .Run(Sphere, new Random(9));
        Assert.Equal(20, half.Generations);
        var checkpoint = GeneticCheckpoint.FromJson(saved!);
        var resumed = Engine(new GeneticOptions { Generations = 40, Mutation = GeneticMutation.Gaussian, GuidedCandidates = 4 }).Run(Sphere, new Random(12345), resume: checkpoint);
        Assert.Equal(whole.Evaluations, resumed.Evaluations);
        Assert.Equal(whole.Best, resumed.Best);
        Assert.Equal(whole.BestFitness, resumed.BestFitness);
        Assert.Throws<FormatException>(() => GeneticCheckpoint.FromJson("{\"Genes\": 3}"));
    }

    [Fact]
    public void A_cancelled_run_returns_a_checkpoint_to_resume_from()
    {
        using var cts = new CancellationTokenSource();
        int evaluated = 0;
        var options = new GeneticOptions { Generations = 30 };
        var cancelled = Engine(options).Run(g =>
        {
            if (++evaluated == 400)
            {
                cts.Cancel();
            }

            return Sphere(g);
        }, new Random(2), cts.Token);
        Assert.Equal("cancelled", cancelled.Stopped);
        var finished = Engine(options).Run(Sphere, new Random(2), resume: GeneticCheckpoint.FromJson(cancelled.Checkpoint.ToJson()));
        Assert.Equal(30, finished.Generations);
        Assert.True(finished.BestFitness <= cancelled.BestFitness);
    }
}
