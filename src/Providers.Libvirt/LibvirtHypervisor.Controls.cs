using System.Xml.Linq;
using VmEcosystem.Cluster;
using VmEcosystem.Hypervisor;
using VmEcosystem.Providers.Libvirt.Native;

namespace VmEcosystem.Providers.Libvirt;

/// <summary>
/// Hot-plug (<c>virDomainSetVcpusFlags</c>, <c>virDomainSetMemoryFlags</c>, live) and resource controls:
/// <c>cpu_shares</c> and <c>global_period</c>/<c>global_quota</c> (scheduler), <c>soft_limit</c>/<c>hard_limit</c>
/// (memory tune), <c>weight</c> (blkio tune), <c>total_iops_sec</c> (block I/O tune, every disk) and <c>inbound/outbound.average</c>
/// (interface bandwidth, every interface). Changes apply to the running domain (its live definition travels with
/// a migration).
/// </summary>
internal sealed partial class LibvirtHypervisor
{
    private const long QuotaPeriodMicroseconds = 100_000;
    private const double UnlimitedQuota = 17_592_186_044_415; // libvirt's "no limit" for *_quota

    /// <inheritdoc />
    protected override async Task<VmInfo> HotPlugCoreAsync(VmId vm, HotPlugRequest request, CancellationToken cancellationToken)
    {
        var c = await LocateAsync(vm, "HotPlug", cancellationToken).ConfigureAwait(false);
        return await OnHostAsync(c, cancellationToken, h =>
        {
            using var d = Lookup(h, c.Host, vm);
            var node = _nodeInfo.TryGetValue(c.Host, out var n) ? n : ReadNodeInfo(c, h);
            if (!TryDescribe(d, node, out var before))
            {
                throw VmNotFound(vm, "HotPlug");
            }

            if (request.Vcpus is { } vcpus)
            {
                int current = (int)before.Allocation.CpuCores, max = (int)before.MaxAllocation.CpuCores;
                if (vcpus > max)
                {
                    throw new HypervisorException(HypervisorErrorKind.InvalidArgument,
                        $"VM '{vm}' can have at most {max} vCPUs (the maximum in its domain definition); {vcpus} were requested.");
                }

                if (vcpus < current && !_options.AllowVcpuUnplug)
                {
                    throw new HypervisorException(HypervisorErrorKind.NotSupported,
                        $"Removing vCPUs from running VM '{vm}' ({current} → {vcpus}) is off; set LibvirtOptions.AllowVcpuUnplug to allow it.");
                }

                if (vcpus != current && LibvirtNative.virDomainSetVcpusFlags(d, (uint)vcpus, LibvirtNative.AffectLive) < 0)
                {
                    throw LibvirtErrors.Fail($"Setting VM '{vm}' to {vcpus} vCPUs");
                }
            }

            if (request.MemoryMiB is { } memory)
            {
                ulong kib = (ulong)Math.Round(memory * 1024);
                if (memory > before.MaxAllocation.MemoryMiB + 1e-9)
                {
                    throw new HypervisorException(HypervisorErrorKind.InvalidArgument,
                        $"VM '{vm}' can have at most {before.MaxAllocation.MemoryMiB} MiB (its maximum memory); {memory} MiB were requested.");
                }

                if (LibvirtNative.virDomainSetMemoryFlags(d, kib, LibvirtNative.AffectLive) < 0)
                {
                    throw LibvirtErrors.Fail($"Setting VM '{vm}' memory to {memory} MiB");
                }
            }

            if (!TryDescribe(d, node, out var after))
            {
                throw VmNotFound(vm, "HotPlug");
            }

            // The balloon reaches a new size only as the guest gives memory back; report the size asked for, which
            // is what the host now commits to the VM (the next metric samples show the balloon converge).
            return request.MemoryMiB is { } target
                ? new VmInfo(after.Id, after.Allocation with { MemoryMiB = target }) { MaxAllocation = after.MaxAllocation, State = after.State }
                : after;
        }).ConfigureAwait(false);
    }

    /// <inheritdoc />
    protected override async Task<ResourceControls> GetResourceControlsCoreAsync(VmId vm, CancellationToken cancellationToken)
    {
        var c = await LocateAsync(vm, "GetResourceControls", cancellationToken).ConfigureAwait(false);
        return await OnHostAsync(c, cancellationToken, h =>
        {
            using var d = Lookup(h, c.Host, vm);
            return ReadControls(d, c.IsTestDriver);
        }).ConfigureAwait(false);
    }

    /// <inheritdoc />
    protected override async Task<ResourceControls> SetResourceControlsCoreAsync(VmId vm, ResourceControls controls, CancellationToken cancellationToken)
    {
        var c = await LocateAsync(vm, "SetResourceControls", cancellationToken).ConfigureAwait(false);
        return await OnHostAsync(c, cancellationToken, h =>
        {
            using var d = Lookup(h, c.Host, vm);
            ApplyControls(d, vm, controls);
            return ReadControls(d, c.IsTestDriver);
        }).ConfigureAwait(false);
    }

