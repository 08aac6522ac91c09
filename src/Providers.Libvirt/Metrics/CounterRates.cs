namespace VmEcosystem.Providers.Libvirt.Metrics;

/// <summary>Cumulative counters libvirt reports for one VM (or host), read at one instant.</summary>
/// <param name="CpuTimeNs">CPU time used, ns (for hosts: busy time).</param>
/// <param name="TotalTimeNs">For hosts, busy plus idle time, ns; for VMs unused (0).</param>
/// <param name="RxBytes">Bytes received on every interface.</param>
/// <param name="TxBytes">Bytes sent on every interface.</param>
/// <param name="ReadRequests">Read requests on every disk.</param>
/// <param name="WriteRequests">Write requests on every disk.</param>
/// <param name="ReadBytes">Bytes read from every disk.</param>
/// <param name="WriteBytes">Bytes written to every disk.</param>
internal readonly record struct CounterReading(
    double CpuTimeNs, double TotalTimeNs, double RxBytes, double TxBytes,
    double ReadRequests, double WriteRequests, double ReadBytes, double WriteBytes);

/// <summary>Per-second rates between two readings.</summary>
internal readonly record struct CounterRate(
    double CpuSecondsPerSecond, double BusyFraction, double RxBytesPerSecond, double TxBytesPerSecond,
    double ReadIops, double WriteIops, double ReadBytesPerSecond, double WriteBytesPerSecond);

/// <summary>
/// Turns cumulative counters into rates. Keeps the previous reading per key; when any counter went backwards (the
/// QEMU process was replaced, as after a live migration, or the VM restarted) the old reading is discarded and no
/// rate is given until the next reading, so a reset never shows up as a negative or huge spike. Pure apart from
/// its map; thread-safe.
/// </summary>
internal sealed class CounterRates<TKey>
    where TKey : notnull
{
    private readonly Dictionary<TKey, (CounterReading Reading, long Timestamp)> _last = [];
    private readonly Lock _gate = new();

    /// <summary>Records <paramref name="reading"/> taken at <paramref name="timestamp"/> (ticks of <paramref name="frequency"/>); returns the rate since the previous reading, or null.</summary>
    public CounterRate? Update(TKey key, CounterReading reading, long timestamp, long frequency)
    {
        lock (_gate)
        {
            bool had = _last.TryGetValue(key, out var previous);
            _last[key] = (reading, timestamp);
            if (!had)
            {
                return null;
            }

            double seconds = (timestamp - previous.Timestamp) / (double)frequency;
            var p = previous.Reading;
            if (seconds <= 0 || reading.CpuTimeNs < p.CpuTimeNs || reading.TotalTimeNs < p.TotalTimeNs
                || reading.RxBytes < p.RxBytes || reading.TxBytes < p.TxBytes
                || reading.ReadRequests < p.ReadRequests || reading.WriteRequests < p.WriteRequests
                || reading.ReadBytes < p.ReadBytes || reading.WriteBytes < p.WriteBytes)
            {
                return null; // counter reset: start again from this reading
            }

            double total = reading.TotalTimeNs - p.TotalTimeNs;
            return new CounterRate(
                (reading.CpuTimeNs - p.CpuTimeNs) / 1e9 / seconds,
                total > 0 ? Math.Clamp((reading.CpuTimeNs - p.CpuTimeNs) / total, 0, 1) : 0,
                (reading.RxBytes - p.RxBytes) / seconds,
                (reading.TxBytes - p.TxBytes) / seconds,
                (reading.ReadRequests - p.ReadRequests) / seconds,
                (reading.WriteRequests - p.WriteRequests) / seconds,
                (reading.ReadBytes - p.ReadBytes) / seconds,
                (reading.WriteBytes - p.WriteBytes) / seconds);
        }
    }

    /// <summary>True when a previous reading exists for <paramref name="key"/>.</summary>
    public bool HasBaseline(TKey key)
    {
        lock (_gate)
        {
            return _last.ContainsKey(key);
        }
    }

    /// <summary>Forgets a key (the VM moved away or vanished).</summary>
    public void Forget(TKey key)
    {
        lock (_gate)
        {
            _last.Remove(key);
        }
    }
}
