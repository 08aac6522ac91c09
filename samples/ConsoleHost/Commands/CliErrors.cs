using Spectre.Console;
using VmEcosystem.Simulation;

namespace VmEcosystem.ConsoleHost.Commands;

/// <summary>Turns failures into one clear line on stderr and an exit code, never a stack trace.</summary>
internal static class CliErrors
{
    public const int BadInput = 2;
    public const int Failure = 1;

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
        catch (OperationCanceledException)
        {
            return Fail(Failure, "Cancelled.");
        }
        catch (Exception ex) when (ex is InvalidOperationException or IOException or UnauthorizedAccessException
            or Microsoft.Extensions.Options.OptionsValidationException)
        {
            return Fail(Failure, ex.Message);
        }
    }

    public static TextWriter Error { get; set; } = Console.Error;

    public static int Fail(int code, string message)
    {
        var err = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Error) });
        err.MarkupLineInterpolated($"[red]error:[/] {message}");
        return code;
    }
}
