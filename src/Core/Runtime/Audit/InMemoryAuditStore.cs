using System.Runtime.CompilerServices;

namespace VmEcosystem.Runtime.Audit;

/// <summary>
/// The default audit store: records in memory, the oldest dropped beyond <see cref="Capacity"/> (so a long-running
/// process does not grow without bound). Use <c>SqliteAuditStore</c> (package VmEcosystem.Sqlite) for a durable trail.
/// </summary>
public sealed class InMemoryAuditStore(int capacity = 1_000_000) : IAuditStore, IRuntimeCheckpointStore
{
    private readonly Lock _gate = new();
    private readonly Dictionary<string, RuntimeCheckpoint> _checkpoints = new(StringComparer.Ordinal);
    private readonly Queue<AuditRecord> _records = new();
    private long _sequence;

    /// <summary>Most records kept.</summary>
    public int Capacity { get; } = capacity > 0 ? capacity : throw new ArgumentOutOfRangeException(nameof(capacity), capacity, "Must be positive.");

    /// <summary>Records held.</summary>
    public int Count
    {
        get
        {
            lock (_gate)
            {
                return _records.Count;
            }
        }
    }

    /// <inheritdoc />
    public ValueTask<AuditRecord> AppendAsync(AuditRecord record, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(record);
        lock (_gate)
        {
            var stored = record with { Sequence = ++_sequence };
            _records.Enqueue(stored);
            while (_records.Count > Capacity)
            {
                _records.Dequeue();
            }

            return ValueTask.FromResult(stored);
        }
    }

    /// <inheritdoc />
    public async IAsyncEnumerable<AuditRecord> QueryAsync(AuditQuery query, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        AuditRecord[] snapshot;
        lock (_gate)
        {
            snapshot = [.. _records];
        }

        int returned = 0, limit = query.Limit is { } l ? Math.Max(0, l) : int.MaxValue;
        if (limit == 0)
        {
            yield break; // as the durable stores: a limit of 0 reads nothing (the audit store contract)
        }

        foreach (var r in snapshot)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (query.Matches(r))
            {
                yield return r;
                if (++returned >= limit)
                {
                    yield break;
                }
            }
        }

        await Task.CompletedTask.ConfigureAwait(false);
    }

    /// <inheritdoc />
    public ValueTask SaveCheckpointAsync(RuntimeCheckpoint checkpoint, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(checkpoint);
        lock (_gate)
        {
            _checkpoints[checkpoint.Name] = checkpoint with { Data = checkpoint.Data.ToArray() };
        }

        return ValueTask.CompletedTask;
    }

    /// <inheritdoc />
    public ValueTask<RuntimeCheckpoint?> LoadCheckpointAsync(string name, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(name);
        lock (_gate)
        {
            return ValueTask.FromResult(_checkpoints.GetValueOrDefault(name));
        }
    }
}
