using VmEcosystem.Simulation;

namespace VmEcosystem.Experiments;

/// <summary>
/// Demand between a trace's samples. A trace gives one CPU figure per interval (PlanetLab and the Google-derived
/// traces: 5 minutes); a migration window lasts seconds, and at that scale a VM's demand moves around its interval's
/// figure. This model resolves it, deterministically for a seed:
/// <list type="bullet">
/// <item>demand(t) = the interval's figure × exp(σ·z(t) − σ²/2), capped at the VM's allocation, so its mean over time
/// is the figure (less what the cap cuts);</item>
/// <item>z(t) is a standard normal process correlated over <see cref="KnotSeconds"/>: independent normal values at
/// knots that far apart, interpolated linearly between them and rescaled to unit variance;</item>
/// <item>σ is each VM's own variability read from its trace: the standard deviation of the change of ln(utilisation
/// + 1 %) between consecutive samples, over √2 (what two independent draws of a log-normal with that σ differ by),
/// times a scale (0: demand constant within an interval), at most <see cref="MaxSigma"/>.</item>
/// </list>
/// It assumes a VM varies within an interval as much as it varies between intervals, which is conservative for
/// smooth workloads and generous for bursty ones; the benchmark's <c>--variation</c> scales it.
/// </summary>
internal sealed class SubIntervalDemand
{
    /// <summary>Seconds between the process's independent knots (its correlation time).</summary>
    public const double KnotSeconds = 30;

    /// <summary>Upper bound of any VM's σ.</summary>
    public const double MaxSigma = 1.0;

    private readonly double[] _sigma;
    private readonly ulong _seed;

    public SubIntervalDemand(SimulationScenario scenario, double scale, int seed)
    {
        ArgumentNullException.ThrowIfNull(scenario);
        ArgumentOutOfRangeException.ThrowIfNegative(scale);
        _seed = (ulong)(uint)seed * 0x9E3779B97F4A7C15UL;
        _sigma = new double[scenario.Vms.Count];
        if (scale == 0)
        {
            return;
        }

        for (int v = 0; v < _sigma.Length; v++)
        {
            _sigma[v] = Math.Min(MaxSigma, scale * LogStepDeviation(scenario.Vms[v].Trace.Cpu) / Math.Sqrt(2));
        }
    }

    /// <summary>The VM's σ.</summary>
    public double SigmaOf(int vm) => _sigma[vm];

    /// <summary>The demand of <paramref name="vm"/> at <paramref name="timeSeconds"/>, given its interval's figure and its allocation.</summary>
    public double At(int vm, double timeSeconds, double intervalMhz, double capacityMhz)
    {
        double sigma = _sigma[vm];
        if (sigma == 0 || intervalMhz <= 0)
        {
            return intervalMhz;
        }

        double k = timeSeconds / KnotSeconds;
        double knot = Math.Floor(k), f = k - knot;
        double z = (((1 - f) * Normal(vm, (long)knot)) + (f * Normal(vm, (long)knot + 1))) / Math.Sqrt(((1 - f) * (1 - f)) + (f * f));
        return Math.Min(capacityMhz, intervalMhz * Math.Exp((sigma * z) - (sigma * sigma / 2)));
    }

    internal static double LogStepDeviation(ReadOnlySpan<double> cpu)
    {
        if (cpu.Length < 3)
        {
            return 0;
        }

        double sum = 0, squares = 0;
        double previous = Math.Log(cpu[0] + 0.01);
        for (int i = 1; i < cpu.Length; i++)
        {
            double current = Math.Log(cpu[i] + 0.01), d = current - previous;
            sum += d;
            squares += d * d;
            previous = current;
        }

        int n = cpu.Length - 1;
        double mean = sum / n;
        return Math.Sqrt(Math.Max(0, (squares / n) - (mean * mean)));
    }

    // A standard normal for (vm, knot), from a counter-based generator (SplitMix64) and Box–Muller: no state, so any
    // order of queries gives the same demand.
    private double Normal(int vm, long knot)
    {
        ulong x = _seed ^ ((ulong)(uint)vm << 32) ^ (ulong)knot;
        ulong a = Mix(x), b = Mix(x ^ 0xD1B54A32D192ED03UL);
        double u1 = ((a >> 11) + 1.0) / 9007199254740993.0, u2 = (b >> 11) / 9007199254740992.0;
        return Math.Sqrt(-2 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2);
    }

    private static ulong Mix(ulong z)
    {
        z += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
