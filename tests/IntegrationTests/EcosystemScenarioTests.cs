using VmEcosystem.Ecosystem.Declarations;
using VmEcosystem.Experiments;

namespace VmEcosystem.IntegrationTests;

/// <summary>The ecosystem scenario on the simulator: the acceptance bounds of the ecosystem map.</summary>
public sealed class EcosystemScenarioTests
{
    [Theory]
    [InlineData(42)]
    [InlineData(7)]
    [InlineData(2026)]
    public void Satisfaction_reaches_95_percent_of_its_optimum_within_an_hour_without_breaking_a_required_dependency(int seed)
    {
        var setup = EcosystemScenario.Create(new EcosystemScenarioOptions { Seed = seed });
        // The scenario's declarations go through the strict parser first, as users' files do.
        setup = setup with { Declarations = new DeclarationParser().Parse(setup.DeclarationsJson).GetOrThrow() };
        var options = new EcosystemExperimentOptions { Seed = seed };
        var result = EcosystemExperiment.Run(setup, options);

        Assert.True(result.Initial.OfOptimum < 0.7, $"The scenario should start badly placed; it starts at {result.Initial.OfOptimum:P1}.");
        var atOneHour = result.Timeline.Last(t => t.Minutes <= 60.0001);
        Assert.True(atOneHour.Score >= 0.95 * atOneHour.Optimum, $"After an hour: {atOneHour.Score:F3} of optimum {atOneHour.Optimum:F3}.");
        Assert.NotNull(result.MinutesTo95PercentOfOptimum);
        Assert.Equal(0, result.RequiredBroken);
        Assert.True(result.PeakInFlightPerHost <= options.Policy.MaxMigrationsPerHost, $"{result.PeakInFlightPerHost} migrations touched one host.");
        Assert.True(result.PeakInFlightCluster <= options.Policy.MaxMigrationsInCluster, $"{result.PeakInFlightCluster} migrations ran at once.");
        Assert.True(result.MeanWebLatencyMs.After < 0.7 * result.MeanWebLatencyMs.Before);
        Assert.Equal(3, result.Impossible.Count); // the search service nobody offers, reported per web VM of the last application
        Assert.All(result.Moves, m => Assert.Equal("dependency-repair", m.Stage));
    }

    [Fact]
    public void The_learner_converges_to_the_hidden_latency_sensitivities()
    {
        var setup = EcosystemScenario.Create();
        var result = EcosystemExperiment.Run(setup);
        foreach (var type in new[] { "database", "caching" })
        {
            var learned = Assert.Single(result.LearnedWeights, w => w.DependencyType == type);
            double truth = setup.Truth.CallsPerRequest[type];
            Assert.InRange(learned.LatencySensitivity, 0.8 * truth, 1.2 * truth);
        }

        var weights = result.LearnedWeights.ToDictionary(w => w.DependencyType);
        Assert.True(weights["caching"].Multiplier > weights["database"].Multiplier);
        Assert.True(weights["analytics"].Multiplier < 0.25 * weights["database"].Multiplier);
        Assert.Equal(1, weights["search"].Multiplier); // never observed: keeps its configured weight
        Assert.Contains(result.Patterns, p => p.Pattern == "move-to-dependency:web" && p.MeanLatencyGain > 0.2);
    }

    [Fact]
    public void Without_learning_the_configured_weights_stay_and_the_run_still_converges()
    {
        var result = EcosystemExperiment.Run(EcosystemScenario.Create(), new EcosystemExperimentOptions { Learn = false, MigrationFailureProbability = 0 });
        Assert.Empty(result.LearnedWeights);
        Assert.Equal(0, result.MigrationsFailed);
        Assert.True(result.Final.OfOptimum >= 0.95);
    }
}
