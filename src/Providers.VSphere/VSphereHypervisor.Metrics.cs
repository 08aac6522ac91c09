using System.Globalization;
using System.Xml.Linq;
using VmEcosystem.Cluster;
using VmEcosystem.Hypervisor;
using VmEcosystem.Providers.VSphere.Soap;
using static VmEcosystem.Providers.VSphere.Soap.Vim;

namespace VmEcosystem.Providers.VSphere;

/// <summary>
/// Metrics from <c>PerformanceManager.QueryPerf</c>: the newest real-time (20 s) sample of each counter, counter ids
/// resolved once by name from <c>perfCounter</c>, one call per batch of entities.
/// </summary>
internal sealed partial class VSphereHypervisor
{
    private const int RealTimeInterval = 20;
    private const int EntitiesPerQuery = 100;
    private static readonly string[] VmCounters =
    [
        "cpu.usagemhz.average", "cpu.usage.average", "mem.consumed.average", "virtualDisk.numberReadAveraged.average",
        "virtualDisk.numberWriteAveraged.average", "virtualDisk.read.average", "virtualDisk.write.average", "net.received.average", "net.transmitted.average",
    ];

    private static readonly string[] HostCounters = ["cpu.usage.average", "mem.consumed.average"];
    private IReadOnlyDictionary<string, int>? _counters;

    protected override Task<IReadOnlyList<VmMetricSample>> GetVmMetricsCoreAsync(IReadOnlyCollection<VmId>? vms, CancellationToken cancellationToken) =>
        VimAsync("GetVmMetrics", "VM metrics", async () =>
        {
            // VMs asked for by id are checked against a fresh read: QueryPerf answers for deleted VMs too (vcsim with
            // canned data), and a sample of a VM that no longer exists must not reach the forecasters.
            var inventory = vms is null ? await KnownInventoryAsync(cancellationToken).ConfigureAwait(false)
                : await GetInventoryCoreAsync(cancellationToken).ConfigureAwait(false);
            if (vms?.FirstOrDefault(v => !inventory.TryGetVm(v, out _)) is { Value: not null } missing)
            {
                throw VmNotFound(missing, "GetVmMetrics");
            }

            var selected = (vms ?? inventory.Vms.Where(v => v.State == VmPowerState.Running).Select(v => v.Id).ToArray()).Distinct().ToArray();
            Dictionary<string, PerfValues> values;
            try
            {
                values = await QueryLatestAsync("VirtualMachine", selected.Select(v => v.Value).ToArray(), VmCounters, cancellationToken).ConfigureAwait(false);
            }
            catch (VimFault fault) when (fault.Kind == HypervisorErrorKind.NotFound && vms is null)
            {
                // A VM of the last inventory read was deleted since: read the inventory again and ask once more.
                inventory = await GetInventoryCoreAsync(cancellationToken).ConfigureAwait(false);
                selected = inventory.Vms.Where(v => v.State == VmPowerState.Running).Select(v => v.Id).ToArray();
                values = await QueryLatestAsync("VirtualMachine", selected.Select(v => v.Value).ToArray(), VmCounters, cancellationToken).ConfigureAwait(false);
            }
            var now = TimeProvider.GetUtcNow();
            var samples = new List<VmMetricSample>(selected.Length);
            foreach (var id in selected)
            {
                values.TryGetValue(id.Value, out var v);
                samples.Add(new VmMetricSample
                {
                    Vm = id,
                    Timestamp = v?.Timestamp ?? now,
                    CpuMhz = Get(v, "cpu.usagemhz.average"),
                    CpuUtilization = Math.Clamp(Get(v, "cpu.usage.average") / 10_000, 0, 1), // hundredths of a percent
                    MemoryMiB = Get(v, "mem.consumed.average") / 1024, // KB
                    DiskReadIops = Get(v, "virtualDisk.numberReadAveraged.average"),
                    DiskWriteIops = Get(v, "virtualDisk.numberWriteAveraged.average"),
                    DiskReadBytesPerSecond = Get(v, "virtualDisk.read.average") * 1024, // KBps
                    DiskWriteBytesPerSecond = Get(v, "virtualDisk.write.average") * 1024,
                    NetworkRxMbps = Get(v, "net.received.average") * 8 * 1024 / 1e6, // KBps
                    NetworkTxMbps = Get(v, "net.transmitted.average") * 8 * 1024 / 1e6,
                });
            }

            return (IReadOnlyList<VmMetricSample>)samples;
        });

