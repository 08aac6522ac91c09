namespace VmEcosystem.Tuning;

/// <summary>
/// Measures a configuration: applies it (to a test VM, a host, a worker) and runs a benchmark, or evaluates a model.
/// Applications implement it; the library has a simulated one and a benchmark-command one.
/// </summary>
internal interface IConfigurationEvaluator
{
    /// <summary>Measures the configuration whose gene values are <paramref name="values"/> (in the space's gene order).</summary>
    ValueTask<IReadOnlyDictionary<string, double>> EvaluateAsync(SearchSpace space, double[] values, CancellationToken cancellationToken);
}

/// <summary>The <see cref="SimulatedApplication"/> as an evaluator.</summary>
internal sealed class SimulatedEvaluator(SimulatedApplication application) : IConfigurationEvaluator
{
    public ValueTask<IReadOnlyDictionary<string, double>> EvaluateAsync(SearchSpace space, double[] values, CancellationToken cancellationToken) =>
        ValueTask.FromResult<IReadOnlyDictionary<string, double>>(SimulatedApplication.Metrics(application.Measure(values)));
}

/// <summary>One evaluation of a tuning run: the configuration, what was measured, and its score with the parts.</summary>
/// <param name="Index">Its position in the run (1 is the first evaluation after the baseline).</param>
/// <param name="Values">The gene values.</param>
/// <param name="Metrics">What the evaluator measured (empty when it failed).</param>
/// <param name="Fitness">The score and its parts.</param>
/// <param name="Error">Why the evaluation failed after its retries, or null.</param>
internal sealed record TuningEvaluation(long Index, double[] Values, IReadOnlyDictionary<string, double> Metrics, FitnessScore Fitness, string? Error = null);

/// <summary>Settings of a tuning run around the engine's own.</summary>
internal sealed record TuningOptions
{
    /// <summary>The engine's settings (population, generations, guided mutation, slots, ...).</summary>
    public GeneticOptions Genetic { get; init; } = new() { PopulationSize = 24, Generations = 50, GuidedCandidates = 16 };

    /// <summary>How long one evaluation may take before it is abandoned (and retried).</summary>
    public TimeSpan EvaluationTimeout { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>Attempts after a failed or timed-out evaluation.</summary>
    public int Retries { get; init; } = 1;

    /// <summary>Called after every generation with the run's state, to persist it (<see cref="TuningCheckpoint.ToJson"/>).</summary>
    public Action<TuningCheckpoint>? AfterGeneration { get; init; }
}

/// <summary>A tuning run between two generations: the engine's state, the baseline and every evaluation so far. JSON resumes it.</summary>
/// <param name="Engine">The engine's population, counters and random stream.</param>
/// <param name="Baseline">The baseline's evaluation (not measured again on resume).</param>
/// <param name="Evaluations">Every evaluation so far.</param>
internal sealed record TuningCheckpoint(GeneticCheckpoint Engine, TuningEvaluation Baseline, IReadOnlyList<TuningEvaluation> Evaluations)
{
    private static readonly System.Text.Json.JsonSerializerOptions Json = new()
    {
        NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    public string ToJson() => System.Text.Json.JsonSerializer.Serialize(this, Json);

    /// <exception cref="FormatException">Not a tuning checkpoint.</exception>
    public static TuningCheckpoint FromJson(string json)
    {
        try
        {
            var c = System.Text.Json.JsonSerializer.Deserialize<TuningCheckpoint>(json, Json);
            return c is { Engine: not null, Baseline: not null, Evaluations: not null }
                ? c with { Engine = GeneticCheckpoint.FromJson(c.Engine.ToJson()) }
                : throw new FormatException("The tuning checkpoint lacks its engine state, baseline or evaluations.");
        }
        catch (System.Text.Json.JsonException ex)
        {
            throw new FormatException($"Not a tuning checkpoint: {ex.Message}", ex);
        }
    }
}

/// <summary>What a tuning run found.</summary>
/// <param name="Baseline">The baseline configuration's evaluation (score 1 by construction).</param>
/// <param name="Best">The best evaluation.</param>
/// <param name="Evaluations">Every evaluation, in order.</param>
/// <param name="Engine">The engine's result.</param>
internal sealed record TuningResult(TuningEvaluation Baseline, TuningEvaluation Best, IReadOnlyList<TuningEvaluation> Evaluations, GeneticResult Engine);

/// <summary>
/// Tunes a configuration: the genetic engine evolves encoded genomes over a <see cref="SearchSpace"/>, each decoded
/// configuration is measured by the evaluator (in up to <see cref="GeneticOptions.Slots"/> at once, with a timeout and
/// retries) and scored by <see cref="WeightedFitness"/> against the baseline. A configuration that breaks a constraint
/// is never evaluated: it scores the penalty. Every evaluation is kept with its score's parts.
/// </summary>
internal sealed class ConfigurationTuner(SearchSpace space, IReadOnlyList<TuningGoal> goals, IConfigurationEvaluator evaluator, TuningOptions options)
{
    private readonly Lock _gate = new();

