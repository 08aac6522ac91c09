namespace VmEcosystem.Simulation;

/// <summary>Kinds of synthetic workload, each with its own daily shape, noise and bursts.</summary>
public enum SyntheticWorkloadClass
{
    /// <summary>Interactive service: strong day/night cycle, moderate noise.</summary>
    Web = 0,

    /// <summary>Batch jobs: low base, frequent large bursts.</summary>
    Batch = 1,

    /// <summary>Database: steady CPU, high memory, mild cycle.</summary>
    Database = 2,

    /// <summary>Cache: low CPU, high memory, network heavy.</summary>
    Cache = 3,

    /// <summary>Mostly idle.</summary>
    Idle = 4,
}

/// <summary>Settings of <see cref="SyntheticWorkload"/>.</summary>
public sealed record SyntheticWorkloadOptions
{
    /// <summary>Number of VMs.</summary>
    public int VmCount { get; init; } = 1000;

    /// <summary>Number of samples per VM.</summary>
    public int Samples { get; init; } = PlanetLabTraces.SamplesPerDay;

    /// <summary>Seconds between samples.</summary>
    public double IntervalSeconds { get; init; } = PlanetLabTraces.IntervalSeconds;

    /// <summary>Seed; equal seeds give identical traces.</summary>
    public int Seed { get; init; } = 42;

    /// <summary>Length of the daily cycle in seconds.</summary>
    public double DaySeconds { get; init; } = 86_400;

    /// <summary>Relative weights of <see cref="SyntheticWorkloadClass.Web"/>, Batch, Database, Cache and Idle.</summary>
    public IReadOnlyList<double> ClassWeights { get; init; } = [0.35, 0.2, 0.15, 0.1, 0.2];

    /// <summary>Scales the noise of every class (1 = default).</summary>
    public double NoiseScale { get; init; } = 1.0;

    /// <summary>Scales the burst rate of every class (1 = default).</summary>
    public double BurstScale { get; init; } = 1.0;

    /// <summary>Largest absolute trend over the whole trace, as a fraction of the allocation.</summary>
    public double MaxTrend { get; init; } = 0.15;
}

/// <summary>
/// A seeded generator of VM demand traces: a daily cycle (phase-shifted per VM), AR(1) noise, Poisson bursts
/// with exponential decay, and a linear trend, per workload class. Deterministic for a given seed.
/// </summary>
public static class SyntheticWorkload
{
    /// <summary>Generates traces; <paramref name="classes"/> receives the class of each VM when not null.</summary>
    public static IReadOnlyList<DemandTrace> Generate(SyntheticWorkloadOptions options, List<SyntheticWorkloadClass>? classes = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        Validate(options);
        var random = new Random(options.Seed);
        double totalWeight = options.ClassWeights.Sum();
        var traces = new DemandTrace[options.VmCount];
        for (int v = 0; v < options.VmCount; v++)
        {
            double pick = random.NextDouble() * totalWeight;
            var cls = SyntheticWorkloadClass.Idle;
            for (int c = 0; c < options.ClassWeights.Count; c++)
            {
                pick -= options.ClassWeights[c];
                if (pick < 0)
                {
                    cls = (SyntheticWorkloadClass)c;
                    break;
                }
            }

            classes?.Add(cls);
            traces[v] = GenerateOne($"synthetic-{v:D5}-{cls.ToString().ToLowerInvariant()}", cls, options, random);
        }

        return traces;
    }

