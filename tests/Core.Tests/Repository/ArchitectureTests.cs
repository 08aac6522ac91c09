using System.Reflection;
using System.Text.RegularExpressions;
using VmEcosystem.TestSupport;

namespace VmEcosystem.Tests.Repository;

/// <summary>
/// The shape the runtime-controllers work gave the code, kept: small runtime files, small constructors, and folders
/// of <c>src/Core</c> that depend on each other without cycles (each folder is a namespace; another folder is
/// reached only through a <c>using</c> or a qualified name, which is what this reads).
/// </summary>
public sealed partial class ArchitectureTests
{
    private static readonly string Core = RepositoryPaths.File("src", "Core");

    private static IEnumerable<string> SourceFiles(string folder) =>
        Directory.EnumerateFiles(folder, "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal)
                && !f.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}", StringComparison.Ordinal));

    [Fact]
    public void No_runtime_file_is_over_400_lines()
    {
        var large = SourceFiles(Path.Combine(Core, "Runtime"))
            .Select(f => (File: Path.GetRelativePath(Core, f), Lines: File.ReadLines(f).Count()))
            .Where(x => x.Lines > 400)
            .ToList();
        Assert.True(large.Count == 0, "Runtime files over 400 lines: " + string.Join(", ", large.Select(x => $"{x.File} ({x.Lines})")));
    }

    [Fact]
    public void No_constructor_takes_more_than_six_parameters()
    {
        var assembly = typeof(VmEcosystem.Runtime.EcosystemRuntime).Assembly;
        var wide = assembly.GetTypes()
            .Where(t => !t.IsDefined(typeof(System.Runtime.CompilerServices.CompilerGeneratedAttribute), false))
            .SelectMany(t => t.GetConstructors(BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance | BindingFlags.DeclaredOnly)
                .Select(c => (Type: t, Count: c.GetParameters().Length)))
            // Positional records are data, not services: their constructors list their fields.
            .Where(x => x.Count > 6 && x.Type.GetMethod("PrintMembers", BindingFlags.NonPublic | BindingFlags.Instance) is null)
            .Select(x => $"{x.Type.FullName} ({x.Count})")
            .Distinct()
            .ToList();
        Assert.True(wide.Count == 0, "Constructors with more than 6 parameters: " + string.Join(", ", wide));
    }

    [Fact]
    public void Folders_of_core_depend_on_each_other_without_cycles()
    {
        var folders = Directory.GetDirectories(Core).Select(Path.GetFileName).Where(f => f is not ("bin" or "obj")).Cast<string>().ToHashSet(StringComparer.Ordinal);
        var edges = folders.ToDictionary(f => f, _ => new HashSet<string>(StringComparer.Ordinal), StringComparer.Ordinal);
        foreach (var folder in folders)
        {
            foreach (var file in SourceFiles(Path.Combine(Core, folder)))
            {
                string text = File.ReadAllText(file);
                foreach (Match m in Reference().Matches(text))
                {
                    string target = m.Groups["folder"].Value;
                    if (target != folder && folders.Contains(target))
                    {
                        edges[folder].Add(target);
                    }
                }
            }
        }

        var cycle = FindCycle(edges);
        Assert.True(cycle is null, $"Import cycle between folders of src/Core: {string.Join(" -> ", cycle ?? [])}. Dependencies: "
            + string.Join("; ", edges.OrderBy(e => e.Key).Select(e => $"{e.Key} -> {string.Join(", ", e.Value.Order())}")));
    }

    private static List<string>? FindCycle(Dictionary<string, HashSet<string>> edges)
    {
        var state = new Dictionary<string, int>(StringComparer.Ordinal); // 1 visiting, 2 done
        var path = new List<string>();
        List<string>? Visit(string node)
        {
            state[node] = 1;
            path.Add(node);
            foreach (var next in edges[node].Order(StringComparer.Ordinal))
            {
                if (state.GetValueOrDefault(next) == 1)
                {
                    return [.. path[path.IndexOf(next)..], next];
                }

                if (state.GetValueOrDefault(next) == 0 && Visit(next) is { } found)
                {
                    return found;
                }
            }

            path.RemoveAt(path.Count - 1);
            state[node] = 2;
            return null;
        }

        foreach (var node in edges.Keys.Order(StringComparer.Ordinal))
        {
            if (state.GetValueOrDefault(node) == 0 && Visit(node) is { } cycle)
            {
                return cycle;
            }
        }

        return null;
    }

    // `using VmEcosystem.X`, `VmEcosystem.X.Type`, or `X.Type` not preceded by another name (so System.Runtime is not Runtime).
    [GeneratedRegex(@"(?:\bVmEcosystem\.|(?<![\w.]))(?<folder>[A-Z][A-Za-z]+)(?:;|\.[A-Z])")]
    private static partial Regex Reference();
}
