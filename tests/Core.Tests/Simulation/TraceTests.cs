using VmEcosystem.Simulation;

namespace VmEcosystem.Tests.Simulation;

public sealed class TraceTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("vmeco-traces-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Write(string name, IEnumerable<string> lines)
    {
        string path = Path.Combine(_dir, name);
        File.WriteAllLines(path, lines);
        return path;
    }

    private static IEnumerable<string> Day(int value = 10) => Enumerable.Repeat(value.ToString(System.Globalization.CultureInfo.InvariantCulture), 288);

    [Fact]
    public void Missing_folder_is_a_clear_error()
    {
        var ex = Assert.Throws<TraceFormatException>(() => PlanetLabTraces.ReadFolder(Path.Combine(_dir, "nope")));
        Assert.Contains("does not exist", ex.Message);
    }

    [Fact]
    public void Empty_folder_is_a_clear_error()
    {
        var ex = Assert.Throws<TraceFormatException>(() => PlanetLabTraces.ReadFolder(_dir));
        Assert.Contains("contains no trace files", ex.Message);
    }

    [Fact]
    public void A_non_integer_line_names_the_file_and_line()
    {
        var lines = Day().ToArray();
        lines[41] = "12.5";
        string path = Write("node_slice", lines);
        var ex = Assert.Throws<TraceFormatException>(() => PlanetLabTraces.ReadFolder(_dir));
        Assert.Equal(path, ex.Path);
        Assert.Equal(42, ex.Line);
        Assert.Contains("line 42", ex.Message);
        Assert.Contains("node_slice", ex.Message);
    }

    [Fact]
    public void A_wrong_line_count_names_the_file()
    {
        Write("short", Day().Take(100));
        var ex = Assert.Throws<TraceFormatException>(() => PlanetLabTraces.ReadFolder(_dir));
        Assert.Contains("short", ex.Message);
        Assert.Contains("100 lines", ex.Message);
    }

    [Fact]
    public void Out_of_range_percentages_are_rejected()
    {
        var lines = Day().ToArray();
        lines[0] = "101";
        Write("hot", lines);
        var ex = Assert.Throws<TraceFormatException>(() => PlanetLabTraces.ReadFolder(_dir));
        Assert.Equal(1, ex.Line);
    }

    [Fact]
    public void Files_become_vms_in_ordinal_name_order()
    {
        Write("b", Day(2));
        Write("a b", Day(1));
        Write("B", Day(3));
        var traces = PlanetLabTraces.ReadFolder(_dir);
        Assert.Equal(["B", "a b", "b"], traces.Select(t => t.Name));
        Assert.Equal(0.03, traces[0].CpuAt(0), 12);
    }

    [Fact]
    public void Interpolation_follows_cloudsim_and_holds_the_last_sample()
    {
        var trace = new DemandTrace("t", [0.1, 0.5, 0.2], 300);
        Assert.Equal(0.1, trace.CpuAt(0));
        Assert.Equal(0.5, trace.CpuAt(300));
        double u1 = 0.1, u2 = 0.5;
        Assert.Equal(u1 + ((u2 - u1) / 300 * 150.5), trace.CpuAt(150.5));
        Assert.Equal(0.2, trace.CpuAt(600));
        Assert.Equal(0.2, trace.CpuAt(750));
        Assert.Equal(0.2, trace.CpuAt(10_000));
    }

    [Fact]
    public void Synthetic_traces_are_reproducible_and_within_range()
    {
        var a = SyntheticWorkload.Generate(new SyntheticWorkloadOptions { VmCount = 20, Seed = 3 });
        var b = SyntheticWorkload.Generate(new SyntheticWorkloadOptions { VmCount = 20, Seed = 3 });
        var c = SyntheticWorkload.Generate(new SyntheticWorkloadOptions { VmCount = 20, Seed = 4 });
        for (int i = 0; i < a.Count; i++)
        {
            Assert.Equal(a[i].Cpu.ToArray(), b[i].Cpu.ToArray());
            Assert.All(a[i].Cpu.ToArray(), u => Assert.InRange(u, 0, 1));
        }

        Assert.NotEqual(a[0].Cpu.ToArray(), c[0].Cpu.ToArray());
    }
}
