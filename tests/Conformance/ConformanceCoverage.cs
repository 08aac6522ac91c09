using System.Reflection;
using Xunit;

namespace VmEcosystem.Conformance;

/// <summary>
/// Inherit once in every provider test project: fails when the project forgets to inherit one of the conformance
/// suites, so a new suite cannot silently go untested for a provider.
/// </summary>
public abstract class ConformanceCoverage
{
    /// <summary>Every suite marked with <see cref="ConformanceSuiteAttribute"/>.</summary>
    public static IReadOnlyList<Type> Suites { get; } = typeof(ConformanceCoverage).Assembly.GetTypes()
        .Where(t => t.IsAbstract && t.GetCustomAttribute<ConformanceSuiteAttribute>() is not null)
        .OrderBy(t => t.Name, StringComparer.Ordinal)
        .ToArray();

    [Fact]
    public void Every_conformance_suite_is_inherited_by_this_test_project()
    {
        var concrete = GetType().Assembly.GetTypes().Where(t => !t.IsAbstract && t.IsClass).ToArray();
        var missing = Suites.Where(suite => !concrete.Any(suite.IsAssignableFrom)).Select(s => s.Name).ToArray();
        Assert.True(Suites.Count >= 5, "The conformance assembly lost its suites.");
        Assert.True(missing.Length == 0,
            $"{GetType().Assembly.GetName().Name} does not inherit these conformance suites: {string.Join(", ", missing)}. " +
            "Add a class deriving from each (capability flags skip what the provider cannot do).");
    }
}
