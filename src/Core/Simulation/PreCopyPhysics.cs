using VmEcosystem.Cluster;
using VmEcosystem.Forecasting;
using VmEcosystem.Reservations;

namespace VmEcosystem.Simulation;

/// <summary>
/// The simulator's live migrations under the pre-copy model (<see cref="SimulationModel.PreCopy"/>): each VM dirties
/// memory at its scenario's rate where known, else at the rate its workload class, CPU and memory give
/// (<see cref="DirtyRateEstimator"/>); a move gets the migration share of the slower of its two links, split evenly
/// with the moves already using either link when it starts (a move that does not get its bandwidth takes longer and
/// its downtime grows, as in the model). The rate a move gets at its start holds until its bandwidth cap is changed
/// (<see cref="Retune"/>), which re-estimates the rest of the move as a pre-copy of the memory not yet sent at the new
/// rate (an approximation: pages dirtied before the change are not carried over).
/// </summary>
internal sealed class PreCopyPhysics
{
    private readonly PreCopyMigrationModel _model;
    private readonly DirtyRateEstimator _dirty;
    private readonly double _bandwidthShare;
    private readonly int[] _outgoing;
    private readonly int[] _incoming;
    private readonly PreCopyModelOptions _options;
    private readonly Dictionary<(int Vm, int Target), Move> _moves = [];
    private double _secondsSum;
    private double _downtimeSum;
    private int _started;
    private int _unconverged;

    public PreCopyPhysics(PreCopyModelOptions options, DirtyRateEstimateOptions dirtyRates, double bandwidthShare, int hosts)
    {
        _options = options;
        _model = new PreCopyMigrationModel(options);
        _dirty = new DirtyRateEstimator(dirtyRates);
        _bandwidthShare = bandwidthShare;
        _outgoing = new int[hosts];
        _incoming = new int[hosts];
    }

    /// <summary>Moves modelled so far.</summary>
    public int Moves => _started;

    /// <summary>Mean duration of the modelled moves, seconds (0 before any).</summary>
    public double MeanSeconds => _started == 0 ? 0 : _secondsSum / _started;

    /// <summary>Mean downtime of the modelled moves, seconds (0 before any).</summary>
    public double MeanDowntimeSeconds => _started == 0 ? 0 : _downtimeSum / _started;

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
    /// <param name="vm">VM index.</param>
    /// <param name="source">Source host index.</param>
    /// <param name="target">Target host index.</param>
    /// <param name="now">Simulated time of the start.</param>
    /// <param name="memoryMiB">Memory to copy.</param>
    /// <param name="dirtyMiBps">The VM's dirty rate.</param>
    /// <param name="linkMiBps">The migration share of the slower link, before sharing.</param>
    /// <param name="cap">Bandwidth cap and target downtime the caller asked for (null: none).</param>
    /// <param name="storage">Local storage the move copies (none: shared storage).</param>
    /// <returns>The move's duration, seconds, and the rate it copies at, MiB/s.</returns>
    public (double Seconds, double CopyMiBps) Start(int vm, int source, int target, double now, double memoryMiB, double dirtyMiBps, double linkMiBps, (double? CapMiBps, TimeSpan? Downtime) cap, StorageCopy storage = default)
    {
        int sharing = 1 + Math.Max(_outgoing[source], _incoming[target]);
        double fair = Math.Max(1e-6, linkMiBps / sharing);
        var model = cap.Downtime is { } downtime ? new PreCopyMigrationModel(_options with { TargetDowntime = downtime }) : _model;
        double rate = Math.Min(fair, cap.CapMiBps ?? double.PositiveInfinity);
        var estimate = model.EstimateWithStorage(memoryMiB, dirtyMiBps, rate, storage);
        _outgoing[source]++;
        _incoming[target]++;
        _moves[(vm, target)] = new Move(source, now, now, memoryMiB, dirtyMiBps, fair, model, estimate) { Storage = storage };
        Record(estimate, estimate.TotalSeconds, 1);
        return (estimate.TotalSeconds, rate);
    }

