using System.Runtime.InteropServices;
using VmEcosystem.Cluster;
using VmEcosystem.Hypervisor;
using VmEcosystem.Providers.Libvirt.Metrics;
using VmEcosystem.Providers.Libvirt.Native;

namespace VmEcosystem.Providers.Libvirt;

/// <summary>
/// Metrics from <c>virConnectGetAllDomainStats</c> (CPU time, balloon, interface and block counters) and node CPU/memory
/// statistics. Rates come from <see cref="CounterRates{TKey}"/>, which restarts a VM's baseline when its counters
/// reset (CPU time restarts on the destination after a live migration).
/// </summary>
internal sealed partial class LibvirtHypervisor
{
    private const uint DomainStatGroups = LibvirtNative.StatsState | LibvirtNative.StatsCpuTotal | LibvirtNative.StatsBalloon
        | LibvirtNative.StatsVcpu | LibvirtNative.StatsInterface | LibvirtNative.StatsBlock;

    // Hosts whose driver refused a dirty-rate measurement (not QEMU, or too old): not asked again.
    private readonly System.Collections.Concurrent.ConcurrentDictionary<HostId, bool> _noDirtyRate = new();

    /// <summary>One VM's raw reading.</summary>
    private readonly record struct DomainReading(VmId Vm, HostId Host, int Vcpus, double CoreMhz, double MemoryMiB, CounterReading Counters, long Timestamp,
        double? DirtyMiBps);

    /// <inheritdoc />
    protected override async Task<IReadOnlyList<VmMetricSample>> GetVmMetricsCoreAsync(IReadOnlyCollection<VmId>? vms, CancellationToken cancellationToken)
    {
        var wanted = vms?.ToHashSet();
        var first = await ReadAllDomainsAsync(cancellationToken).ConfigureAwait(false);
        if (wanted is not null)
        {
            foreach (var vm in wanted)
            {
                if (!first.Any(r => r.Vm == vm))
                {
                    throw new HypervisorException(HypervisorErrorKind.NotFound,
                        $"VM '{vm}' is not running on any reachable libvirt host, so it has no metrics.", Name, "GetVmMetrics");
                }
            }
        }

        var rates = new Dictionary<VmId, (DomainReading Reading, CounterRate Rate)>();
        var needSecond = false;
        foreach (var r in first)
        {
            if (wanted is not null && !wanted.Contains(r.Vm))
            {
                continue;
            }

            if (_vmRates.Update((r.Host, r.Vm.Value), r.Counters, r.Timestamp, TimeProvider.TimestampFrequency) is { } rate)
            {
                rates[r.Vm] = (r, rate);
            }
            else
            {
                needSecond = true;
            }
        }

        if (needSecond)
        {
            // First sight of a VM, or its counters restarted: read again shortly so every VM gets a real rate.
            await Task.Delay(_options.FirstSampleInterval, TimeProvider, cancellationToken).ConfigureAwait(false);
            foreach (var r in await ReadAllDomainsAsync(cancellationToken).ConfigureAwait(false))
            {
                if ((wanted is null || wanted.Contains(r.Vm)) && !rates.ContainsKey(r.Vm)
                    && _vmRates.Update((r.Host, r.Vm.Value), r.Counters, r.Timestamp, TimeProvider.TimestampFrequency) is { } rate)
                {
                    rates[r.Vm] = (r, rate);
                }
            }
        }

        var now = TimeProvider.GetUtcNow();
        return rates.Values.Select(x => ToSample(x.Reading, x.Rate, now)).OrderBy(s => s.Vm.Value, StringComparer.Ordinal).ToArray();
    }

