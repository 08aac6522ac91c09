namespace VmEcosystem.TestSupport;

/// <summary>Locates the repository and the data shipped in it, from any test's working directory.</summary>
public static class RepositoryPaths
{
    private static readonly Lazy<string> RootPath = new(() =>
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (System.IO.File.Exists(Path.Combine(dir.FullName, "Library.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"No Library.sln above {AppContext.BaseDirectory}.");
    });

    /// <summary>The repository root (the folder with Library.sln).</summary>
    public static string Root => RootPath.Value;

    /// <summary>The PlanetLab day shipped with the sample (20110303).</summary>
    public static string ShippedPlanetLabDay => Path.Combine(Root, "samples", "ConsoleHost", "data", "planetlab", "20110303");

    /// <summary>A file under the repository root.</summary>
    public static string File(params string[] parts) => Path.Combine([Root, .. parts]);
}