    private static unsafe void ApplyControls(DomainHandle d, VmId vm, ResourceControls controls)
    {
        if (controls.CpuShares is not null || controls.CpuQuota is not null)
        {
            using var p = new TypedParameterList();
            if (controls.CpuShares is { } shares)
            {
                p.AddULong("cpu_shares", (ulong)shares);
            }

            if (controls.CpuQuota is { } quota)
            {
                int vcpus = Math.Max(1, LibvirtNative.virDomainGetVcpusFlags(d, 0));
                p.AddULong("global_period", QuotaPeriodMicroseconds);
                p.AddLong("global_quota", double.IsPositiveInfinity(quota) ? -1 : Math.Max(1000, (long)Math.Round(quota * vcpus * QuotaPeriodMicroseconds)));
            }

            Check(p.Invoke((ptr, n) => LibvirtNative.virDomainSetSchedulerParametersFlags(d, (TypedParameter*)ptr, n, 0)), $"Setting CPU controls of VM '{vm}'");
        }

        if (controls.MemoryReservationMiB is not null || controls.MemoryLimitMiB is not null)
        {
            using var p = new TypedParameterList();
            if (controls.MemoryLimitMiB is { } limit)
            {
                p.AddULong("hard_limit", ToKiB(limit));
            }

            if (controls.MemoryReservationMiB is { } reservation)
            {
                p.AddULong("soft_limit", ToKiB(reservation));
            }

            Check(p.Invoke((ptr, n) => LibvirtNative.virDomainSetMemoryParameters(d, (TypedParameter*)ptr, n, 0)), $"Setting memory controls of VM '{vm}'");
        }

        if (controls.DiskWeight is { } weight)
        {
            using var p = new TypedParameterList().AddUInt("weight", (uint)Math.Clamp(weight, 100, 1000));
            if (p.Invoke((ptr, n) => LibvirtNative.virDomainSetBlkioParameters(d, (TypedParameter*)ptr, n, 0)) < 0)
            {
                var error = LibvirtErrors.Fail($"Setting the disk I/O weight of VM '{vm}'");
                // A weight needs a proportional I/O scheduler (bfq) on the host's disks; without one the host cannot
                // weigh disk I/O at all. The other controls still apply: the controls read back report no weight.
                if (error.InnerException is not LibvirtException { Code: LibvirtErrors.OperationInvalid })
                {
                    throw error;
                }
            }
        }

        var devices = DomainDevices.Read(d);
        if (controls.DiskIopsLimit is { } iops)
        {
            RequireDevices(devices.Disks, vm, "disk");
            foreach (var disk in devices.Disks)
            {
                // The burst ceiling (_max) goes with the limit: libvirt rejects a limit above an older burst ceiling,
                // and a ceiling equal to the limit means no burst beyond it.
                ulong value = double.IsPositiveInfinity(iops) ? 0 : (ulong)Math.Max(1, Math.Round(iops));
                using var p = new TypedParameterList().AddULong("total_iops_sec", value).AddULong("total_iops_sec_max", value);
                Check(p.Invoke((ptr, n) => LibvirtNative.virDomainSetBlockIoTune(d, disk, (TypedParameter*)ptr, n, 0)), $"Setting the IOPS limit of disk '{disk}' of VM '{vm}'");
            }
        }

        if (controls.NetworkBandwidthLimitMbps is { } mbps)
        {
            RequireDevices(devices.Interfaces, vm, "network interface");
            uint kBps = double.IsPositiveInfinity(mbps) ? 0 : (uint)Math.Max(1, Math.Round(mbps * 1e6 / 8 / 1024)); // libvirt: KiB/s
            foreach (var nic in devices.Interfaces)
            {
                using var p = new TypedParameterList().AddUInt("inbound.average", kBps).AddUInt("outbound.average", kBps);
                Check(p.Invoke((ptr, n) => LibvirtNative.virDomainSetInterfaceParameters(d, nic, (TypedParameter*)ptr, n, 0)), $"Setting the bandwidth of interface '{nic}' of VM '{vm}'");
            }
        }
    }

