using System.Diagnostics;
using VmEcosystem.TestSupport;

namespace VmEcosystem.IntegrationTests;

/// <summary>A public API change without its PublicAPI.*.txt line fails the build (PublicApiAnalyzers, warnings as errors).</summary>
public sealed class PublicApiBaselineTests
{
    [Fact]
    public async Task Adding_a_public_member_without_its_baseline_line_fails_the_build()
    {
        var ct = TestContext.Current.CancellationToken;
        string scratch = Directory.CreateTempSubdirectory("vmeco-api-").FullName;
        try
        {
            foreach (var file in new[] { "Directory.Build.props", "Directory.Build.targets", "Directory.Packages.props" })
            {
                File.Copy(RepositoryPaths.File(file), Path.Combine(scratch, file));
            }

            CopyTree(RepositoryPaths.File("src", "Core"), Path.Combine(scratch, "src", "Core"));
            await File.WriteAllTextAsync(Path.Combine(scratch, "src", "Core", "ApiProbe.cs"),
                "namespace VmEcosystem;\n\n/// <summary>Probe.</summary>\npublic static class ApiProbe\n{\n    /// <summary>Probe.</summary>\n    public static int Answer() => 42;\n}\n", ct);

            var (exit, output) = await RunAsync(scratch, "build src/Core/VmEcosystem.csproj -c Release -nologo", ct);
            Assert.NotEqual(0, exit);
            Assert.Contains("RS0016", output, StringComparison.Ordinal);
            Assert.Contains("VmEcosystem.ApiProbe.Answer() -> int", output, StringComparison.Ordinal);

            // With its line in PublicAPI.Unshipped.txt, the same change builds.
            await File.AppendAllTextAsync(Path.Combine(scratch, "src", "Core", "PublicAPI.Unshipped.txt"),
                "VmEcosystem.ApiProbe\nstatic VmEcosystem.ApiProbe.Answer() -> int\n", ct);
            (exit, output) = await RunAsync(scratch, "build src/Core/VmEcosystem.csproj -c Release -nologo", ct);
            Assert.True(exit == 0, output);
        }
        finally
        {
            Directory.Delete(scratch, recursive: true);
        }
    }

    private static void CopyTree(string from, string to)
    {
        foreach (var dir in Directory.EnumerateDirectories(from, "*", SearchOption.AllDirectories))
        {
            string rel = Path.GetRelativePath(from, dir);
            if (!rel.Split(Path.DirectorySeparatorChar).Any(p => p is "bin" or "obj"))
            {
                Directory.CreateDirectory(Path.Combine(to, rel));
            }
        }

        Directory.CreateDirectory(to);
        foreach (var file in Directory.EnumerateFiles(from, "*", SearchOption.AllDirectories))
        {
            string rel = Path.GetRelativePath(from, file);
            if (!rel.Split(Path.DirectorySeparatorChar).Any(p => p is "bin" or "obj"))
            {
                File.Copy(file, Path.Combine(to, rel));
            }
        }
    }

    private static async Task<(int Exit, string Output)> RunAsync(string directory, string arguments, CancellationToken ct)
    {
        var start = new ProcessStartInfo("dotnet", arguments) { WorkingDirectory = directory, RedirectStandardOutput = true, RedirectStandardError = true };
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        start.Environment["DOTNET_NOLOGO"] = "1";
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync(ct);
        var stderr = process.StandardError.ReadToEndAsync(ct);
        await process.WaitForExitAsync(ct);
        return (process.ExitCode, await stdout + await stderr);
    }
}
