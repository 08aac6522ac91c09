using System.CommandLine;
using VmEcosystem.ConsoleHost.Commands;

namespace VmEcosystem.ConsoleHost;

/// <summary>The `vmeco` command line; callable in-process (tests pass their own writers).</summary>
public static class VmecoCli
{
    /// <summary>Parses and runs <paramref name="args"/>; returns the exit code (0 ok, 1 failure, 2 bad input).</summary>
    public static Task<int> RunAsync(string[] args, TextWriter? output = null, TextWriter? error = null)
    {
        CliErrors.Error = error ?? Console.Error;
        CliOutput.Writer = output ?? Console.Out;
        var root = new RootCommand("VmEcosystem sample host: simulate a cluster day and benchmark the library.")
        {
            SimulateCommand.Create(),
            BenchmarkCommand.Create(),
        };
        var config = new InvocationConfiguration { Output = output ?? Console.Out, Error = error ?? Console.Error };
        return root.Parse(args).InvokeAsync(config);
    }
}

/// <summary>Where commands print results (stdout by default).</summary>
internal static class CliOutput
{
    public static TextWriter Writer { get; set; } = Console.Out;

    public static void Line(string text) => Writer.WriteLine(text);
}
