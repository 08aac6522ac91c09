using System.Diagnostics;
using System.Text.RegularExpressions;
using VmEcosystem.TestSupport;

namespace VmEcosystem.AspNetCore.Tests;

/// <summary>
/// <c>vmeco serve</c> as a real process on a loopback port (the sample's own build output, in this test's
/// configuration); killed with its children when disposed.
/// </summary>
internal sealed partial class ServeProcess : IDisposable
{
    private readonly Process _process;

    private ServeProcess(Process process, IReadOnlyList<string> urls)
    {
        _process = process;
        Urls = urls;
    }

    public string Url => Urls[0];

    /// <summary>Every instance's address (<c>--instances</c>), in order.</summary>
    public IReadOnlyList<string> Urls { get; }

    public static async Task<ServeProcess> StartAsync(IEnumerable<string> args, CancellationToken ct, int instances = 1, IReadOnlyDictionary<string, string>? environment = null)
    {
        string configuration = new DirectoryInfo(Path.TrimEndingDirectorySeparator(AppContext.BaseDirectory)).Parent!.Name;
        string vmeco = RepositoryPaths.File("samples", "ConsoleHost", "bin", configuration, "net10.0", OperatingSystem.IsWindows() ? "vmeco.exe" : "vmeco");
        var start = new ProcessStartInfo(vmeco) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[name] = value;
        }

        foreach (var arg in new[] { "serve", "--urls", "http://127.0.0.1:0" }.Concat(args))
        {
            start.ArgumentList.Add(arg);
        }

        var process = Process.Start(start)!;
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                TestContext.Current.TestOutputHelper?.WriteLine("serve: " + e.Data);
            }
        };
        process.BeginErrorReadLine();
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
            timeout.CancelAfter(TimeSpan.FromSeconds(60));
            var urls = new List<string>();
            while (await process.StandardOutput.ReadLineAsync(timeout.Token) is { } line)
            {
                if (Listening().Match(line) is { Success: true } m)
                {
                    urls.Add(m.Groups[1].Value);
                    if (urls.Count == instances)
                    {
                        return new ServeProcess(process, urls);
                    }
                }
            }

            await process.WaitForExitAsync(ct);
            throw new InvalidOperationException($"vmeco serve ended (exit {process.ExitCode}) before listening");
        }
        catch
        {
            Kill(process);
            throw;
        }
    }

    public void Dispose()
    {
        Kill(_process);
        _process.Dispose();
    }

    private static void Kill(Process process)
    {
        try
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
                process.WaitForExit(10_000);
            }
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }
    }

    [GeneratedRegex(@"listening on (http://127\.0\.0\.1:\d+)")]
    private static partial Regex Listening();
}
