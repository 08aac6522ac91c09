using System.Text.RegularExpressions;
using VmEcosystem.TestSupport;

namespace VmEcosystem.Tests.Repository;

/// <summary>
/// Every provider project that implements a provider must have a test project that inherits the conformance
/// suite's coverage guard (which in turn fails when that project forgets a suite).
/// </summary>
public sealed partial class ProviderTestCoverageTests
{
    [Fact]
    public void Every_provider_implementation_has_a_conformance_test_project()
    {
        var providers = Directory.GetDirectories(RepositoryPaths.File("src"), "Providers.*")
            .Where(dir => Directory.EnumerateFiles(dir, "*.cs", SearchOption.AllDirectories)
                .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal))
                .Any(f => DerivesFromProvider().IsMatch(File.ReadAllText(f))))
            .ToArray();
        var missing = new List<string>();
        foreach (var dir in providers)
        {
            string name = Path.GetFileName(dir);
            string tests = RepositoryPaths.File("tests", $"{name}.Tests");
            bool guarded = Directory.Exists(tests) && Directory.EnumerateFiles(tests, "*.cs", SearchOption.AllDirectories)
                .Any(f => File.ReadAllText(f).Contains(": ConformanceCoverage", StringComparison.Ordinal));
            if (!guarded)
            {
                missing.Add(name);
            }
        }

        Assert.True(missing.Count == 0,
            $"Provider projects without a conformance-tested test project (tests/<Project>.Tests with a ConformanceCoverage class): {string.Join(", ", missing)}");
        // The simulator lives in Core; its suites are in this project.
        Assert.Contains(typeof(VmEcosystem.Tests.Simulation.SimulatorConformanceCoverage).Assembly.GetTypes(),
            t => t.BaseType == typeof(VmEcosystem.Conformance.ConformanceCoverage));
    }

    [GeneratedRegex(@":\s*HypervisorProvider\b")]
    private static partial Regex DerivesFromProvider();
}
