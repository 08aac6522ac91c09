using VmEcosystem.Tuning;
using Xunit;

namespace VmEcosystem.Tests.Tuning;

/// <summary>Search spaces, constraints, weighted fitness, guided mutation and the tuner on the simulated application.</summary>
public sealed class ConfigurationTuningTests
{
    [Fact]
    public void A_search_space_decodes_every_gene_kind_onto_its_grid_and_round_trips()
    {
        var space = SearchSpaceJson.Parse(SimulatedApplication.SearchSpaceJson);
        Assert.Equal(["vcpus", "memoryGiB", "threads", "cacheMiB", "gc", "compression"], space.Genes.Select(g => g.Name));
        var values = new double[6];
        space.Decode([4.99, 7.74, 63.2, 1000, 2.7, 1.9], values);
        Assert.Equal([4, 7.5, 63, 768, 2, 1], values);
        Assert.Equal("vcpus=4, memoryGiB=7.5, threads=63, cacheMiB=768, gc=concurrent, compression=true", space.Describe(values));
        var again = new double[6];
        space.Decode(space.Encode(values), again);
        Assert.Equal(values, again);
        space.Decode(space.EncodedMax, again); // the open end of each encoded range still decodes inside it
        Assert.Equal([16, 32, 64, 4096, 2, 1], again);
    }

    [Fact]
    public void Constraints_measure_how_far_they_are_broken()
    {
        var space = SearchSpaceJson.Parse(SimulatedApplication.SearchSpaceJson);
        Assert.Equal(0, space.Violation([4, 16, 8, 0, 0, 0]));
        Assert.Equal(4, space.Violation([4, 20, 8, 0, 0, 0])); // memoryGiB <= 4 * vcpus, by 4 GiB
        var genes = space.Genes;
        Assert.Equal(3, GeneConstraint.Parse("threads >= 2 * vcpus + 1", genes, "c").Violation([4, 0, 6, 0, 0, 0]));
        Assert.Equal(0, GeneConstraint.Parse("cacheMiB - 1024 * memoryGiB <= -512", genes, "c").Violation([1, 2, 1, 1024, 0, 0]));
    }

