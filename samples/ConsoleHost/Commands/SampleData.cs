namespace VmEcosystem.ConsoleHost.Commands;

/// <summary>Where the shipped PlanetLab day lives (copied next to the executable).</summary>
internal static class SampleData
{
    public const string Day = "20110303";

    public static string DefaultTraceDirectory => Path.Combine(AppContext.BaseDirectory, "data", "planetlab", Day);
}
