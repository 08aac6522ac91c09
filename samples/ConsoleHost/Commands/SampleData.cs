namespace VmEcosystem.ConsoleHost.Commands;

/// <summary>Where the shipped data lives (copied next to the executable).</summary>
internal static class SampleData
{
    public const string Day = "20110303";

    public static string DefaultTraceDirectory => Path.Combine(AppContext.BaseDirectory, "data", "planetlab", Day);

    /// <summary>The resizing policies `benchmark resizing` and `simulate --resize` use unless given others.</summary>
    public static string DefaultResizingPolicies => Path.Combine(AppContext.BaseDirectory, "data", "resizing-policies.json");

    /// <summary>The policies `benchmark resizing` uses by default: a controller ticking every minute (memory looks 2 minutes ahead, past its hot-plug delay).</summary>
    public static string MinuteResizingPolicies => Path.Combine(AppContext.BaseDirectory, "data", "resizing-policies-minute.json");

    /// <summary>The policies of `benchmark borrowing`: a tenant's conservative resizing (grow above 80 %, shrink below 40 % after 30 min) with loan rules.</summary>
    public static string DefaultBorrowingPolicies => Path.Combine(AppContext.BaseDirectory, "data", "borrowing-policies.json");
}
