using System.Text.RegularExpressions;

namespace VmEcosystem.PostgreSql;

/// <summary>Options of the PostgreSQL stores (section <c>VmEcosystem:PostgreSql</c>); validated when the store opens, naming the setting.</summary>
public sealed partial class PostgreSqlStoreOptions
{
    /// <summary>The Npgsql connection string (<c>Host=...;Database=...;Username=...</c>); required.</summary>
    public string? ConnectionString { get; set; }

    /// <summary>The schema the package creates and migrates its tables in (lower-case identifier; default <c>vmeco</c>).</summary>
    public string Schema { get; set; } = "vmeco";

    /// <summary>Records read per page by a query (10 to 100000; default 1000).</summary>
    public int PageSize { get; set; } = 1000;

    /// <summary>
    /// Also elects a leader among the instances on this database (default false): only the leader of the runtime's
    /// scope (<c>VmEcosystem:Runtime:Leadership</c>) acts, and the audit store refuses the actions of a stale one.
    /// </summary>
    public bool LeaderElection { get; set; }

    internal void Validate()
    {
        const string p = "VmEcosystem:PostgreSql:";
        if (string.IsNullOrWhiteSpace(ConnectionString))
        {
            throw new ArgumentException($"{p}{nameof(ConnectionString)} is required.", nameof(ConnectionString));
        }

        if (Schema is null || !Identifier().IsMatch(Schema))
        {
            throw new ArgumentException($"{p}{nameof(Schema)} must be a lower-case identifier (a-z, 0-9, _; at most 63 characters); got '{Schema}'.", nameof(Schema));
        }

        if (PageSize is < 10 or > 100_000)
        {
            throw new ArgumentException($"{p}{nameof(PageSize)} must be between 10 and 100000; got {PageSize}.", nameof(PageSize));
        }
    }

    [GeneratedRegex("^[a-z_][a-z0-9_]{0,62}$")]
    private static partial Regex Identifier();
}