    private static VmMetricSample ToSample(DomainReading r, CounterRate rate, DateTimeOffset now)
    {
        double utilisation = Math.Clamp(rate.CpuSecondsPerSecond / Math.Max(1, r.Vcpus), 0, 1);
        return new VmMetricSample
        {
            Vm = r.Vm,
            Timestamp = now,
            CpuUtilization = utilisation,
            CpuMhz = utilisation * r.Vcpus * r.CoreMhz,
            MemoryMiB = r.MemoryMiB,
            NetworkRxMbps = rate.RxBytesPerSecond * 8 / 1e6,
            NetworkTxMbps = rate.TxBytesPerSecond * 8 / 1e6,
            DiskReadIops = rate.ReadIops,
            DiskWriteIops = rate.WriteIops,
            DiskReadBytesPerSecond = rate.ReadBytesPerSecond,
            DiskWriteBytesPerSecond = rate.WriteBytesPerSecond,
            DirtyMiBPerSecond = r.DirtyMiBps,
        };
    }

    private async Task<List<DomainReading>> ReadAllDomainsAsync(CancellationToken ct)
    {
        var perHost = await Task.WhenAll(_connections.Values.Select(c => SkipIfUnreachableAsync(c, OnHostAsync(c, ct, h => ReadDomains(c, h)), []))).ConfigureAwait(false);
        var all = new List<DomainReading>();
        var seen = new HashSet<VmId>();
        foreach (var r in perHost.SelectMany(x => x).OrderBy(r => r.Host == HostOfOrDefault(r.Vm) ? 0 : 1))
        {
            if (seen.Add(r.Vm))
            {
                all.Add(r); // a VM caught mid-migration on both hosts is sampled where it was last placed
            }
        }

        return all;
    }

    private HostId? HostOfOrDefault(VmId vm)
    {
        lock (_placementGate)
        {
            return _hostOf.TryGetValue(vm, out var h) ? h : null;
        }
    }

    private unsafe List<DomainReading> ReadDomains(LibvirtConnection c, ConnectionHandle h)
    {
        var node = _nodeInfo.TryGetValue(c.Host, out var n) ? n : ReadNodeInfo(c, h);
        bool measure = _options.MeasureDirtyRate && !_noDirtyRate.ContainsKey(c.Host);
        // A group the driver does not know is ignored (no ENFORCE_STATS flag), so asking is safe everywhere.
        uint groups = measure ? DomainStatGroups | LibvirtNative.StatsDirtyRate : DomainStatGroups;
        int count = LibvirtNative.virConnectGetAllDomainStats(h, groups, out IntPtr records, LibvirtNative.ListDomainsActive);
        if (count < 0)
        {
            throw LibvirtErrors.Fail($"Reading domain statistics of host '{c.Host}'");
        }

        long timestamp = TimeProvider.GetTimestamp();
        var list = new List<DomainReading>(count);
        try
        {
            var array = (IntPtr*)records;
            for (int i = 0; i < count; i++)
            {
                var record = Marshal.PtrToStructure<LibvirtNative.DomainStatsRecord>(array[i]);
                string? name = Marshal.PtrToStringUTF8(LibvirtNative.virDomainGetName(record.Domain));
                if (name is null)
                {
                    continue;
                }

                var stats = TypedParameterReader.Numbers(record.Params, record.ParamCount);
                if (stats.TryGetValue("state.state", out double state) && state is not (LibvirtNative.DomainRunning or LibvirtNative.DomainBlocked))
                {
                    continue; // paused (incoming migration, suspended) domains do no work worth sampling
                }

                double? dirty = measure ? DirtyRate(c.Host, record.Domain, stats) : null;
                list.Add(ToReading(h, record.Domain, name, c.Host, node, stats, timestamp) with { DirtyMiBps = dirty });
            }
        }
        finally
        {
            if (records != IntPtr.Zero)
            {
                LibvirtNative.virDomainStatsRecordListFree(records);
            }
        }

        return list;
    }

