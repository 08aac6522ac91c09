using VmEcosystem.Cluster;
using VmEcosystem.Ecosystem.Declarations;

namespace VmEcosystem.Ecosystem.Learning;

/// <summary>Settings of the outcome learner.</summary>
public sealed record OutcomeLearnerOptions
{
    /// <summary>Observations of a VM type before its learned dependency weights replace the configured ones.</summary>
    public int MinObservations { get; init; } = 5;

    /// <summary>Step size of the normalised least-mean-squares update (0..1).</summary>
    public double LearningRate { get; init; } = 0.5;

    /// <summary>Smoothing of the migration-duration factor and failure rates (weight of the newest observation).</summary>
    public double Smoothing { get; init; } = 0.2;

    /// <summary>Bounds of a learned weight multiplier.</summary>
    public (double Min, double Max) MultiplierRange { get; init; } = (0.05, 20);

    /// <summary>Observations of a pattern before a consistently useless one is skipped.</summary>
    public int PatternMinObservations { get; init; } = 4;
}

/// <summary>A learned dependency weight: how many milliseconds of application latency one millisecond of network latency to the dependency costs.</summary>
/// <param name="OwnerType">Type of the dependent VMs.</param>
/// <param name="DependencyType">Type of the dependency.</param>
/// <param name="LatencySensitivity">Estimated ms of application latency per ms of network latency (about the calls per request).</param>
/// <param name="Observations">Observations that informed it.</param>
/// <param name="Multiplier">The weight multiplier it gives (1 until enough observations).</param>
public sealed record LearnedDependencyWeight(string? OwnerType, string DependencyType, double LatencySensitivity, int Observations, double Multiplier);

/// <summary>What a kind of move achieved so far.</summary>
/// <param name="Pattern">Rule and VM type, such as <c>move-to-dependency:web</c>.</param>
/// <param name="Successes">Migrations that completed.</param>
/// <param name="Failures">Migrations that failed.</param>
/// <param name="MeanLatencyGain">Mean relative latency improvement of the affected VMs (0.2 = 20 % faster).</param>
public sealed record MovePattern(string Pattern, int Successes, int Failures, double MeanLatencyGain);

/// <summary>
/// The self-optimisation loop's learner, simple and explainable. From every migration outcome it refines
/// (1) per dependent type and dependency type, how sensitive application latency is to network latency, by
/// normalised least mean squares on (change of application latency) ≈ Σ sensitivity × (change of network
/// latency); the dependency weights of the satisfaction score become those sensitivities relative to the type's
/// mean; (2) per VM type, the ratio of observed to predicted migration time; (3) per target host, a decayed
/// failure rate; (4) per move pattern, successes, failures and mean gain, so patterns that keep failing or
/// gaining nothing are skipped. Thread-safe.
/// </summary>
public sealed class MigrationOutcomeLearner : IDependencyWeighting
{
    private readonly Lock _gate = new();
    private readonly OutcomeLearnerOptions _options;
    private readonly Dictionary<string, TypeModel> _models = new(StringComparer.OrdinalIgnoreCase);
    private readonly Dictionary<string, double> _durationFactor = new(StringComparer.OrdinalIgnoreCase);
    private readonly Dictionary<HostId, double> _failureRate = [];
    private readonly Dictionary<string, PatternStats> _patterns = new(StringComparer.Ordinal);

    /// <summary>Creates a learner.</summary>
    public MigrationOutcomeLearner(OutcomeLearnerOptions? options = null)
    {
        _options = options ?? new OutcomeLearnerOptions();
    }

    /// <summary>Outcomes recorded.</summary>
    public int Observations { get; private set; }

    /// <summary>Raised after an outcome changed the learned weights (the graph re-weighs on it).</summary>
    public event Action? WeightsChanged;

