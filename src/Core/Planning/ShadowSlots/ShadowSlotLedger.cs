using VmEcosystem.Cluster;

namespace VmEcosystem.Planning.ShadowSlots;

/// <summary>
/// The per-host ledger of shadow slots: capacity reserved for predicted growth, migrations in flight and operator
/// headroom. Placement sees capacity net of these reservations. Slots are keyed by (owner, kind): reserving again
/// resizes or moves the slot; releasing removes it; <see cref="Sweep"/> drops expired ones, so a forgotten owner
/// never leaks capacity. Thread-safe. Time is passed in (pure), so the ledger is deterministic in tests.
/// </summary>
public sealed class ShadowSlotLedger
{
    private readonly Lock _gate = new();
    private readonly Dictionary<(string Owner, ReservationKind Kind), ShadowSlot> _slots = [];
    private readonly Dictionary<HostId, HostTotals> _totals = [];

    /// <summary>Number of slots.</summary>
    public int Count
    {
        get
        {
            lock (_gate)
            {
                return _slots.Count;
            }
        }
    }

    /// <summary>Creates or replaces the slot of (<paramref name="owner"/>, <paramref name="kind"/>).</summary>
    /// <exception cref="ArgumentException">Negative or non-finite amount, or an empty owner.</exception>
    public ShadowSlot Reserve(string owner, HostId host, ReservationKind kind, ResourceVector amount, DateTimeOffset expires)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(owner);
        if (!amount.IsValidAmount())
        {
            throw new ArgumentException($"Reservation amounts must be finite and non-negative; got {amount}.", nameof(amount));
        }

        var slot = new ShadowSlot(owner, host, kind, amount, expires);
        lock (_gate)
        {
            if (_slots.Remove((owner, kind), out var old))
            {
                Totals(old.Host).Remove(old);
            }

            _slots[(owner, kind)] = slot;
            Totals(host).Add(slot);
        }

        return slot;
    }

    /// <summary>Removes the slot of (<paramref name="owner"/>, <paramref name="kind"/>); false when there was none.</summary>
    public bool Release(string owner, ReservationKind kind)
    {
        lock (_gate)
        {
            if (!_slots.Remove((owner, kind), out var old))
            {
                return false;
            }

            Totals(old.Host).Remove(old);
            return true;
        }
    }

    /// <summary>Removes every slot of an owner.</summary>
    public int ReleaseOwner(string owner)
    {
        int removed = 0;
        foreach (var kind in Enum.GetValues<ReservationKind>())
        {
            removed += Release(owner, kind) ? 1 : 0;
        }

        return removed;
    }

    /// <summary>Removes every slot that expired at or before <paramref name="now"/>; returns how many.</summary>
    public int Sweep(DateTimeOffset now)
    {
        lock (_gate)
        {
            var expired = _slots.Where(kv => kv.Value.Expires <= now).Select(kv => kv.Key).ToList();
            foreach (var key in expired)
            {
                var slot = _slots[key];
                _slots.Remove(key);
                Totals(slot.Host).Remove(slot);
            }

            return expired.Count;
        }
    }

    /// <summary>Total reserved on a host for one kind.</summary>
    public ResourceVector ReservedOn(HostId host, ReservationKind kind)
    {
        lock (_gate)
        {
            return _totals.TryGetValue(host, out var t) ? t.Sum[(int)kind] : ResourceVector.Zero;
        }
    }

    /// <summary>Total reserved on a host, every kind.</summary>
    public ResourceVector ReservedOn(HostId host)
    {
        lock (_gate)
        {
            return _totals.TryGetValue(host, out var t) ? t.Sum[0] + t.Sum[1] + t.Sum[2] : ResourceVector.Zero;
        }
    }

    /// <summary>The slot of (<paramref name="owner"/>, <paramref name="kind"/>), if any.</summary>
    public ShadowSlot? Find(string owner, ReservationKind kind)
    {
        lock (_gate)
        {
            return _slots.GetValueOrDefault((owner, kind));
        }
    }

    /// <summary>A copy of every slot, ordered by host then owner.</summary>
    public IReadOnlyList<ShadowSlot> Snapshot()
    {
        lock (_gate)
        {
            return [.. _slots.Values.OrderBy(s => s.Host.Value, StringComparer.Ordinal).ThenBy(s => s.Owner, StringComparer.Ordinal).ThenBy(s => s.Kind)];
        }
    }

    /// <summary>Number of slots of one kind.</summary>
    public int CountOf(ReservationKind kind)
    {
        lock (_gate)
        {
            return _slots.Keys.Count(k => k.Kind == kind);
        }
    }

    private HostTotals Totals(HostId host)
    {
        if (!_totals.TryGetValue(host, out var t))
        {
            _totals[host] = t = new HostTotals();
        }

        return t;
    }

    private sealed class HostTotals
    {
        public ResourceVector[] Sum { get; } = new ResourceVector[3];

        public void Add(ShadowSlot s) => Sum[(int)s.Kind] += s.Amount;

        // Subtraction can leave -1e-13 dust; clamp so an emptied host reads exactly zero.
        public void Remove(ShadowSlot s) => Sum[(int)s.Kind] = (Sum[(int)s.Kind] - s.Amount).ClampNegative();
    }
}
