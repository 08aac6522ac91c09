namespace VmEcosystem.Tuning;

/// <summary>What the simulated application measures for a configuration.</summary>
/// <param name="Throughput">Requests served per second.</param>
/// <param name="LatencyMs">Mean response time, ms.</param>
/// <param name="Cost">Resource cost per hour (vCPUs at 1.0, GiB at 0.25).</param>
/// <param name="Availability">Share of requests answered within the SLO.</param>
internal readonly record struct ApplicationMeasurement(double Throughput, double LatencyMs, double Cost, double Availability);

/// <summary>
/// A documented performance model of a JVM-style web service under an offered load, for fast tuning tests and the
/// tuning benchmark (its optimum is found by enumerating the whole grid). Genes: <c>vcpus</c> (int 1..16),
/// <c>memoryGiB</c> (real 1..32 step 0.5), <c>threads</c> (int 1..64), <c>cacheMiB</c> (int 0..4096 step 256), <c>gc</c>
/// (serial, parallel, concurrent), <c>compression</c> (bool); constraint <c>memoryGiB &lt;= 4 * vcpus</c>.
/// <list type="bullet">
/// <item>Work per request: 1 unit, less 50 % of it on cache hits (hit ratio cache / (cache + 1024 MiB)), plus 15 % with
/// compression. A core serves 300 units/s; the collector keeps 85 % (serial), 100 % (parallel) or 93 % (concurrent).</item>
/// <item>Parallelism: Amdahl with a 5 % serial part over min(threads, vcpus) busy cores; each thread beyond twice the
/// vCPUs costs 1 % in context switches.</item>
/// <item>Memory: 0.5 GiB + the cache + 32 MiB per thread. Short of it, the service swaps: capacity × (have / need)³.</item>
/// <item>Throughput = min(load, 95 % of capacity). Latency = 4 ms (network, 2 ms less with compression) + the
/// collector's pauses (12, 5 or 2 ms) + an M/M/1-like wait 1000 / capacity / (1 - ρ) at utilisation ρ = load / capacity
/// (2 s when saturated). Availability = 0.9999 below 85 % utilisation, falling linearly to 0.99 at 100 %.</item>
/// </list>
/// </summary>
internal sealed class SimulatedApplication(double offeredLoad = 2000)
{
    public const string SearchSpaceJson = """
        { "genes": [
            { "name": "vcpus", "type": "int", "min": 1, "max": 16 },
            { "name": "memoryGiB", "type": "real", "min": 1, "max": 32, "step": 0.5 },
            { "name": "threads", "type": "int", "min": 1, "max": 64 },
            { "name": "cacheMiB", "type": "int", "min": 0, "max": 4096, "step": 256 },
            { "name": "gc", "type": "categorical", "choices": ["serial", "parallel", "concurrent"] },
            { "name": "compression", "type": "bool" } ],
          "constraints": [ "memoryGiB <= 4 * vcpus" ] }
        """;

    /// <summary>
    /// The baseline configuration, over-provisioned the way a service is before anyone tunes it: 16 vCPUs, 32 GiB,
    /// 16 threads, no cache, serial collector, no compression (86 % busy: it meets the availability level).
    /// </summary>
    public static readonly double[] Baseline = [16, 32, 16, 0, 0, 0];

    /// <summary>The goals of the tuning benchmark: throughput 0.4, latency 0.3, cost 0.3, availability at least 0.999.</summary>
    public static readonly TuningGoal[] Goals =
    [
        new("throughput", GoalDirection.Maximize, 0.4),
        new("latencyMs", GoalDirection.Minimize, 0.3),
        new("cost", GoalDirection.Minimize, 0.3),
        new("availability", GoalDirection.AtLeast, 0, 0.999),
    ];

    public double OfferedLoad { get; } = offeredLoad;

    /// <summary>Measures a configuration given as gene values in the order of <see cref="SearchSpaceJson"/>.</summary>
    public ApplicationMeasurement Measure(ReadOnlySpan<double> genes)
    {
        double vcpus = genes[0], memory = genes[1], threads = genes[2], cache = genes[3];
        int gc = (int)genes[4];
        bool compression = genes[5] >= 0.5;
        double hit = cache / (cache + 1024);
        double work = (1 - (0.5 * hit)) * (compression ? 1.15 : 1);
        double gcShare = gc switch { 0 => 0.85, 1 => 1.0, _ => 0.93 };
        double busy = Math.Min(threads, vcpus);
        double amdahl = 1 / (0.05 + (0.95 / busy));
        double switching = Math.Max(0.5, 1 - (0.01 * Math.Max(0, threads - (2 * vcpus))));
        double need = 0.5 + (cache / 1024) + (threads * 32 / 1024.0);
        double swap = memory >= need ? 1 : Math.Pow(memory / need, 3);
        double capacity = 300 * amdahl * gcShare * switching * swap / work;
        double rho = OfferedLoad / capacity;
        double throughput = Math.Min(OfferedLoad, 0.95 * capacity);
        double latency = (compression ? 2 : 4) + (gc switch { 0 => 12, 1 => 5, _ => 2 })
            + (rho < 1 ? 1000 / capacity / (1 - rho) : 2000);
        double availability = rho <= 0.85 ? 0.9999 : Math.Max(0.9, 0.9999 - ((rho - 0.85) / 0.15 * 0.0099));
        return new ApplicationMeasurement(throughput, Math.Min(latency, 2000), vcpus + (0.25 * memory), availability);
    }

    /// <summary>The measurement as named metrics, as an evaluator returns them.</summary>
    public static Dictionary<string, double> Metrics(ApplicationMeasurement m) => new()
    {
        ["throughput"] = m.Throughput,
        ["latencyMs"] = m.LatencyMs,
        ["cost"] = m.Cost,
        ["availability"] = m.Availability,
    };
}
