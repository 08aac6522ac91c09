using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;

namespace VmEcosystem.Tuning;

/// <summary>
/// Measures a configuration by running a real benchmark program with parameters from the genome: each argument may
/// hold <c>{gene}</c> placeholders (numbers in invariant form, choices by name, booleans as true/false). The output is
/// parsed into metrics (<see cref="SysbenchOutput"/> by default), and every gene value is added as
/// <c>config.&lt;gene&gt;</c> so that goals can weigh the resources a configuration asks for. When
/// <see cref="CpuQuotaGene"/> is set, the program runs in its own cgroup with that many cores of CPU quota (cgroup v2
/// <c>cpu.max</c> or v1 <c>cpu.cfs_quota_us</c>; needs root), removed afterwards. A configuration applied elsewhere
/// (a VM through the provider) goes through <see cref="Apply"/> before the run.
/// </summary>
internal sealed partial class BenchmarkCommandEvaluator(string fileName, IReadOnlyList<string> arguments) : IConfigurationEvaluator
{
    /// <summary>The gene holding the CPU quota in cores (null: no cgroup).</summary>
    public string? CpuQuotaGene { get; init; }

    /// <summary>Applies the configuration before the run (for example hot-plug and controls on a libvirt VM); optional.</summary>
    public Func<SearchSpace, double[], CancellationToken, Task>? Apply { get; init; }

    /// <summary>Turns the program's standard output into metrics.</summary>
    public Func<string, Dictionary<string, double>> Parse { get; init; } = SysbenchOutput.Parse;

    /// <summary>The cgroup file systems' root.</summary>
    public string CgroupRoot { get; init; } = "/sys/fs/cgroup";