    private static unsafe ResourceControls ReadControls(DomainHandle d, bool testDriver)
    {
        int? shares = null;
        double? quota = null;
        if (!testDriver)
        {
            // The test driver answers scheduler queries with a fixed "weight" only; there is nothing true to read.
            var sched = ReadParameters((TypedParameter* p, ref int n) => LibvirtNative.virDomainGetSchedulerParametersFlags(d, p, ref n, 0), SchedulerParameterCount(d));
            if (sched is not null)
            {
                shares = sched.TryGetValue("cpu_shares", out double s) ? (int)s : null;
                if (sched.TryGetValue("global_quota", out double q) && sched.TryGetValue("global_period", out double period) && q > 0 && q < UnlimitedQuota && period > 0)
                {
                    quota = q / (period * Math.Max(1, LibvirtNative.virDomainGetVcpusFlags(d, 0)));
                }
            }
        }

        var memory = ReadParameters((TypedParameter* p, ref int n) => LibvirtNative.virDomainGetMemoryParameters(d, p, ref n, 0));
        var blkio = testDriver ? null : ReadParameters((TypedParameter* p, ref int n) => LibvirtNative.virDomainGetBlkioParameters(d, p, ref n, 0));
        var devices = DomainDevices.Read(d);
        Dictionary<string, double>? disk = null, nic = null;
        if (devices.Disks.Count > 0)
        {
            string name = devices.Disks[0];
            disk = ReadParameters((TypedParameter* p, ref int n) => LibvirtNative.virDomainGetBlockIoTune(d, name, p, ref n, 0));
        }

        if (devices.Interfaces.Count > 0)
        {
            string name = devices.Interfaces[0];
            nic = ReadParameters((TypedParameter* p, ref int n) => LibvirtNative.virDomainGetInterfaceParameters(d, name, p, ref n, 0));
        }

        return new ResourceControls
        {
            CpuShares = shares,
            CpuQuota = quota,
            MemoryReservationMiB = Limit(memory, "soft_limit"),
            MemoryLimitMiB = Limit(memory, "hard_limit"),
            DiskIopsLimit = disk is not null && disk.TryGetValue("total_iops_sec", out double iops) && iops > 0 ? iops : null,
            NetworkBandwidthLimitMbps = nic is not null && nic.TryGetValue("inbound.average", out double kBps) && kBps > 0 ? kBps * 1024 * 8 / 1e6 : null,
            DiskWeight = blkio is not null && blkio.TryGetValue("weight", out double w) && w > 0 ? (int)w : null,
        };
    }

    private unsafe delegate int ParameterReader(TypedParameter* parameters, ref int count);

    /// <summary>
    /// Reads a typed-parameter group; null when this driver or domain does not support it (a control that cannot be
    /// read is "not reported", not an error). <paramref name="count"/> is the size to ask for; when null the size is
    /// learnt first with a NULL array, as libvirt documents for these calls.
    /// </summary>
    private static unsafe Dictionary<string, double>? ReadParameters(ParameterReader read, int? count = null)
    {
        int n = count ?? 0;
        if (count is null && (read(null, ref n) < 0 || n <= 0))
        {
            LibvirtNative.virResetLastError();
            return null;
        }

        if (n <= 0)
        {
            return null;
        }

        var buffer = new TypedParameter[n];
        fixed (TypedParameter* p = buffer)
        {
            if (read(p, ref n) < 0)
            {
                var error = LibvirtErrors.Last("read failed");
                if (LibvirtErrors.Classify(error.Code) is HypervisorErrorKind.NotFound or HypervisorErrorKind.Unavailable)
                {
                    throw LibvirtErrors.ToHypervisorException(error, "Reading resource controls");
                }

                return null;
            }
        }

        return TypedParameterReader.Numbers(buffer.AsSpan(0, n));
    }

    private static int SchedulerParameterCount(DomainHandle d)
    {
        string? type = LibvirtNative.TakeString(LibvirtNative.virDomainGetSchedulerType(d, out int n));
        if (type is null)
        {
            LibvirtNative.virResetLastError();
            return 0;
        }

        return n;
    }

    private static double? Limit(Dictionary<string, double>? map, string key) =>
        map is not null && map.TryGetValue(key, out double kib) && kib > 0 && kib < LibvirtNative.MemoryParamUnlimited ? kib / 1024.0 : null;

    private static ulong ToKiB(double mib) => double.IsPositiveInfinity(mib) ? LibvirtNative.MemoryParamUnlimited : (ulong)Math.Round(mib * 1024);

    private static void RequireDevices(IReadOnlyList<string> devices, VmId vm, string kind)
    {
        if (devices.Count == 0)
        {
            throw new HypervisorException(HypervisorErrorKind.NotSupported, $"VM '{vm}' has no {kind} to limit.");
        }
    }

    private static void Check(int rc, string what)
    {
        if (rc < 0)
        {
            throw LibvirtErrors.Fail(what);
        }
    }
}

/// <summary>The disk and interface names of a domain, from its live XML (<c>virDomainGetXMLDesc</c>).</summary>
internal sealed record DomainDevices(IReadOnlyList<string> Disks, IReadOnlyList<string> Interfaces)
{
    public static DomainDevices Read(DomainHandle d)
    {
        string? xml = LibvirtNative.TakeString(LibvirtNative.virDomainGetXMLDesc(d, 0));
        if (xml is null)
        {
            throw LibvirtErrors.Fail("Reading the domain definition");
        }

        return Parse(xml);
    }

    /// <summary>Disks by target (<c>vda</c>); interfaces by target device, or MAC address when the target is not assigned yet.</summary>
    public static DomainDevices Parse(string xml)
    {
        var devices = XDocument.Parse(xml).Root?.Element("devices");
        if (devices is null)
        {
            return new DomainDevices([], []);
        }

        var disks = devices.Elements("disk")
            .Where(e => (string?)e.Attribute("device") is null or "disk")
            .Select(e => (string?)e.Element("target")?.Attribute("dev"))
            .OfType<string>().ToArray();
        var nics = devices.Elements("interface")
            .Select(e => (string?)e.Element("target")?.Attribute("dev") ?? (string?)e.Element("mac")?.Attribute("address"))
            .OfType<string>().ToArray();
        return new DomainDevices(disks, nics);
    }
}
