namespace VmEcosystem.Simulation;

/// <summary>
/// A <see cref="TimeProvider"/> whose time moves only when told to. Timers fire in due-time order as the clock
/// is advanced past them, each with the clock set to its due time, so a simulated day runs in seconds and
/// identically every time. Thread-safe; callbacks run on the thread that advances the clock.
/// </summary>
public sealed class VirtualClock : TimeProvider
{
    private readonly Lock _gate = new();
    private readonly List<VirtualTimer> _timers = [];
    private DateTimeOffset _now;
    private long _sequence;

    /// <summary>Creates a clock starting at <paramref name="start"/> (default: 2026-01-01T00:00:00Z).</summary>
    public VirtualClock(DateTimeOffset? start = null) => _now = start ?? new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    /// <inheritdoc />
    public override TimeZoneInfo LocalTimeZone => TimeZoneInfo.Utc;

    /// <inheritdoc />
    public override long TimestampFrequency => TimeSpan.TicksPerSecond;

    /// <summary>Number of armed timers.</summary>
    public int PendingTimers
    {
        get
        {
            lock (_gate)
            {
                return _timers.Count(t => t.Due is not null);
            }
        }
    }

    /// <summary>When the next timer fires, or null when none is armed.</summary>
    public DateTimeOffset? NextDue
    {
        get
        {
            lock (_gate)
            {
                return Earliest()?.Due;
            }
        }
    }

    /// <inheritdoc />
    public override DateTimeOffset GetUtcNow()
    {
        lock (_gate)
        {
            return _now;
        }
    }

    /// <inheritdoc />
    public override long GetTimestamp() => GetUtcNow().UtcTicks;

    /// <inheritdoc />
    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        ArgumentNullException.ThrowIfNull(callback);
        var timer = new VirtualTimer(this, callback, state);
        lock (_gate)
        {
            _timers.Add(timer);
            timer.Arm(_now, dueTime, period, ++_sequence);
        }

        return timer;
    }

    /// <summary>Moves the clock forward by <paramref name="delta"/>, firing every timer that falls due on the way.</summary>
    public void Advance(TimeSpan delta)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(delta, TimeSpan.Zero);
        AdvanceTo(GetUtcNow() + delta);
    }

    /// <summary>Moves the clock to <paramref name="target"/>, firing every timer that falls due on the way.</summary>
    public void AdvanceTo(DateTimeOffset target)
    {
        while (true)
        {
            VirtualTimer? next;
            lock (_gate)
            {
                if (target < _now)
                {
                    throw new ArgumentOutOfRangeException(nameof(target), target, $"The clock is already at {_now:O}; it never goes back.");
                }

                next = Earliest();
                if (next is null || next.Due > target)
                {
                    _now = target;
                    return;
                }

                _now = next.Due!.Value;
                next.Rearm(++_sequence);
            }

            next.Fire();
        }
    }

    /// <summary>
    /// Advances to the next timer's due time and fires that one timer only; false when none is armed. Timers due at
    /// the same instant fire one per call, in the order they were armed, so a driver that waits for the runtime to be
    /// idle between calls sees their work done in that order (firing them together let the loops they wake race:
    /// a planning pass could run before or after the observation due at the same tick).
    /// </summary>
    public bool AdvanceToNextTimer()
    {
        VirtualTimer? next;
        lock (_gate)
        {
            next = Earliest();
            if (next is null)
            {
                return false;
            }

            _now = next.Due!.Value;
            next.Rearm(++_sequence);
        }

        next.Fire();
        return true;
    }

    private VirtualTimer? Earliest()
    {
        VirtualTimer? best = null;
        foreach (var t in _timers)
        {
            if (t.Due is { } due && (best is null || due < best.Due || (due == best.Due && t.Sequence < best.Sequence)))
            {
                best = t;
            }
        }

        return best;
    }

    private void Remove(VirtualTimer timer)
    {
        lock (_gate)
        {
            timer.Disarm();
            _timers.Remove(timer);
        }
    }

    private void Change(VirtualTimer timer, TimeSpan dueTime, TimeSpan period)
    {
        lock (_gate)
        {
            timer.Arm(_now, dueTime, period, ++_sequence);
        }
    }

    private sealed class VirtualTimer(VirtualClock clock, TimerCallback callback, object? state) : ITimer
    {
        private TimeSpan _period = Timeout.InfiniteTimeSpan;

        public DateTimeOffset? Due { get; private set; }

        public long Sequence { get; private set; }

        public void Arm(DateTimeOffset now, TimeSpan dueTime, TimeSpan period, long sequence)
        {
            _period = period;
            Sequence = sequence;
            Due = dueTime == Timeout.InfiniteTimeSpan ? null : now + (dueTime < TimeSpan.Zero ? TimeSpan.Zero : dueTime);
        }

        // Called with the clock's lock held, before firing: periodic timers move on, one-shot timers disarm.
        public void Rearm(long sequence)
        {
            Sequence = sequence;
            Due = _period == Timeout.InfiniteTimeSpan || _period <= TimeSpan.Zero ? null : Due + _period;
        }

        public void Fire() => callback(state);

        public bool Change(TimeSpan dueTime, TimeSpan period)
        {
            clock.Change(this, dueTime, period);
            return true;
        }

        // Disarmed under the clock's lock, so a concurrent AdvanceTo never sees a timer half-disposed.
        public void Dispose() => clock.Remove(this);

        public void Disarm() => Due = null;

        public ValueTask DisposeAsync()
        {
            Dispose();
            return ValueTask.CompletedTask;
        }
    }
}