    /// <summary>
    /// Runs the baseline, then the engine, deterministically for <paramref name="seed"/> when the evaluator is; or goes on
    /// from <paramref name="resume"/> (the baseline is not measured again, the history is kept).
    /// </summary>
    public TuningResult Run(double[] baseline, Random seed, CancellationToken cancellationToken = default, TuningCheckpoint? resume = null)
    {
        ArgumentNullException.ThrowIfNull(baseline);
        if (baseline.Length != space.Genes.Count)
        {
            throw new ArgumentException($"The baseline has {baseline.Length} values for {space.Genes.Count} genes.", nameof(baseline));
        }

        if (space.Violation(baseline) > 0)
        {
            throw new ArgumentException($"The baseline ({space.Describe(baseline)}) breaks a constraint.", nameof(baseline));
        }

        var (baseMetrics, baseError) = resume is null ? Measure(baseline, cancellationToken) : (resume.Baseline.Metrics, null);
        if (baseError is not null)
        {
            throw new InvalidOperationException($"The baseline configuration could not be measured: {baseError}");
        }

        var fitness = new WeightedFitness(goals, baseMetrics);
        var baseEvaluation = resume?.Baseline ?? new TuningEvaluation(0, baseline, baseMetrics, fitness.Score(baseMetrics));
        var evaluations = new List<TuningEvaluation>(resume?.Evaluations ?? []);
        var genetic = options.AfterGeneration is { } after
            ? options.Genetic with { AfterGeneration = engineState => after(new TuningCheckpoint(engineState, baseEvaluation, Snapshot(evaluations))) }
            : options.Genetic;
        var engine = new GeneticAlgorithm(genetic, space.EncodedMin, space.EncodedMax);
        var result = engine.Run(encoded =>
        {
            var values = new double[encoded.Length];
            space.Decode(encoded, values);
            double violation = space.Violation(values);
            if (violation > 0)
            {
                return fitness.PenaltyWeight * (1 + violation) + 1;
            }

            var (metrics, error) = Measure(values, cancellationToken);
            var score = fitness.Score(metrics);
            lock (_gate)
            {
                evaluations.Add(new TuningEvaluation(evaluations.Count + 1, values, metrics, score, error));
            }

            return score.Score;
        }, seed, cancellationToken, resume?.Engine);
        var best = evaluations.Count == 0 ? baseEvaluation : evaluations.MinBy(e => e.Fitness.Score)!;
        return new TuningResult(baseEvaluation, best.Fitness.Score < baseEvaluation.Fitness.Score ? best : baseEvaluation, evaluations, result);
    }

    private List<TuningEvaluation> Snapshot(List<TuningEvaluation> evaluations)
    {
        lock (_gate)
        {
            return [.. evaluations];
        }
    }

    // The evaluator with a timeout and retries; the engine's slots call this concurrently.
    private (IReadOnlyDictionary<string, double> Metrics, string? Error) Measure(double[] values, CancellationToken cancellationToken)
    {
        string? error = null;
        for (int attempt = 0; attempt <= options.Retries; attempt++)
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(options.EvaluationTimeout);
            try
            {
                var pending = evaluator.EvaluateAsync(space, values, timeout.Token);
                // Evaluations run on the engine's slot threads; a slot waits for its own evaluation.
                return (pending.IsCompletedSuccessfully ? pending.Result : pending.AsTask().GetAwaiter().GetResult(), null);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                error = $"timed out after {options.EvaluationTimeout}";
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                error = ex.Message;
            }
        }

        return (new Dictionary<string, double>(), error);
    }
}
