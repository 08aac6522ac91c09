using Spectre.Console;
using VmEcosystem.Simulation;

namespace VmEcosystem.ConsoleHost.Commands;

/// <summary>Turns failures into one clear line on stderr and an exit code, never a stack trace.</summary>
internal static class CliErrors
{
    // One convention for every command: 0 ok; 1 the command line does not parse (System.CommandLine's own code);
    // 2 bad input or a failure while running (a file, a value, a provider, a migration that failed).
    public const int BadInput = 2;
    public const int Failure = 2;

    public static async Task<int> RunAsync(Func<Task<int>> action)
    {
        try
        {
            return await action();
        }
        catch (VmEcosystem.Ecosystem.Declarations.DeclarationException ex)
        {
            return Fail(BadInput, ex.Message);
        }
        catch (TraceFormatException ex)
        {
            return Fail(BadInput, ex.Message);
        }
        catch (ArgumentException ex)
        {
            return Fail(BadInput, ex.Message);
        }
        catch (DllNotFoundException ex)
        {
            return Fail(BadInput, $"a native library this command needs is not installed (for libvirt: the libvirt0 package): {ex.Message}");
        }
        catch (OperationCanceledException)
        {
            return Fail(Failure, "Cancelled.");
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or System.Data.Common.DbException)
        {
            // A file, folder or store that cannot be used (unreadable, not regular, too large, locked, not a database).
            return Fail(BadInput, ex.Message);
        }
        catch (Exception ex) when (ex is OutOfMemoryException or InsufficientExecutionStackException)
        {
            return Fail(BadInput, $"not enough memory for this input ({ex.Message}); use fewer hosts, VMs or files.");
        }
        catch (Exception ex) when (ex is InvalidOperationException or Microsoft.Extensions.Options.OptionsValidationException)
        {
            return Fail(Failure, ex.Message);
        }
    }

    public static TextWriter Error { get; set; } = Console.Error;

    /// <summary>A warning line on stderr (the command goes on).</summary>
    public static void Warn(string message) => Line("yellow", "warning", message);

    public static int Fail(int code, string message)
    {
        Line("red", "error", message);
        return code;
    }

    // One line, whatever its length: coloured on a terminal, plain when captured or redirected (no wrapping).
    private static void Line(string colour, string label, string message)
    {
        string text = CliText.Plain(message).ReplaceLineEndings(" ");
        if (ReferenceEquals(Error, Console.Error) && !Console.IsErrorRedirected)
        {
            AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Error) }).MarkupLine($"[{colour}]{label}:[/] {Markup.Escape(text)}");
            return;
        }

        Error.WriteLine($"{label}: {text}");
    }
}