    private static DomainReading ToReading(ConnectionHandle h, IntPtr domain, string name, HostId host, LibvirtNative.NodeInfo node,
        Dictionary<string, double> stats, long timestamp)
    {
        double cpuNs, memoryKiB, vcpus;
        if (stats.TryGetValue("cpu.time", out cpuNs) && stats.TryGetValue("balloon.current", out memoryKiB) && stats.TryGetValue("vcpu.current", out vcpus))
        {
            // The usual case (QEMU): everything came in the one bulk call.
        }
        else
        {
            // Drivers without the statistics groups (libvirt's test driver returns only the state) fall back to
            // per-domain calls.
            using var d = SecondReference(domain);
            LibvirtNative.virDomainGetInfo(d, out var info);
            int live = LibvirtNative.virDomainGetVcpusFlags(d, LibvirtNative.AffectLive);
            LibvirtNative.virResetLastError();
            cpuNs = stats.TryGetValue("cpu.time", out double t) ? t : info.CpuTimeNs;
            memoryKiB = stats.TryGetValue("balloon.current", out double m) ? m : info.MemoryKiB;
            vcpus = live > 0 ? live : Math.Max(1, (int)info.VirtCpus);
        }

        var counters = new CounterReading(
            cpuNs, 0,
            Sum(stats, "net.", ".rx.bytes"), Sum(stats, "net.", ".tx.bytes"),
            Sum(stats, "block.", ".rd.reqs"), Sum(stats, "block.", ".wr.reqs"),
            Sum(stats, "block.", ".rd.bytes"), Sum(stats, "block.", ".wr.bytes"));
        return new DomainReading(new VmId(name), host, (int)Math.Max(1, vcpus), node.Mhz, memoryKiB / 1024.0, counters, timestamp, null);
    }

    /// <summary>
    /// The rate the last finished measurement found (QEMU reports MiB/s, integer), and a new measurement started
    /// when none is running, for the next read. Null until a first measurement has finished.
    /// </summary>
    private double? DirtyRate(HostId host, IntPtr domain, Dictionary<string, double> stats)
    {
        double? measured = stats.TryGetValue("dirtyrate.calc_status", out double status) && status == LibvirtNative.DirtyRateMeasured
            && stats.TryGetValue("dirtyrate.megabytes_per_second", out double mibps) && mibps >= 0 ? mibps : null;
        if (status != LibvirtNative.DirtyRateMeasuring
            && LibvirtNative.virDomainStartDirtyRateCalc(domain, (int)_options.DirtyRatePeriod.TotalSeconds, 0) < 0)
        {
            // Unsupported here (test driver, old QEMU): stop asking this host; the runtime estimates instead.
            LibvirtNative.virResetLastError();
            _noDirtyRate[host] = true;
        }

        return measured;
    }

    /// <summary>A second reference to a domain pointer owned by a stats record, released independently (no round trip).</summary>
    private static DomainHandle SecondReference(IntPtr domain)
    {
        if (LibvirtNative.virDomainRef(domain) < 0)
        {
            throw LibvirtErrors.Fail("Referencing a domain");
        }

        return DomainHandle.Own(domain);
    }

    private static double Sum(Dictionary<string, double> stats, string prefix, string suffix)
    {
        double sum = 0;
        foreach (var (key, value) in stats)
        {
            if (key.StartsWith(prefix, StringComparison.Ordinal) && key.EndsWith(suffix, StringComparison.Ordinal) && double.IsFinite(value))
            {
                sum += value;
            }
        }

        return sum;
    }

    /// <inheritdoc />
    protected override async Task<IReadOnlyList<HostMetricSample>> GetHostMetricsCoreAsync(CancellationToken cancellationToken)
    {
        var samples = await Task.WhenAll(_connections.Values.Select(c =>
            SkipIfUnreachableAsync(c, SampleHostAsync(c, cancellationToken), null)))
            .ConfigureAwait(false);
        return [.. samples.OfType<HostMetricSample>()];
    }

