using System.Globalization;

namespace VmEcosystem.Simulation;

/// <summary>The format of a folder of trace files.</summary>
public enum TraceFormat
{
    /// <summary>PlanetLab/CoMon: one integer CPU percentage per line (<see cref="PlanetLabTraces"/>).</summary>
    PlanetLab = 0,

    /// <summary>Google-cluster-derived VMs: CPU and memory percentages per line (<see cref="GoogleClusterTraces"/>).</summary>
    GoogleCluster = 1,
}

/// <summary>
/// Reads the Google-cluster-derived VM traces (Hieu et al., IEEE TSC 2020, from the Google cluster trace 2011): one
/// file per VM, one line per 5 minutes, each line the CPU then the memory utilisation in percent separated by white
/// space (<c>6.763 5.103</c>). A series above 100% (8 of the 1,200 published files reach up to 215% of memory) is
/// scaled to peak at 100%. Every error names the file and line. <see cref="TraceFolders.ReadFolder"/> detects the
/// format.
/// </summary>
public static class GoogleClusterTraces
{
    /// <summary>Reads one trace file: CPU and memory series as fractions 0..1.</summary>
    /// <exception cref="TraceFormatException">Unreadable file, a line without two percentages, or a wrong line count.</exception>
    public static DemandTrace ReadFile(string path, int? expectedSamples = PlanetLabTraces.SamplesPerDay)
    {
        var (lines, count) = PlanetLabTraces.ReadLines(path, expectedSamples, "CPU and memory percentages per 5 minutes");
        var cpu = new double[count];
        var memory = new double[count];
        for (int i = 0; i < count; i++)
        {
            if (!TryParseLine(lines[i], out double c, out double m))
            {
                throw new TraceFormatException(
                    $"Trace file '{path}', line {i + 1}: '{Truncate(lines[i])}' is not two percentages (CPU, then memory; 0 to 1000).", path, i + 1);
            }

            cpu[i] = c / 100;
            memory[i] = m / 100;
        }

        FitToSize(cpu);
        FitToSize(memory);
        return new DemandTrace(Path.GetFileName(path), cpu, PlanetLabTraces.IntervalSeconds, memory);
    }

    /// <summary>Largest percentage accepted: a few derived VMs sum their tasks above 100% (up to 215% of memory).</summary>
    public const double MaxPercent = 1000;

    // A series that peaks above 100% is scaled so its peak is 100%: the VM is taken to be as large as its peak.
    private static void FitToSize(double[] series)
    {
        double peak = series.Max();
        if (peak > 1)
        {
            for (int i = 0; i < series.Length; i++)
            {
                series[i] /= peak;
            }
        }
    }

    /// <summary>True when <paramref name="line"/> holds exactly two numbers within 0..<see cref="MaxPercent"/>.</summary>
    internal static bool TryParseLine(string line, out double cpu, out double memory)
    {
        cpu = memory = 0;
        var span = line.AsSpan().Trim();
        int gap = span.IndexOfAny(' ', '\t');
        if (gap <= 0)
        {
            return false;
        }

        var second = span[gap..].TrimStart();
        return double.TryParse(span[..gap], NumberStyles.Float, CultureInfo.InvariantCulture, out cpu)
            && double.TryParse(second, NumberStyles.Float, CultureInfo.InvariantCulture, out memory)
            && cpu is >= 0 and <= MaxPercent && memory is >= 0 and <= MaxPercent;
    }

    private static string Truncate(string s) => s.Length <= 40 ? s : s[..40] + "...";
}

/// <summary>Reads a folder of trace files in either format, detecting which from the first file's first line.</summary>
public static class TraceFolders
{
    /// <summary>The format of <paramref name="folder"/>: Google-cluster when the first file's first line holds two numbers, PlanetLab otherwise.</summary>
    /// <exception cref="TraceFormatException">Missing or empty folder, or an unreadable first file.</exception>
    public static TraceFormat Detect(string folder)
    {
        var files = PlanetLabTraces.TraceFiles(folder, TraceOrder.Sorted);
        string first;
        try
        {
            first = IO.InputFile.ReadAllLines(files[0], PlanetLabTraces.MaxFileBytes).FirstOrDefault(l => l.Trim().Length > 0) ?? string.Empty;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new TraceFormatException($"Cannot read trace file '{files[0]}': {ex.Message}", files[0], null, ex);
        }

        return GoogleClusterTraces.TryParseLine(first, out _, out _) ? TraceFormat.GoogleCluster : TraceFormat.PlanetLab;
    }

    /// <summary>Reads every trace file of <paramref name="folder"/> in ordinal name order, in the detected format.</summary>
    /// <param name="folder">The folder.</param>
    /// <param name="format">The format found.</param>
    /// <exception cref="TraceFormatException">As the format's reader.</exception>
    public static IReadOnlyList<DemandTrace> ReadFolder(string folder, out TraceFormat format)
    {
        format = Detect(folder);
        if (format == TraceFormat.PlanetLab)
        {
            return PlanetLabTraces.ReadFolder(folder, TraceOrder.Sorted);
        }

        var files = PlanetLabTraces.TraceFiles(folder, TraceOrder.Sorted);
        var traces = new DemandTrace[files.Length];
        for (int i = 0; i < files.Length; i++)
        {
            traces[i] = GoogleClusterTraces.ReadFile(files[i]);
        }

        return traces;
    }
}
