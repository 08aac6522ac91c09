namespace VmEcosystem.Runtime.Audit;

/// <summary>State kept as the JSON detail of audit records: the last record of each id, read back at start.</summary>
internal static class AuditDetails
{
    /// <summary>
    /// The last readable detail of each id among the records <paramref name="query"/> finds, in the order the ids
    /// were first recorded; a detail <paramref name="read"/> cannot take (null) is skipped.
    /// </summary>
    public static async Task<IReadOnlyList<T>> LastByIdAsync<T>(IAuditStore store, AuditQuery query, Func<string, T?> read, Func<T, string> id, CancellationToken cancellationToken)
        where T : class
    {
        var last = new Dictionary<string, T>(StringComparer.Ordinal);
        var order = new List<string>();
        await foreach (var r in store.QueryAsync(query, cancellationToken).ConfigureAwait(false))
        {
            if (r.Detail is null || read(r.Detail) is not { } entry)
            {
                continue;
            }

            string key = id(entry);
            if (!last.ContainsKey(key))
            {
                order.Add(key);
            }

            last[key] = entry;
        }

        return [.. order.Select(k => last[k])];
    }
}