    public async ValueTask<IReadOnlyDictionary<string, double>> EvaluateAsync(SearchSpace space, double[] values, CancellationToken cancellationToken)
    {
        if (Apply is not null)
        {
            await Apply(space, values, cancellationToken).ConfigureAwait(false);
        }

        var numbers = new Dictionary<string, double>(StringComparer.Ordinal);
        for (int g = 0; g < space.Genes.Count; g++)
        {
            numbers[space.Genes[g].Name] = values[g];
        }

        return await RunAsync(space.Settings(values), numbers, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Runs the benchmark for a configuration given as settings (placeholders filled from them); every setting in
    /// <paramref name="numbers"/> is added to the metrics as <c>config.&lt;setting&gt;</c>.
    /// </summary>
    public async Task<Dictionary<string, double>> RunAsync(IReadOnlyDictionary<string, string> settings, IReadOnlyDictionary<string, double> numbers, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(numbers);
        var args = arguments.Select(a => Substitute(a, settings)).ToArray();
        string? cgroup = CpuQuotaGene is { } gene ? CreateCgroup(Quota(settings, gene)) : null;
        try
        {
            var start = new ProcessStartInfo(cgroup is null ? fileName : "/bin/sh") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            if (cgroup is not null)
            {
                // The shell joins the cgroup, then becomes the benchmark: it runs under the quota from its first instruction.
                foreach (string a in new[] { "-c", $"echo $$ > '{cgroup}/cgroup.procs' && exec \"$0\" \"$@\"", fileName })
                {
                    start.ArgumentList.Add(a);
                }
            }

            foreach (string a in args)
            {
                start.ArgumentList.Add(a);
            }

            using var process = Process.Start(start) ?? throw new InvalidOperationException($"{fileName} did not start.");
            var stdout = process.StandardOutput.ReadToEndAsync(cancellationToken);
            var stderr = process.StandardError.ReadToEndAsync(cancellationToken);
            try
            {
                await process.WaitForExitAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                process.Kill(entireProcessTree: true);
                throw;
            }

            string output = await stdout.ConfigureAwait(false);
            if (process.ExitCode != 0)
            {
                string error = await stderr.ConfigureAwait(false);
                throw new InvalidOperationException($"{fileName} exited with {process.ExitCode}: {error[Math.Max(0, error.Length - 300)..].Trim()}");
            }

            var metrics = Parse(output);
            foreach (var (name, value) in numbers)
            {
                metrics[$"config.{name}"] = value;
            }

            return metrics;
        }
        finally
        {
            if (cgroup is not null)
            {
                RemoveCgroup(cgroup);
            }
        }
    }

    private static double Quota(IReadOnlyDictionary<string, string> settings, string gene) =>
        settings.TryGetValue(gene, out var text) && double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double cores) && cores > 0 && double.IsFinite(cores)
            ? cores : throw new ArgumentException($"CpuQuotaGene '{gene}' is not a setting of the configuration with a positive number of cores.");

    private static string Substitute(string argument, IReadOnlyDictionary<string, string> settings) =>
        Placeholder().Replace(argument, m => settings.TryGetValue(m.Groups[1].Value, out var value)
            ? value : throw new ArgumentException($"The benchmark argument '{argument}' names '{m.Groups[1].Value}', which is not a setting of the configuration."));

    // A cgroup with `cores` of CPU quota per 100 ms period: v2 (cpu.max) when the unified hierarchy has the cpu
    // controller, else v1's cpu hierarchy (cpu.cfs_quota_us).
    private string CreateCgroup(double cores)
    {
        long quota = Math.Max(1000, (long)Math.Round(cores * 100_000));
        string name = $"vmeco-tuning-{Environment.ProcessId}-{Guid.NewGuid():N}";
        if (File.Exists(Path.Combine(CgroupRoot, "cgroup.controllers")) && File.ReadAllText(Path.Combine(CgroupRoot, "cgroup.controllers")).Contains("cpu", StringComparison.Ordinal))
        {
            string dir = Path.Combine(CgroupRoot, name);
            Directory.CreateDirectory(dir);
            File.WriteAllText(Path.Combine(dir, "cpu.max"), $"{quota.ToString(CultureInfo.InvariantCulture)} 100000");
            return dir;
        }

        string v1 = Path.Combine(CgroupRoot, "cpu");
        if (!File.Exists(Path.Combine(v1, "cpu.cfs_quota_us")))
        {
            throw new InvalidOperationException($"No cgroup CPU controller under {CgroupRoot} (neither v2 cpu.max nor v1 cpu/cpu.cfs_quota_us): the CPU quota cannot be applied.");
        }

        string group = Path.Combine(v1, name);
        Directory.CreateDirectory(group);
        File.WriteAllText(Path.Combine(group, "cpu.cfs_period_us"), "100000");
        File.WriteAllText(Path.Combine(group, "cpu.cfs_quota_us"), quota.ToString(CultureInfo.InvariantCulture));
        return group;
    }

    private static void RemoveCgroup(string dir)
    {
        for (int attempt = 0; attempt < 50; attempt++)
        {
            try
            {
                Directory.Delete(dir); // a cgroup directory goes with rmdir once its processes have exited
                return;
            }
            catch (IOException)
            {
                Thread.Sleep(20);
            }
        }
    }

    [GeneratedRegex(@"\{([A-Za-z_][A-Za-z0-9_.]*)\}")]
    private static partial Regex Placeholder();
}

/// <summary>Reads sysbench 1.0's report: events/s, MiB/s (memory, fileio), latency average and 95th percentile.</summary>
internal static partial class SysbenchOutput
{
    public static Dictionary<string, double> Parse(string output)
    {
        var metrics = new Dictionary<string, double>();
        void Take(Regex pattern, string name)
        {
            if (pattern.Match(output) is { Success: true } m && double.TryParse(m.Groups[1].Value, NumberStyles.Float, CultureInfo.InvariantCulture, out double v))
            {
                metrics[name] = v;
            }
        }

        Take(EventsPerSecond(), "eventsPerSecond");
        Take(OperationsPerSecond(), "eventsPerSecond");
        Take(MiBPerSecond(), "mibPerSecond");
        Take(LatencyAverage(), "latencyAvgMs");
        Take(LatencyP95(), "latencyP95Ms");
        Take(TotalEvents(), "events");
        if (metrics.Count == 0)
        {
            throw new FormatException("The benchmark's output has no sysbench figures (events per second, MiB/sec, latency).");
        }

        return metrics;
    }

    [GeneratedRegex(@"events per second:\s*([\d.]+)")]
    private static partial Regex EventsPerSecond();

    [GeneratedRegex(@"Total operations:\s*\d+\s*\(([\d.]+) per second\)")]
    private static partial Regex OperationsPerSecond();

    [GeneratedRegex(@"\(([\d.]+) MiB/sec\)")]
    private static partial Regex MiBPerSecond();

    [GeneratedRegex(@"avg:\s*([\d.]+)")]
    private static partial Regex LatencyAverage();

    [GeneratedRegex(@"95th percentile:\s*([\d.]+)")]
    private static partial Regex LatencyP95();

    [GeneratedRegex(@"total number of events:\s*(\d+)")]
    private static partial Regex TotalEvents();
}
