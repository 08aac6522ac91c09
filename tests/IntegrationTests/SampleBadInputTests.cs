using System.Diagnostics;
using VmEcosystem.ConsoleHost;
using VmEcosystem.TestSupport;

namespace VmEcosystem.IntegrationTests;

/// <summary>
/// Bad input through the sample (issue 14, defect 8): never a hang, a stack trace or a silently ignored option;
/// one line naming the problem and exit code 2.
/// </summary>
[Collection("cli")] // the CLI uses process-wide writers
public sealed class SampleBadInputTests : IDisposable
{
    private static readonly TimeSpan NoHang = TimeSpan.FromSeconds(90);
    private readonly string _dir = Directory.CreateTempSubdirectory("vmeco-bad-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static async Task<(int Code, string Out, string Err)> Run(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        int code = await VmecoCli.RunAsync(args, output, error).WaitAsync(NoHang, TestContext.Current.CancellationToken);
        return (code, output.ToString(), error.ToString());
    }

    private static void OneClearLine((int Code, string Out, string Err) run, params string[] expected)
    {
        Assert.True(run.Code == 2, $"exit code {run.Code}: {run.Err}");
        Assert.DoesNotContain("   at ", run.Err + run.Out);
        Assert.Single(run.Err.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        foreach (var e in expected)
        {
            Assert.Contains(e, run.Err, StringComparison.Ordinal);
        }
    }

    private string TraceFolderWith(string name, Action<string> make)
    {
        string folder = Directory.CreateDirectory(Path.Combine(_dir, "traces-" + Guid.NewGuid().ToString("N")[..6])).FullName;
        File.WriteAllLines(Path.Combine(folder, "good"), Enumerable.Repeat("7", 288));
        make(Path.Combine(folder, name));
        return folder;
    }

    private static void Fifo(string path) => Process.Start("mkfifo", [path])!.WaitForExit();

    [Fact]
    public async Task A_fifo_or_a_device_among_the_traces_or_as_declarations_is_refused_not_read()
    {
        string fifoFolder = TraceFolderWith("pipe", Fifo);
        OneClearLine(await Run("simulate", "--trace-dir", fifoFolder, "--report", Path.Combine(_dir, "r.html")), "pipe", "FIFO");
        OneClearLine(await Run("benchmark", "consolidation", "--trace-dir", fifoFolder, "--json"), "FIFO");

        string zeroFolder = TraceFolderWith("zero", p => File.CreateSymbolicLink(p, "/dev/zero"));
        OneClearLine(await Run("simulate", "--trace-dir", zeroFolder, "--report", Path.Combine(_dir, "r.html")), "zero", "character device");

        string pipe = Path.Combine(_dir, "declarations.json");
        Fifo(pipe);
        OneClearLine(await Run("ecosystem", "--declarations", pipe), "FIFO");
    }

    [Fact]
    public async Task Sizes_beyond_what_fits_are_refused_before_anything_is_allocated()
    {
        foreach (var args in new[]
        {
            new[] { "simulate", "--synthetic", "--vms", "2000000000" },
            ["simulate", "--hosts", "2000000000"],
            ["benchmark", "planner-scale", "--hosts", "2000000000", "--json"],
            ["benchmark", "graph", "--vms", "2000000000", "--json"],
        })
        {
            var (code, output, error) = await Run(args);
            Assert.NotEqual(0, code);
            Assert.DoesNotContain("   at ", error + output);
            Assert.Contains("must be between", error + output, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task A_corrupt_audit_file_or_an_unwritable_report_is_one_line_before_the_run()
    {
        string corrupt = Path.Combine(_dir, "audit.db");
        await File.WriteAllTextAsync(corrupt, new string('x', 8192), TestContext.Current.CancellationToken);
        OneClearLine(await Run("simulate", "--synthetic", "--vms", "50", "--hosts", "40", "--audit", corrupt, "--report", Path.Combine(_dir, "r.html")), "--audit");

        var noFolder = await Run("simulate", "--synthetic", "--vms", "50", "--hosts", "40", "--json", "--report", Path.Combine(_dir, "no", "such", "r.html"));
        OneClearLine(noFolder, "--report", "does not exist");
        Assert.Empty(noFolder.Out); // refused before the run: no summary

        string pipe = Path.Combine(_dir, "report-pipe");
        Fifo(pipe);
        OneClearLine(await Run("simulate", "--synthetic", "--vms", "50", "--hosts", "40", "--report", pipe), "--report", "FIFO");
    }

    [Fact]
    public async Task Contradictory_options_are_refused_not_ignored()
    {
        foreach (var (args, expected) in new (string[], string)[]
        {
            (["simulate", "--synthetic", "--trace-dir", RepositoryPaths.ShippedPlanetLabDay], "--synthetic and --trace-dir"),
            (["simulate", "--json", "--explain", "3"], "--json and --explain"),
            (["simulate", "--vms", "300"], "--vms applies only with --synthetic"),
        })
        {
            var (code, output, error) = await Run(args);
            Assert.NotEqual(0, code);
            Assert.Contains(expected, error + output, StringComparison.Ordinal);
            Assert.DoesNotContain("   at ", error + output);
        }
    }

    [Fact]
    public async Task Control_characters_and_markup_from_trace_files_never_reach_the_terminal_raw()
    {
        // A line with an escape sequence: the error shows it escaped.
        string folder = TraceFolderWith("evil", p => File.WriteAllLines(p, ["7", "\u001b[2J\u001b]0;owned\u0007", .. Enumerable.Repeat("7", 286)]));
        var run = await Run("simulate", "--trace-dir", folder, "--report", Path.Combine(_dir, "r.html"));
        OneClearLine(run, "\\x1B");
        Assert.DoesNotContain('\u001b', run.Err.Replace("\u001b[", string.Empty, StringComparison.Ordinal)); // Spectre's own colour codes aside
        Assert.DoesNotContain('\u0007', run.Err);

        // A trace folder whose name carries an escape sequence and markup: the summary table shows both inert.
        string named = Directory.CreateDirectory(Path.Combine(_dir, "day\u001b[2J[red]x[nope]")).FullName;
        foreach (var file in Directory.GetFiles(RepositoryPaths.ShippedPlanetLabDay).Where(f => !Path.GetFileName(f).StartsWith('.')).Order(StringComparer.Ordinal).Take(60))
        {
            File.Copy(file, Path.Combine(named, Path.GetFileName(file)));
        }

        var (code, output, error) = await Run("simulate", "--trace-dir", named, "--hosts", "50", "--report", Path.Combine(_dir, "n.html"));
        Assert.True(code == 0, error);
        Assert.Contains("day\\x1B[2J[red]x[nope]", output, StringComparison.Ordinal);
    }
}