    /// <summary>Generates one trace of the given class from <paramref name="random"/>.</summary>
    public static DemandTrace GenerateOne(string name, SyntheticWorkloadClass cls, SyntheticWorkloadOptions options, Random random)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(random);
        var p = Profile(cls);
        int n = options.Samples;
        var cpu = new double[n];
        var mem = new double[n];
        var net = new double[n];
        var disk = new double[n];
        double phase = random.NextDouble() * options.DaySeconds;
        double baseLevel = p.Base * (0.6 + (0.8 * random.NextDouble()));
        double amplitude = p.Amplitude * (0.5 + random.NextDouble());
        double trend = (random.NextDouble() * 2 - 1) * options.MaxTrend;
        double sigma = p.Noise * options.NoiseScale;
        double burstRate = p.BurstRate * options.BurstScale;
        double noise = 0;
        double burst = 0;
        double memBase = p.Memory * (0.8 + (0.4 * random.NextDouble()));
        for (int i = 0; i < n; i++)
        {
            double t = i * options.IntervalSeconds;
            double cycle = Math.Sin(2 * Math.PI * (t - phase) / options.DaySeconds);
            noise = (0.7 * noise) + (sigma * Gaussian(random));
            if (random.NextDouble() < burstRate)
            {
                burst += p.BurstSize * (0.5 + random.NextDouble());
            }

            burst *= 0.6;
            double value = baseLevel + (amplitude * cycle) + noise + burst + (trend * i / Math.Max(1, n - 1));
            cpu[i] = Clamp(value);
            mem[i] = Clamp(memBase + (0.1 * cpu[i]) + (0.02 * Gaussian(random)));
            net[i] = Clamp((p.Network * (0.3 + cpu[i])) + (0.02 * Gaussian(random)));
            disk[i] = Clamp((p.Disk * (0.2 + cpu[i])) + (0.02 * Gaussian(random)));
        }

        return new DemandTrace(name, cpu, options.IntervalSeconds, mem, net, disk);
    }

    private static void Validate(SyntheticWorkloadOptions o)
    {
        if (o.VmCount < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(o), o.VmCount, "SyntheticWorkloadOptions.VmCount must be at least 1.");
        }

        if (o.Samples < 2)
        {
            throw new ArgumentOutOfRangeException(nameof(o), o.Samples, "SyntheticWorkloadOptions.Samples must be at least 2.");
        }

        if (!(o.IntervalSeconds > 0) || !(o.DaySeconds > 0))
        {
            throw new ArgumentOutOfRangeException(nameof(o), "SyntheticWorkloadOptions.IntervalSeconds and DaySeconds must be positive.");
        }

        if (o.ClassWeights.Count != 5 || o.ClassWeights.Any(w => !(w >= 0)) || !(o.ClassWeights.Sum() > 0))
        {
            throw new ArgumentException("SyntheticWorkloadOptions.ClassWeights needs 5 non-negative weights with a positive sum.", nameof(o));
        }

        if (!(o.NoiseScale >= 0) || !(o.BurstScale >= 0) || !(o.MaxTrend >= 0))
        {
            throw new ArgumentOutOfRangeException(nameof(o), "NoiseScale, BurstScale and MaxTrend must be non-negative.");
        }
    }

    private static double Clamp(double v) => v < 0 ? 0 : v > 1 ? 1 : v;

    private static double Gaussian(Random random)
    {
        // Box-Muller; deterministic given the Random's state.
        double u1 = 1.0 - random.NextDouble();
        double u2 = random.NextDouble();
        return Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2.0 * Math.PI * u2);
    }

    private static (double Base, double Amplitude, double Noise, double BurstRate, double BurstSize, double Memory, double Network, double Disk) Profile(
        SyntheticWorkloadClass cls) => cls switch
    {
        SyntheticWorkloadClass.Web => (0.35, 0.25, 0.05, 0.02, 0.25, 0.45, 0.5, 0.2),
        SyntheticWorkloadClass.Batch => (0.15, 0.05, 0.04, 0.08, 0.5, 0.3, 0.1, 0.5),
        SyntheticWorkloadClass.Database => (0.4, 0.12, 0.03, 0.01, 0.2, 0.8, 0.3, 0.6),
        SyntheticWorkloadClass.Cache => (0.15, 0.08, 0.03, 0.01, 0.15, 0.85, 0.7, 0.05),
        _ => (0.04, 0.02, 0.015, 0.005, 0.2, 0.2, 0.02, 0.02),
    };
}
