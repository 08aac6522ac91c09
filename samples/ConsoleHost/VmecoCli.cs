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
            EcosystemCommand.Create(),
            BenchmarkCommand.Create(),
            LibvirtCommand.Create(),
            ServeCommand.Create(),
        };
        var config = new InvocationConfiguration { Output = output ?? Console.Out, Error = error ?? Console.Error };
        return root.Parse(args).InvokeAsync(config);
    }
}

/// <summary>Where commands print results (stdout by default).</summary>
internal static class CliOutput
{
    private static TextWriter _writer = Console.Out;

    public static TextWriter Writer
    {
        get => _writer;
        set
        {
            _writer = value;
            // A terminal gets colours and links; anything else (a file, a pipe, a test's writer) gets plain text only,
            // wide enough that tables are not wrapped.
            bool terminal = ReferenceEquals(value, Console.Out) && !Console.IsOutputRedirected;
            Ansi = terminal
                ? Spectre.Console.AnsiConsole.Console
                : Spectre.Console.AnsiConsole.Create(new Spectre.Console.AnsiConsoleSettings
                {
                    Out = new Spectre.Console.AnsiConsoleOutput(value),
                    Ansi = Spectre.Console.AnsiSupport.No,
                    ColorSystem = Spectre.Console.ColorSystemSupport.NoColors,
                    Interactive = Spectre.Console.InteractionSupport.No,
                });
            if (!terminal)
            {
                Ansi.Profile.Width = 160;
            }
        }
    }

    /// <summary>Tables and markup go where <see cref="Writer"/> goes (tests capture them).</summary>
    public static Spectre.Console.IAnsiConsole Ansi { get; private set; } = Spectre.Console.AnsiConsole.Console;

    public static void Line(string text) => Writer.WriteLine(text);
}