    /// <summary>Learns from one migration.</summary>
    public void Record(MigrationOutcome outcome)
    {
        ArgumentNullException.ThrowIfNull(outcome);
        bool weightsChanged = false;
        lock (_gate)
        {
            Observations++;
            string pattern = $"{outcome.Rule}:{outcome.VmType ?? "?"}";
            if (!_patterns.TryGetValue(pattern, out var stats))
            {
                _patterns[pattern] = stats = new PatternStats();
            }

            double s = _options.Smoothing;
            if (!outcome.Succeeded)
            {
                stats.Failures++;
                _failureRate[outcome.Target] = ((1 - s) * _failureRate.GetValueOrDefault(outcome.Target)) + s;
                return;
            }

            stats.Successes++;
            _failureRate[outcome.Target] = (1 - s) * _failureRate.GetValueOrDefault(outcome.Target);
            if (outcome.PredictedSeconds > 0 && outcome.ActualSeconds > 0)
            {
                string type = outcome.VmType ?? string.Empty;
                double ratio = outcome.ActualSeconds / outcome.PredictedSeconds;
                _durationFactor[type] = _durationFactor.TryGetValue(type, out double f) ? ((1 - s) * f) + (s * ratio) : ratio;
            }

            double gainSum = 0;
            int gainCount = 0;
            foreach (var change in outcome.Changes)
            {
                if (change.Before.LatencyMs is { } before && change.After.LatencyMs is { } after && before > 0)
                {
                    gainSum += (before - after) / before;
                    gainCount++;
                    weightsChanged |= Learn(change, after - before);
                }
            }

            if (gainCount > 0)
            {
                stats.GainSum += gainSum / gainCount;
                stats.GainCount++;
            }
        }

        if (weightsChanged)
        {
            WeightsChanged?.Invoke();
        }
    }

    /// <inheritdoc />
    public double Multiplier(string? ownerType, string dependencyType, DependencyKind kind)
    {
        lock (_gate)
        {
            if (!_models.TryGetValue(ownerType ?? string.Empty, out var model) || model.Observations < _options.MinObservations)
            {
                return 1;
            }

            // Only dependency types whose network latency actually changed in enough outcomes have been measured;
            // the others (never moved, or impossible) keep their configured weight.
            var measured = model.Sensitivity.Where(kv => model.Seen.GetValueOrDefault(kv.Key) >= _options.PatternMinObservations).ToList();
            double mean = measured.Select(kv => Math.Max(0, kv.Value)).DefaultIfEmpty(0).Average();
            if (!(mean > 0) || model.Seen.GetValueOrDefault(dependencyType) < _options.PatternMinObservations
                || !model.Sensitivity.TryGetValue(dependencyType, out double k))
            {
                return 1;
            }

            return Math.Clamp(Math.Max(0, k) / mean, _options.MultiplierRange.Min, _options.MultiplierRange.Max);
        }
    }

    /// <summary>
    /// False for a kind of repair that past outcomes show is not worth a migration: the dependency's learned
    /// sensitivity is about zero, after enough observations.
    /// </summary>
    public bool IsWorthwhile(string? ownerType, DependencySpec spec, DependencyKind kind)
    {
        ArgumentNullException.ThrowIfNull(spec);
        if (kind == DependencyKind.Required)
        {
            return true;
        }

        lock (_gate)
        {
            return !_models.TryGetValue(ownerType ?? string.Empty, out var model) || model.Observations < _options.MinObservations
                || !model.Sensitivity.TryGetValue(spec.Type, out double k) || !model.Seen.TryGetValue(spec.Type, out int seen)
                || seen < _options.PatternMinObservations || k > 0.5;
        }
    }

    /// <summary>False for a move pattern that keeps failing or gaining nothing.</summary>
    public bool IsPatternWorthwhile(string rule, string? vmType)
    {
        lock (_gate)
        {
            if (!_patterns.TryGetValue($"{rule}:{vmType ?? "?"}", out var p) || p.Successes + p.Failures < _options.PatternMinObservations)
            {
                return true;
            }

            bool failing = p.Failures > 2 * p.Successes;
            bool useless = p.GainCount >= _options.PatternMinObservations && p.GainSum / p.GainCount <= 0;
            return !failing && !useless;
        }
    }

