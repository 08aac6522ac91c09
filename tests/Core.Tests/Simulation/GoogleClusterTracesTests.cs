using VmEcosystem.Simulation;

namespace VmEcosystem.Tests.Simulation;

public sealed class GoogleClusterTracesTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("vmeco-gcd-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Write(string name, IEnumerable<string> lines)
    {
        string path = Path.Combine(_dir, name);
        File.WriteAllLines(path, lines);
        return path;
    }

    [Fact]
    public void Reads_cpu_and_memory_as_fractions_and_the_folder_reader_detects_the_format()
    {
        Write("vm_2", Enumerable.Range(0, 288).Select(i => $"{i % 50}.5 {10 + (i % 7)}.25"));
        Write("vm_1", Enumerable.Repeat("6.763 5.103", 288));
        File.WriteAllText(Path.Combine(_dir, "NOTICE.md"), "attribution");
        var traces = TraceFolders.ReadFolder(_dir, out var format);
        Assert.Equal(TraceFormat.GoogleCluster, format);
        Assert.Equal(["vm_1", "vm_2"], traces.Select(t => t.Name));
        Assert.True(traces[0].HasMemory);
        Assert.Equal(0.06763, traces[0].CpuAt(0), 12);
        Assert.Equal(0.05103, traces[0].MemoryAt(0), 12);
        Assert.Equal(0.1125, traces[1].MemoryAt(300), 12);
    }

    [Fact]
    public void A_planetlab_folder_is_detected_as_such()
    {
        Write("a", Enumerable.Repeat("12", 288));
        var traces = TraceFolders.ReadFolder(_dir, out var format);
        Assert.Equal(TraceFormat.PlanetLab, format);
        Assert.False(traces[0].HasMemory);
    }

    [Fact]
    public void A_series_above_100_percent_is_scaled_to_peak_at_100()
    {
        var path = Write("big", Enumerable.Range(0, 288).Select(i => i == 5 ? "20 200" : "20 50"));
        var trace = GoogleClusterTraces.ReadFile(path);
        Assert.Equal((1.0, 0.25, 0.2), (trace.MemoryAt(1500), trace.MemoryAt(0), trace.CpuAt(0)));
    }

    [Theory]
    [InlineData("12", "line 3: '12' is not two percentages")]
    [InlineData("1 2 3", "line 3: '1 2 3' is not two percentages")]
    [InlineData("-1 5", "line 3")]
    [InlineData("5 NaN", "line 3")]
    [InlineData("x 5", "line 3")]
    public void A_bad_line_names_the_file_and_line(string bad, string expected)
    {
        var path = Write("vm", Enumerable.Range(0, 288).Select(i => i == 2 ? bad : "10 10"));
        var ex = Assert.Throws<TraceFormatException>(() => GoogleClusterTraces.ReadFile(path));
        Assert.Contains(expected, ex.Message);
        Assert.Contains(path, ex.Message);
        Assert.Equal(3, ex.Line);
    }

    [Fact]
    public void A_short_file_is_refused()
    {
        var path = Write("vm", Enumerable.Repeat("10 10", 100));
        Assert.Contains("has 100 lines; expected 288", Assert.Throws<TraceFormatException>(() => GoogleClusterTraces.ReadFile(path)).Message);
    }
}
