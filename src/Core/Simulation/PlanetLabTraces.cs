using System.Globalization;

namespace VmEcosystem.Simulation;

/// <summary>Order in which the files of a trace folder become VMs 0, 1, 2, ... (the order fixes each VM's type).</summary>
public enum TraceOrder
{
    /// <summary>File names in ordinal (byte) order, as Java's <c>String.compareTo</c>: reproducible everywhere.</summary>
    Sorted = 0,

    /// <summary>The order the file system lists them in (what CloudSim itself does; not reproducible).</summary>
    FileSystem = 1,
}

/// <summary>
/// Reads PlanetLab/CoMon CPU traces in CloudSim's format: one file per VM, one integer CPU percentage (0..100) per
/// line, one line per 5 minutes (288 lines = 24 h). Every error names the file and line.
/// </summary>
public static class PlanetLabTraces
{
    /// <summary>Samples per file in the standard one-day format.</summary>
    public const int SamplesPerDay = 288;

    /// <summary>Seconds between samples.</summary>
    public const double IntervalSeconds = 300;

    /// <summary>Reads every file of <paramref name="folder"/>.</summary>
    /// <param name="folder">The day folder.</param>
    /// <param name="order">File order (see <see cref="TraceOrder"/>).</param>
    /// <param name="expectedSamples">Required number of lines per file (null: any positive number, all files equal).</param>
    /// <param name="defaultMemoryShare">Memory share the traces report (PlanetLab has CPU only).</param>
    /// <exception cref="TraceFormatException">Missing or empty folder, unreadable file, bad line, or wrong line count.</exception>
    public static IReadOnlyList<DemandTrace> ReadFolder(
        string folder, TraceOrder order = TraceOrder.Sorted, int? expectedSamples = SamplesPerDay, double defaultMemoryShare = 1.0)
    {
        var files = TraceFiles(folder, order);
        var traces = new DemandTrace[files.Length];
        int? length = expectedSamples;
        for (int i = 0; i < files.Length; i++)
        {
            traces[i] = ReadFile(files[i], length, defaultMemoryShare);
            length ??= traces[i].Length;
        }

        return traces;
    }

    /// <summary>The trace files of <paramref name="folder"/> (hidden files and NOTICE/README left out), in <paramref name="order"/>.</summary>
    /// <exception cref="TraceFormatException">Missing folder, a file instead, or no trace file.</exception>
    internal static string[] TraceFiles(string folder, TraceOrder order)
    {
        ArgumentException.ThrowIfNullOrEmpty(folder);
        if (!Directory.Exists(folder))
        {
            throw new TraceFormatException(
                File.Exists(folder)
                    ? $"Trace path '{folder}' is a file; expected a folder with one trace file per VM."
                    : $"Trace folder '{folder}' does not exist.",
                folder);
        }

        var files = Directory.GetFiles(folder).Where(f => !IsHiddenOrNotice(f)).ToArray();
        if (order == TraceOrder.Sorted)
        {
            Array.Sort(files, StringComparer.Ordinal);
        }

        if (files.Length == 0)
        {
            throw new TraceFormatException($"Trace folder '{folder}' contains no trace files.", folder);
        }

        return files;
    }

    /// <summary>Reads the files listed in <paramref name="files"/> (full paths), in the given order.</summary>
    public static IReadOnlyList<DemandTrace> ReadFiles(IEnumerable<string> files, int? expectedSamples = SamplesPerDay)
    {
        ArgumentNullException.ThrowIfNull(files);
        return [.. files.Select(f => ReadFile(f, expectedSamples))];
    }

    /// <summary>Largest trace file read (a day of 5-minute samples is about 1 KB); larger files, FIFOs and devices are refused.</summary>
    public const long MaxFileBytes = 16 * 1024 * 1024;

    /// <summary>Reads one trace file.</summary>
    /// <exception cref="TraceFormatException">Unreadable file, a line that is not an integer 0..100, or a wrong line count.</exception>
    public static DemandTrace ReadFile(string path, int? expectedSamples = SamplesPerDay, double defaultMemoryShare = 1.0)
    {
        var (lines, count) = ReadLines(path, expectedSamples, "one CPU percentage per 5 minutes");
        var cpu = new double[count];
        for (int i = 0; i < count; i++)
        {
            string text = lines[i].Trim();
            if (!int.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out int percent))
            {
                throw new TraceFormatException(
                    $"Trace file '{path}', line {i + 1}: '{Truncate(lines[i])}' is not an integer CPU percentage.", path, i + 1);
            }

            if (percent is < 0 or > 100)
            {
                throw new TraceFormatException(
                    $"Trace file '{path}', line {i + 1}: {percent} is outside 0..100.", path, i + 1);
            }

            cpu[i] = percent / 100.0;
        }

        return new DemandTrace(System.IO.Path.GetFileName(path), cpu, IntervalSeconds) { DefaultMemoryShare = defaultMemoryShare };
    }

    /// <summary>The lines of a trace file without its trailing empty lines, checked for their number.</summary>
    /// <exception cref="TraceFormatException">Unreadable, empty, or not <paramref name="expectedSamples"/> lines (<paramref name="perLine"/> says what each holds).</exception>
    internal static (string[] Lines, int Count) ReadLines(string path, int? expectedSamples, string perLine)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        string[] lines;
        try
        {
            lines = IO.InputFile.ReadAllLines(path, MaxFileBytes);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException) // also: not a regular file, or too large
        {
            throw new TraceFormatException($"Cannot read trace file '{path}': {ex.Message}", path, null, ex);
        }

        int count = lines.Length;
        while (count > 0 && lines[count - 1].Trim().Length == 0)
        {
            count--; // tolerate trailing empty lines
        }

        if (count == 0)
        {
            throw new TraceFormatException($"Trace file '{path}' is empty.", path);
        }

        if (expectedSamples is { } expected && count != expected)
        {
            throw new TraceFormatException($"Trace file '{path}' has {count} lines; expected {expected} ({perLine}).", path);
        }

        return (lines, count);
    }

    private static bool IsHiddenOrNotice(string path)
    {
        string name = System.IO.Path.GetFileName(path);
        return name.StartsWith('.') || name.Equals("NOTICE", StringComparison.OrdinalIgnoreCase)
            || name.Equals("NOTICE.md", StringComparison.OrdinalIgnoreCase) || name.Equals("README.md", StringComparison.OrdinalIgnoreCase);
    }

    private static string Truncate(string s) => s.Length <= 40 ? s : s[..40] + "...";
}