    /// <summary>Observed over predicted migration time for a VM type (1 when unknown).</summary>
    public double MigrationTimeFactor(string? vmType)
    {
        lock (_gate)
        {
            return _durationFactor.TryGetValue(vmType ?? string.Empty, out double f) ? f : 1;
        }
    }

    /// <summary>Decayed share of recent migrations to the host that failed (0 when unknown).</summary>
    public double FailureRate(HostId host)
    {
        lock (_gate)
        {
            return _failureRate.GetValueOrDefault(host);
        }
    }

    /// <summary>The learned dependency weights, for explanations.</summary>
    public IReadOnlyList<LearnedDependencyWeight> DependencyWeights()
    {
        var result = new List<LearnedDependencyWeight>();
        List<(string Owner, string Dep, double K, int N)> rows;
        lock (_gate)
        {
            rows = _models.SelectMany(m => m.Value.Sensitivity.Select(k => (m.Key, k.Key, k.Value, m.Value.Observations))).ToList();
        }

        foreach (var (owner, dep, k, n) in rows.OrderBy(r => r.Owner, StringComparer.Ordinal).ThenBy(r => r.Dep, StringComparer.Ordinal))
        {
            string? ownerType = owner.Length == 0 ? null : owner;
            result.Add(new LearnedDependencyWeight(ownerType, dep, k, n, Multiplier(ownerType, dep, DependencyKind.Preferred)));
        }

        return result;
    }

    /// <summary>Every move pattern seen, for explanations.</summary>
    public IReadOnlyList<MovePattern> Patterns()
    {
        lock (_gate)
        {
            return _patterns.OrderBy(p => p.Key, StringComparer.Ordinal)
                .Select(p => new MovePattern(p.Key, p.Value.Successes, p.Value.Failures, p.Value.GainCount > 0 ? p.Value.GainSum / p.Value.GainCount : 0))
                .ToList();
        }
    }

    private bool Learn(PerformanceChange change, double latencyDeltaMs)
    {
        if (change.Dependencies.Count == 0 || !double.IsFinite(latencyDeltaMs))
        {
            return false;
        }

        string key = change.VmType ?? string.Empty;
        if (!_models.TryGetValue(key, out var model))
        {
            _models[key] = model = new TypeModel();
        }

        double predicted = 0, norm = 0;
        foreach (var d in change.Dependencies)
        {
            double x = d.AfterMs - d.BeforeMs;
            predicted += model.Sensitivity.GetValueOrDefault(d.DependencyType) * x;
            norm += x * x;
        }

        // Only changes of network latency carry information about sensitivities.
        if (norm < 1e-9)
        {
            return false;
        }

        double error = latencyDeltaMs - predicted;
        foreach (var d in change.Dependencies)
        {
            double x = d.AfterMs - d.BeforeMs;
            double k = model.Sensitivity.GetValueOrDefault(d.DependencyType);
            model.Sensitivity[d.DependencyType] = k + (_options.LearningRate * error * x / norm);
            if (Math.Abs(x) > 1e-9)
            {
                model.Seen[d.DependencyType] = model.Seen.GetValueOrDefault(d.DependencyType) + 1;
            }
        }

        model.Observations++;
        return model.Observations >= _options.MinObservations;
    }

    private sealed class TypeModel
    {
        public Dictionary<string, double> Sensitivity { get; } = new(StringComparer.OrdinalIgnoreCase);

        public Dictionary<string, int> Seen { get; } = new(StringComparer.OrdinalIgnoreCase);

        public int Observations { get; set; }
    }

    private sealed class PatternStats
    {
        public int Successes { get; set; }

        public int Failures { get; set; }

        public double GainSum { get; set; }

        public int GainCount { get; set; }
    }
}