    protected override Task<IReadOnlyList<HostMetricSample>> GetHostMetricsCoreAsync(CancellationToken cancellationToken) =>
        VimAsync("GetHostMetrics", "host metrics", async () =>
        {
            var inventory = await GetInventoryCoreAsync(cancellationToken).ConfigureAwait(false);
            var values = await QueryLatestAsync("HostSystem", inventory.Hosts.Select(h => h.Id.Value).ToArray(), HostCounters, cancellationToken).ConfigureAwait(false);
            var now = TimeProvider.GetUtcNow();
            return (IReadOnlyList<HostMetricSample>)inventory.Hosts.Select(h =>
            {
                values.TryGetValue(h.Id.Value, out var v);
                return new HostMetricSample
                {
                    Host = h.Id,
                    Timestamp = v?.Timestamp ?? now,
                    CpuUtilization = Math.Clamp(Get(v, "cpu.usage.average") / 10_000, 0, 1),
                    MemoryUsedMiB = Get(v, "mem.consumed.average") / 1024,
                };
            }).ToArray();
        });

    private static double Get(PerfValues? values, string counter) =>
        values is not null && values.ByCounter.TryGetValue(counter, out double v) && double.IsFinite(v) && v >= 0 ? v : 0;

    /// <summary>The newest sample of each counter for each entity (by id), from real-time queries of one sample each.</summary>
    private async Task<Dictionary<string, PerfValues>> QueryLatestAsync(string type, string[] entities, string[] counterNames, CancellationToken cancellationToken)
    {
        var ids = await CounterIdsAsync(cancellationToken).ConfigureAwait(false);
        var wanted = counterNames.Where(ids.ContainsKey).ToArray();
        var names = wanted.ToDictionary(n => ids[n], n => n);
        var result = new Dictionary<string, PerfValues>(StringComparer.Ordinal);
        foreach (var batch in entities.Chunk(EntitiesPerQuery))
        {
            // maxSample=1: the newest 20 s sample. Without maxSample vcsim returns nothing; with more than one, a
            // series with dropped zero values could not be paired with its timestamps.
            var r = await _session.CallAsync(c => E("QueryPerf", This(c.PerfManager), batch.Select(entity => E("querySpec",
                Ref("entity", new Mor(type, entity)), E("maxSample", "1"),
                wanted.Select(n => E("metricId", E("counterId", Text(ids[n])), E("instance", ""))), E("intervalId", Text(RealTimeInterval))))),
                idempotent: true, cancellationToken).ConfigureAwait(false);
            foreach (var entity in r.Children("returnval"))
            {
                var mor = Mor.From(entity.Child("entity")!);
                var times = entity.Children("sampleInfo").Select(s => s.Path("timestamp")).Select(t => DateTimeOffset.Parse(t!, CultureInfo.InvariantCulture)).ToArray();
                var byCounter = new Dictionary<string, double>(StringComparer.Ordinal);
                foreach (var series in entity.Children("value"))
                {
                    if (series.Long("id/counterId") is { } cid && names.TryGetValue((int)cid, out var name)
                        && PerfPairing.Newest(times, series.Children("value").Select(v => double.Parse(v.Value, CultureInfo.InvariantCulture)).ToArray()) is { } value)
                    {
                        byCounter[name] = value;
                    }
                }

                result[mor.Value] = new PerfValues(times.Length > 0 ? times.Max() : null, byCounter);
            }
        }

        return result;
    }

    /// <summary>Counter ids by <c>group.name.rollup</c>, read once from the performance manager's <c>perfCounter</c>.</summary>
    private async Task<IReadOnlyDictionary<string, int>> CounterIdsAsync(CancellationToken cancellationToken)
    {
        if (_counters is { } known)
        {
            return known;
        }

        var content = await _session.ContentAsync(cancellationToken).ConfigureAwait(false);
        var perf = await _reader.ReadOneAsync(content.PerfManager, ["perfCounter"], cancellationToken).ConfigureAwait(false);
        var map = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var info in perf.Value("perfCounter")?.Children("PerfCounterInfo") ?? [])
        {
            string name = $"{info.Path("groupInfo/key")}.{info.Path("nameInfo/key")}.{info.Path("rollupType")}";
            if (info.Long("key") is { } key)
            {
                map.TryAdd(name, (int)key);
            }
        }

        _counters = map;
        return map;
    }

    private sealed record PerfValues(DateTimeOffset? Timestamp, Dictionary<string, double> ByCounter);
}

/// <summary>Pairs a counter's values with the sample timestamps without trusting their order or count.</summary>
internal static class PerfPairing
{
    /// <summary>
    /// The value of the newest sample, or null when it cannot be known. A series with as many values as samples pairs
    /// by position (servers list both in the same order, newest first or last); a series with no values is all zeros
    /// (vcsim leaves zero values out); a series with some values missing is ambiguous unless there is one sample.
    /// </summary>
    public static double? Newest(IReadOnlyList<DateTimeOffset> times, IReadOnlyList<double> values)
    {
        if (times.Count == 0)
        {
            return values.Count == 1 ? values[0] : null;
        }

        if (values.Count == 0)
        {
            return 0;
        }

        if (values.Count != times.Count)
        {
            return null;
        }

        int newest = 0;
        for (int i = 1; i < times.Count; i++)
        {
            if (times[i] > times[newest])
            {
                newest = i;
            }
        }

        return values[newest];
    }
}
