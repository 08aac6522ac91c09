using VmEcosystem.Tuning;

namespace VmEcosystem.Runtime.Tuning;

/// <summary>The <see cref="SimulatedApplication"/> as a service evaluator: the configuration's settings go through its own search space.</summary>
internal sealed class SimulatedTuningEvaluator : ITuningEvaluator
{
    private readonly SearchSpace _space = SearchSpaceJson.Parse(SimulatedApplication.SearchSpaceJson);
    private readonly SimulatedApplication _application = new();

    public ValueTask<IReadOnlyDictionary<string, double>> EvaluateAsync(TuningCandidate candidate, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(candidate);
        return ValueTask.FromResult<IReadOnlyDictionary<string, double>>(SimulatedApplication.Metrics(_application.Measure(_space.Values(candidate.Settings))));
    }
}