    [Theory]
    [InlineData("""{ "genes": [] }""", "genes: expected a non-empty array")]
    [InlineData("""{ "genes": [ { "name": "a", "type": "int", "min": 3, "max": 1 } ] }""", "genes[0].max: expected a value at least min")]
    [InlineData("""{ "genes": [ { "name": "a", "type": "float", "min": 0, "max": 1 } ] }""", "genes[0].type: expected real, int, categorical or bool")]
    [InlineData("""{ "genes": [ { "name": "a", "type": "bool", "colour": 1 } ] }""", "genes[0].colour: expected no such property")]
    [InlineData("""{ "genes": [ { "name": "a", "type": "categorical", "choices": ["x"] } ] }""", "genes[0].choices: expected an array of at least two strings")]
    [InlineData("""{ "genes": [ { "name": "a", "type": "int", "min": 0, "max": 1.5 } ] }""", "genes[0]: expected whole numbers for an int gene")]
    [InlineData("""{ "genes": [ { "name": "a", "type": "bool" }, { "name": "a", "type": "bool" } ] }""", "genes[1].name: expected a name used once")]
    [InlineData("""{ "genes": [ { "name": "a", "type": "bool" } ], "constraints": [ "b <= 1" ] }""", "constraints[0]: 'b' in 'b <= 1' is not a gene")]
    [InlineData("""{ "genes": [ { "name": "a", "type": "bool" } ], "constraints": [ "a * a <= 1" ] }""", "constraints[0]: 'a * a' in 'a * a <= 1' multiplies two genes")]
    [InlineData("""{ "genes": [ { "name": "a", "type": "bool" } ], "constraints": [ "a 1" ] }""", "constraints[0]: expected a comparison")]
    [InlineData("""{ "genes": [ { "name": "a", "type": "bool" } ], "extra": 1 }""", "$.extra: expected no such property")]
    public void Bad_search_spaces_are_refused_naming_the_path_and_what_was_expected(string json, string message)
    {
        var ex = Assert.Throws<FormatException>(() => SearchSpaceJson.Parse(json));
        Assert.StartsWith(message, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_baseline_scores_one_and_the_parts_add_up_to_the_score()
    {
        var app = new SimulatedApplication();
        var baseline = SimulatedApplication.Metrics(app.Measure(SimulatedApplication.Baseline));
        var fitness = new WeightedFitness(SimulatedApplication.Goals, baseline);
        var own = fitness.Score(baseline);
        Assert.Equal(1, own.Score, 9);
        Assert.Equal(0, own.Penalty);

        var better = SimulatedApplication.Metrics(app.Measure([9, 5, 9, 4096, 2, 1])); // the grid's optimum
        var score = fitness.Score(better);
        Assert.Equal(0.6175, score.Score, 4);
        Assert.Equal(score.Score, score.Parts.Sum(p => p.Weighted), 9);
        Assert.Equal(score.Score, fitness.ScoreValues([better["throughput"], better["latencyMs"], better["cost"], better["availability"]]), 9);
        Assert.Equal(0, score.Parts.Single(p => p.Metric == "availability").Normalized); // level reached
        Assert.True(fitness.Score(better, violation: 2).Score > 10); // a broken constraint is worse than anything feasible
    }

    [Fact]
    public void The_tuner_improves_on_the_baseline_never_evaluates_a_broken_constraint_and_repeats_itself_for_a_seed()
    {
        var space = SearchSpaceJson.Parse(SimulatedApplication.SearchSpaceJson);
        var evaluator = new CountingEvaluator(new SimulatedEvaluator(new SimulatedApplication()));
        var options = new TuningOptions { Genetic = new GeneticOptions { PopulationSize = 20, Generations = 30, MutationProbability = 0.3, GuidedCandidates = 16 } };
        var tuner = new ConfigurationTuner(space, SimulatedApplication.Goals, evaluator, options);
        var first = tuner.Run(SimulatedApplication.Baseline, new Random(7));
        Assert.Equal(1, first.Baseline.Fitness.Score, 9);
        Assert.True(first.Best.Fitness.Score < 0.7, $"best {first.Best.Fitness.Score}");
        Assert.All(evaluator.Seen, v => Assert.Equal(0, space.Violation(v)));
        Assert.Equal(first.Evaluations.Count + 1, evaluator.Seen.Count); // + the baseline
        Assert.All(first.Evaluations, e => Assert.Equal(e.Fitness.Score, e.Fitness.Parts.Sum(p => p.Weighted) + e.Fitness.Penalty, 9));

        var second = new ConfigurationTuner(space, SimulatedApplication.Goals, new SimulatedEvaluator(new SimulatedApplication()), options)
            .Run(SimulatedApplication.Baseline, new Random(7));
        Assert.Equal(first.Evaluations.Select(e => e.Fitness.Score), second.Evaluations.Select(e => e.Fitness.Score));
    }

    [Fact]
    public void An_interrupted_tuning_run_resumes_from_its_json_checkpoint_and_ends_as_the_uninterrupted_one()
    {
        var space = SearchSpaceJson.Parse(SimulatedApplication.SearchSpaceJson);
        TuningOptions Options(int generations, Action<TuningCheckpoint>? after = null) => new()
        {
            Genetic = new GeneticOptions { PopulationSize = 12, Generations = generations, MutationProbability = 0.3, GuidedCandidates = 8 },
            AfterGeneration = after,
        };
        ConfigurationTuner Tuner(TuningOptions o) => new(space, SimulatedApplication.Goals, new SimulatedEvaluator(new SimulatedApplication()), o);
        var whole = Tuner(Options(12)).Run(SimulatedApplication.Baseline, new Random(4));
        string? saved = null;
        Tuner(Options(6, c => saved = c.ToJson())).Run(SimulatedApplication.Baseline, new Random(4));
        var resumed = Tuner(Options(12)).Run(SimulatedApplication.Baseline, new Random(99), resume: TuningCheckpoint.FromJson(saved!));
        Assert.Equal(whole.Evaluations.Select(e => e.Fitness.Score), resumed.Evaluations.Select(e => e.Fitness.Score));
        Assert.Equal(whole.Best.Values, resumed.Best.Values);
        Assert.Equal(whole.Baseline.Fitness.Score, resumed.Baseline.Fitness.Score);
        Assert.Throws<FormatException>(() => TuningCheckpoint.FromJson("[]"));
    }

    [Fact]
    public void A_failing_evaluation_is_retried_then_scored_as_a_failure_with_its_reason()
    {
        var space = SearchSpaceJson.Parse(SimulatedApplication.SearchSpaceJson);
        var flaky = new FlakyEvaluator(new SimulatedEvaluator(new SimulatedApplication()));
        var options = new TuningOptions { Genetic = new GeneticOptions { PopulationSize = 4, Generations = 1 }, Retries = 1 };
        var result = new ConfigurationTuner(space, SimulatedApplication.Goals, flaky, options).Run(SimulatedApplication.Baseline, new Random(1));
        var failed = result.Evaluations.Where(e => e.Error is not null).ToArray();
        Assert.NotEmpty(failed);
        Assert.All(failed, e => Assert.Contains("benchmark crashed", e.Error, StringComparison.Ordinal));
        Assert.All(failed, e => Assert.True(e.Fitness.Score >= 10));
        Assert.Contains(result.Evaluations, e => e.Error is null); // a first failure followed by a success is retried into a result
    }

    [Fact]
    public void Guided_mutation_reaches_the_optimum_region_with_fewer_evaluations_than_random_search_on_most_seeds()
    {
        var run = ConsoleTuning.Run();
        Assert.True(run.Guided < run.Random, $"guided {run.Guided} random {run.Random}");
    }

    private static class ConsoleTuning
    {
        // A small version of `benchmark tuning` (3 seeds, medians): the full one is in the README.
        public static (double Guided, double Random) Run()
        {
            var app = new SimulatedApplication();
            var space = SearchSpaceJson.Parse(SimulatedApplication.SearchSpaceJson);
            var fitness = new WeightedFitness(SimulatedApplication.Goals, SimulatedApplication.Metrics(app.Measure(SimulatedApplication.Baseline)));
            double target = 0.63; // the optimum scores 0.6175
            var guided = new List<double>();
            var random = new List<double>();
            for (int seed = 1; seed <= 3; seed++)
            {
                var options = new TuningOptions { Genetic = new GeneticOptions { PopulationSize = 20, Generations = 200, MutationProbability = 0.3, GuidedCandidates = 16, TargetFitness = target } };
                var result = new ConfigurationTuner(space, SimulatedApplication.Goals, new SimulatedEvaluator(app), options).Run(SimulatedApplication.Baseline, new Random(seed));
                guided.Add(result.Evaluations.FirstOrDefault(e => e.Fitness.Score <= target)?.Index ?? double.PositiveInfinity);
                var r = new Random(seed);
                var encoded = new double[6];
                var values = new double[6];
                for (int n = 1; ;)
                {
                    for (int g = 0; g < 6; g++)
                    {
                        encoded[g] = space.EncodedMin[g] + ((space.EncodedMax[g] - space.EncodedMin[g]) * r.NextDouble());
                    }

                    space.Decode(encoded, values);
                    if (space.Violation(values) > 0)
                    {
                        continue;
                    }

                    if (fitness.Score(SimulatedApplication.Metrics(app.Measure(values))).Score <= target)
                    {
                        random.Add(n);
                        break;
                    }

                    n++;
                }
            }

            return (guided.Order().ElementAt(1), random.Order().ElementAt(1));
        }
    }

    private sealed class CountingEvaluator(IConfigurationEvaluator inner) : IConfigurationEvaluator
    {
        public List<double[]> Seen { get; } = [];

        public ValueTask<IReadOnlyDictionary<string, double>> EvaluateAsync(SearchSpace space, double[] values, CancellationToken cancellationToken)
        {
            lock (Seen)
            {
                Seen.Add(values);
            }

            return inner.EvaluateAsync(space, values, cancellationToken);
        }
    }

    // Fails every evaluation whose call number is a multiple of 3 (so some retries succeed and some pairs fail twice).
    private sealed class FlakyEvaluator(IConfigurationEvaluator inner) : IConfigurationEvaluator
    {
        private int _calls;

        public ValueTask<IReadOnlyDictionary<string, double>> EvaluateAsync(SearchSpace space, double[] values, CancellationToken cancellationToken)
        {
            int call = Interlocked.Increment(ref _calls);
            return call > 1 && (call % 3 == 0 || call % 3 == 1 && call > 3) ? throw new InvalidOperationException("benchmark crashed") : inner.EvaluateAsync(space, values, cancellationToken);
        }
    }
}
