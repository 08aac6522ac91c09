using VmEcosystem.Cluster;
using VmEcosystem.Forecasting;
using VmEcosystem.Reservations;

namespace VmEcosystem.Simulation;

/// <summary>
/// The simulator's live migrations under the pre-copy model (<see cref="SimulationModel.PreCopy"/>): each VM dirties
/// memory at its scenario's rate where known, else at the rate its workload class, CPU and memory give
/// (<see cref="DirtyRateEstimator"/>); a move gets the migration share of the slower of its two links, split evenly
/// with the moves already using either link when it starts (a move that does not get its bandwidth takes longer and
/// its downtime grows, as in the model). The rate a move gets at its start holds to its end.
/// </summary>
internal sealed class PreCopyPhysics
{
    private readonly PreCopyMigrationModel _model;
    private readonly DirtyRateEstimator _dirty;
    private readonly double _bandwidthShare;
    private readonly int[] _outgoing;
    private readonly int[] _incoming;
    private readonly Dictionary<(int Vm, int Target), int> _sourceOf = [];
    private double _secondsSum;
    private double _downtimeSum;
    private int _moves;
    private int _unconverged;

    public PreCopyPhysics(PreCopyModelOptions options, DirtyRateEstimateOptions dirtyRates, double bandwidthShare, int hosts)
    {
        _model = new PreCopyMigrationModel(options);
        _dirty = new DirtyRateEstimator(dirtyRates);
        _bandwidthShare = bandwidthShare;
        _outgoing = new int[hosts];
        _incoming = new int[hosts];
    }

    /// <summary>Moves modelled so far.</summary>
    public int Moves => _moves;

    /// <summary>Mean duration of the modelled moves, seconds (0 before any).</summary>
    public double MeanSeconds => _moves == 0 ? 0 : _secondsSum / _moves;

    /// <summary>Mean downtime of the modelled moves, seconds (0 before any).</summary>
    public double MeanDowntimeSeconds => _moves == 0 ? 0 : _downtimeSum / _moves;

    /// <summary>Moves whose pre-copy did not converge (stopped without progress or at the round limit).</summary>
    public int Unconverged => _unconverged;

    /// <summary>The VM's dirty rate now, MiB/s: the scenario's where it gives one, else the estimate for its class.</summary>
    /// <param name="vm">The VM's id (handed to the classifier).</param>
    /// <param name="known">The scenario's rate, if any.</param>
    /// <param name="utilization">CPU utilisation now, share of the allocation.</param>
    /// <param name="memoryMiB">Memory of the VM.</param>
    /// <param name="recentUtilization">Recent utilisation history (any order).</param>
    public double DirtyRate(VmId vm, double? known, double utilization, double memoryMiB, ReadOnlySpan<double> recentUtilization) =>
        known ?? _dirty.Estimate(_dirty.Classify(vm, recentUtilization), utilization, memoryMiB);

    /// <summary>Starts a move: its duration in seconds under the model, and both links counted busy until <see cref="Ended"/>.</summary>
    public double Start(int vm, int source, int target, double memoryMiB, double dirtyMiBps, double sourceMbps, double targetMbps)
    {
        double link = Math.Min(sourceMbps, targetMbps) * _bandwidthShare / 8;
        int sharing = 1 + Math.Max(_outgoing[source], _incoming[target]);
        var estimate = _model.Estimate(memoryMiB, dirtyMiBps, Math.Max(1e-6, link / sharing));
        _outgoing[source]++;
        _incoming[target]++;
        _sourceOf[(vm, target)] = source;
        _moves++;
        _secondsSum += estimate.TotalSeconds;
        _downtimeSum += estimate.DowntimeSeconds;
        _unconverged += estimate.Converged ? 0 : 1;
        return estimate.TotalSeconds;
    }

    /// <summary>Frees the links of a move that completed or was cancelled (no-op for a move not started here).</summary>
    public void Ended(int vm, int target)
    {
        if (_sourceOf.Remove((vm, target), out int source))
        {
            _outgoing[source]--;
            _incoming[target]--;
        }
    }
}