    /// <summary>
    /// One unreachable host must not blind the whole cluster: its samples are left out (it is listed Offline in the
    /// inventory) and the others are returned.
    /// </summary>
    private async Task<T> SkipIfUnreachableAsync<T>(LibvirtConnection c, Task<T> read, T fallback)
    {
        try
        {
            return await read.ConfigureAwait(false);
        }
        catch (HypervisorException ex) when (ex.IsTransient)
        {
            LogHostUnreachable(Logger, c.Host.Value, ex.Message);
            return fallback;
        }
    }

    private async Task<HostMetricSample?> SampleHostAsync(LibvirtConnection c, CancellationToken ct)
    {
        var reading = await OnHostAsync(c, ct, h => ReadNode(c, h)).ConfigureAwait(false);
        var rate = _hostRates.Update(c.Host, reading.Counters, reading.Timestamp, TimeProvider.TimestampFrequency);
        if (rate is null)
        {
            await Task.Delay(_options.FirstSampleInterval, TimeProvider, ct).ConfigureAwait(false);
            reading = await OnHostAsync(c, ct, h => ReadNode(c, h)).ConfigureAwait(false);
            rate = _hostRates.Update(c.Host, reading.Counters, reading.Timestamp, TimeProvider.TimestampFrequency);
        }

        return new HostMetricSample
        {
            Host = c.Host,
            Timestamp = TimeProvider.GetUtcNow(),
            CpuUtilization = rate?.BusyFraction ?? 0,
            MemoryUsedMiB = reading.MemoryUsedMiB,
        };
    }

    private unsafe (CounterReading Counters, double MemoryUsedMiB, long Timestamp) ReadNode(LibvirtConnection c, ConnectionHandle h)
    {
        var cpu = ReadNodeStats(h, memory: false);
        long timestamp = TimeProvider.GetTimestamp();
        if (cpu is null)
        {
            throw LibvirtErrors.Fail($"Reading CPU statistics of host '{c.Host}'");
        }

        double idle = cpu.GetValueOrDefault("idle") + cpu.GetValueOrDefault("iowait");
        double busy = cpu.Where(kv => kv.Key is not ("idle" or "iowait" or "utilization")).Sum(kv => kv.Value);
        double used;
        if (ReadNodeStats(h, memory: true) is { } mem && mem.TryGetValue("total", out double total))
        {
            used = (total - mem.GetValueOrDefault("free") - mem.GetValueOrDefault("buffers") - mem.GetValueOrDefault("cached")) / 1024.0;
        }
        else
        {
            // Drivers without node memory statistics (the test driver): the memory held by running domains.
            used = ReadDomains(c, h).Sum(r => r.MemoryMiB);
        }

        return (new CounterReading(busy, busy + idle, 0, 0, 0, 0, 0, 0), Math.Max(0, used), timestamp);
    }

    private static unsafe Dictionary<string, double>? ReadNodeStats(ConnectionHandle h, bool memory)
    {
        int n = 0;
        int rc = memory
            ? LibvirtNative.virNodeGetMemoryStats(h, LibvirtNative.NodeMemoryStatsAllCells, null, ref n, 0)
            : LibvirtNative.virNodeGetCPUStats(h, LibvirtNative.NodeCpuStatsAllCpus, null, ref n, 0);
        if (rc < 0 || n <= 0)
        {
            LibvirtNative.virResetLastError();
            return null;
        }

        var buffer = new LibvirtNative.NodeStat[n];
        fixed (LibvirtNative.NodeStat* p = buffer)
        {
            rc = memory
                ? LibvirtNative.virNodeGetMemoryStats(h, LibvirtNative.NodeMemoryStatsAllCells, p, ref n, 0)
                : LibvirtNative.virNodeGetCPUStats(h, LibvirtNative.NodeCpuStatsAllCpus, p, ref n, 0);
            if (rc < 0)
            {
                LibvirtNative.virResetLastError();
                return null;
            }

            var map = new Dictionary<string, double>(n, StringComparer.Ordinal);
            for (int i = 0; i < n; i++)
            {
                map[LibvirtNative.FieldString(p[i].Field, 80)] = p[i].Value;
            }

            return map;
        }
    }
}
