namespace VmEcosystem.Sqlite;

/// <summary>Options of <see cref="SqliteAuditStore"/>; bound from <c>VmEcosystem:Audit:Sqlite</c> by the sample.</summary>
public sealed class SqliteAuditOptions
{
    /// <summary>
    /// How long a write waits for a database locked by another process before it fails (whole seconds, 1 to 60;
    /// default 1 s). Short on purpose: the runtime writes in the background and retries, it never waits inline.
    /// </summary>
    public TimeSpan BusyTimeout { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Records older than this (before the newest record) are deleted; null keeps every record. At least one hour.</summary>
    public TimeSpan? Retention { get; set; }

    /// <summary>Records read per page by a query (10 to 100000; default 1000).</summary>
    public int PageSize { get; set; } = 1000;

    internal void Validate()
    {
        const string p = "VmEcosystem:Audit:Sqlite:";
        if (BusyTimeout < TimeSpan.FromSeconds(1) || BusyTimeout > TimeSpan.FromSeconds(60))
        {
            throw new ArgumentException($"{p}{nameof(BusyTimeout)} must be between 1 and 60 seconds; got {BusyTimeout}.", nameof(BusyTimeout));
        }

        if (Retention is { } r && (r < TimeSpan.FromHours(1) || r > TimeSpan.FromDays(36_500)))
        {
            throw new ArgumentException($"{p}{nameof(Retention)} must be between 1 hour and 36500 days, or null; got {r}.", nameof(Retention));
        }

        if (PageSize is < 10 or > 100_000)
        {
            throw new ArgumentException($"{p}{nameof(PageSize)} must be between 10 and 100000; got {PageSize}.", nameof(PageSize));
        }
    }
}
