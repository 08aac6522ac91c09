namespace VmEcosystem.Simulation;

/// <summary>
/// A VM's demand over time: equally spaced samples of CPU use (and optionally memory, network and disk use), each
/// a fraction 0..1 of the VM's allocation. Between samples the value is linearly interpolated with exactly
/// CloudSim's arithmetic (<c>UtilizationModelPlanetLabInMemory</c>); past the last sample it holds the last value.
/// </summary>
public sealed class DemandTrace
{
    private readonly double[] _cpu;
    private readonly double[]? _memory;
    private readonly double[]? _network;
    private readonly double[]? _disk;

    /// <summary>Creates a trace.</summary>
    /// <param name="name">Name (the trace file name for PlanetLab).</param>
    /// <param name="cpu">CPU use per interval, fractions 0..1.</param>
    /// <param name="intervalSeconds">Seconds between samples.</param>
    /// <param name="memory">Memory use per interval as a fraction of the allocation (null: <see cref="DefaultMemoryShare"/>).</param>
    /// <param name="network">Network use per interval as a fraction of the allocation (null: none).</param>
    /// <param name="disk">Disk IOPS per interval as a fraction of the allocation (null: none).</param>
    public DemandTrace(
        string name,
        double[] cpu,
        double intervalSeconds,
        double[]? memory = null,
        double[]? network = null,
        double[]? disk = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(cpu);
        if (cpu.Length == 0)
        {
            throw new ArgumentException($"Trace '{name}' has no samples.", nameof(cpu));
        }

        if (!(intervalSeconds > 0) || !double.IsFinite(intervalSeconds))
        {
            throw new ArgumentOutOfRangeException(nameof(intervalSeconds), intervalSeconds, "The sample interval must be positive.");
        }

        Check(name, "cpu", cpu, cpu.Length);
        Check(name, "memory", memory, cpu.Length);
        Check(name, "network", network, cpu.Length);
        Check(name, "disk", disk, cpu.Length);
        Name = name;
        IntervalSeconds = intervalSeconds;
        _cpu = cpu;
        _memory = memory;
        _network = network;
        _disk = disk;
    }

    /// <summary>Trace name.</summary>
    public string Name { get; }

    /// <summary>Seconds between samples.</summary>
    public double IntervalSeconds { get; }

    /// <summary>Number of samples.</summary>
    public int Length => _cpu.Length;

    /// <summary>The CPU samples.</summary>
    public ReadOnlySpan<double> Cpu => _cpu;

    /// <summary>Memory share reported when no memory series exists.</summary>
    public double DefaultMemoryShare
    {
        get;
        init => field = value is >= 0 and <= 1 ? value : throw new ArgumentOutOfRangeException(nameof(DefaultMemoryShare), value, "Must be within 0..1.");
    } = 1.0;

    /// <summary>True when the trace has a memory series.</summary>
    public bool HasMemory => _memory is not null;

    /// <summary>CPU use at <paramref name="time"/> seconds (fraction of the allocation).</summary>
    public double CpuAt(double time) => Interpolate(_cpu, time);

    /// <summary>Memory use at <paramref name="time"/> (fraction of the allocation).</summary>
    public double MemoryAt(double time) => _memory is null ? DefaultMemoryShare : Interpolate(_memory, time);

    /// <summary>Network use at <paramref name="time"/> (fraction of the allocation).</summary>
    public double NetworkAt(double time) => _network is null ? 0 : Interpolate(_network, time);

    /// <summary>Disk use at <paramref name="time"/> (fraction of the allocation).</summary>
    public double DiskAt(double time) => _disk is null ? 0 : Interpolate(_disk, time);

    private double Interpolate(double[] data, double time)
    {
        if (time <= 0)
        {
            return data[0];
        }

        double interval = IntervalSeconds;
        int last = data.Length - 1;

        // CloudSim's arithmetic, step for step: exact sample at a multiple of the interval, otherwise
        // u1 + (u2 - u1) / ((i2 - i1) * interval) * (t - i1 * interval). Index data.Length repeats the last
        // sample, as CloudSim's data[288] = data[287].
        if (time % interval == 0)
        {
            long index = (long)time / (long)interval;
            return data[index > last ? last : (int)index];
        }

        double position = time / interval;
        if (position >= last + 1)
        {
            return data[last];
        }

        int i1 = (int)Math.Floor(position);
        int i2 = (int)Math.Ceiling(position);
        double u1 = data[i1 > last ? last : i1];
        double u2 = data[i2 > last ? last : i2];
        double delta = (u2 - u1) / ((i2 - i1) * interval);
        return u1 + (delta * (time - (i1 * interval)));
    }

    private static void Check(string name, string series, double[]? values, int length)
    {
        if (values is null)
        {
            return;
        }

        if (values.Length != length)
        {
            throw new ArgumentException($"Trace '{name}': the {series} series has {values.Length} samples, the CPU series {length}.");
        }

        for (int i = 0; i < values.Length; i++)
        {
            if (!(values[i] >= 0 && values[i] <= 1))
            {
                throw new ArgumentException($"Trace '{name}': {series} sample {i} is {values[i]}; samples are fractions within 0..1.");
            }
        }
    }
}