    /// <summary>CPU the source and destination spend on a copy at <paramref name="copyMiBps"/>, MHz.</summary>
    public (double SourceMhz, double DestinationMhz) CpuOverhead(double copyMiBps) => _options.CpuOverhead(copyMiBps);

    /// <summary>
    /// Applies a new bandwidth cap to a running move at <paramref name="now"/>: the memory not yet sent (by the
    /// share of the move's time elapsed) is re-estimated at the capped rate. Returns the seconds left from now and the new copy rate.
    /// </summary>
    public (double Seconds, double CopyMiBps) Retune(int vm, int target, double now, double capMiBps)
    {
        if (!_moves.TryGetValue((vm, target), out var m))
        {
            throw new InvalidOperationException("No move of this VM to this host runs under the pre-copy model.");
        }

        // What is left: of the disk while its rounds run (the memory untouched), else of the memory (the disk done).
        double elapsed = now - m.Since, disk = m.Storage.DiskMiB, left = m.MemoryMiB;
        if (elapsed < m.Estimate.StorageSeconds)
        {
            disk *= 1 - (elapsed / m.Estimate.StorageSeconds);
        }
        else
        {
            double memorySeconds = Math.Max(1e-9, m.Estimate.TotalSeconds - m.Estimate.StorageSeconds);
            left *= 1 - Math.Clamp((elapsed - m.Estimate.StorageSeconds) / memorySeconds, 0, 1);
            disk = 0;
        }

        double rate = Math.Min(m.FairMiBps, capMiBps);
        var storage = m.Storage with { DiskMiB = disk };
        var estimate = m.Model.EstimateWithStorage(left, m.DirtyMiBps, rate, storage);
        double recorded = (m.Since - m.Origin) + m.Estimate.TotalSeconds;
        _secondsSum -= recorded;
        _downtimeSum -= m.Estimate.DowntimeSeconds;
        _unconverged -= m.Estimate.Converged ? 0 : 1;
        _moves[(vm, target)] = m with { Since = now, MemoryMiB = left, Estimate = estimate, Storage = storage };
        Record(estimate, (now - m.Origin) + estimate.TotalSeconds, 0);
        return (estimate.TotalSeconds, rate);
    }

    private void Record(PreCopyEstimate estimate, double totalSeconds, int newMoves)
    {
        _started += newMoves;
        _secondsSum += totalSeconds;
        _downtimeSum += estimate.DowntimeSeconds;
        _unconverged += estimate.Converged ? 0 : 1;
    }

    /// <summary>
    /// Disk operations per second the move's destination performs at <paramref name="now"/> for a copy at
    /// <paramref name="copyMiBps"/>: the storage copy's writes while the disk goes, then the mirrored guest writes and
    /// the memory copy's own (0 for a move not started here).
    /// </summary>
    public double DestinationDiskIops(int vm, int target, double now, double copyMiBps)
    {
        if (!_moves.TryGetValue((vm, target), out var m))
        {
            return 0;
        }

        return now - m.Since < m.Estimate.StorageSeconds
            ? _options.DestinationDiskIops(0, copyMiBps)
            : _options.DestinationDiskIops(copyMiBps - m.Estimate.MirrorMiBps, m.Estimate.MirrorMiBps);
    }

    /// <summary>Frees the links of a move that completed or was cancelled (no-op for a move not started here).</summary>
    public void Ended(int vm, int target)
    {
        if (_moves.Remove((vm, target), out var move))
        {
            _outgoing[move.Source]--;
            _incoming[target]--;
        }
    }

    /// <summary>A running move: where from, since when under its current estimate, what is left to copy.</summary>
    private sealed record Move(int Source, double Origin, double Since, double MemoryMiB, double DirtyMiBps, double FairMiBps, PreCopyMigrationModel Model, PreCopyEstimate Estimate)
    {
        public StorageCopy Storage { get; init; }
    }
}
