using System.Globalization;
using System.Xml.Linq;
using VmEcosystem.Cluster;
using VmEcosystem.Hypervisor;
using VmEcosystem.Providers.VSphere.Soap;
using static VmEcosystem.Providers.VSphere.Soap.Vim;

namespace VmEcosystem.Providers.VSphere;

/// <summary>Hot-add of vCPUs and memory, and CPU/memory shares, reservations and limits, through <c>ReconfigVM_Task</c>.</summary>
internal sealed partial class VSphereHypervisor
{
    private static readonly string[] ControlPaths = ["config.cpuAllocation", "config.memoryAllocation", "config.hardware.numCPU", "config.hardware.device", "runtime.host"];

    protected override Task<VmInfo> HotPlugCoreAsync(VmId vm, HotPlugRequest request, CancellationToken cancellationToken) =>
        VimAsync("HotPlug", $"VM '{vm}'", async () =>
        {
            var mor = new Mor("VirtualMachine", vm.Value);
            var current = await _reader.ReadOneAsync(mor, VSphereInventoryMap.VmPaths, cancellationToken).ConfigureAwait(false);
            var host = await HostOfAsync(current, vm, cancellationToken).ConfigureAwait(false);
            var info = VSphereInventoryMap.Vm(current, host, null) ?? throw VmNotFound(vm, "HotPlug");
            bool on = info.State == VmPowerState.Running;
            int cpus = (int)info.Allocation.CpuCores;
            long memory = (long)info.Allocation.MemoryMiB;
            int? newCpus = request.Vcpus is { } v && v != cpus ? v : null;
            // vSphere sizes memory in MB, in multiples of 4 for hot-add; a request is rounded up to the next multiple.
            long? newMemory = request.MemoryMiB is { } m && RoundMemory(m) != memory ? RoundMemory(m) : null;
            if (newCpus is { } c && c > info.MaxAllocation.CpuCores)
            {
                throw new HypervisorException(HypervisorErrorKind.InvalidArgument,
                    $"VM '{vm}' can have at most {info.MaxAllocation.CpuCores} vCPUs{(on && current.Bool("config.cpuHotAddEnabled") != true ? " while running (CPU hot-add is off)" : "")}; asked for {c}.", Name, "HotPlug");
            }

            if (on)
            {
                RefuseHotRemove(vm, current, newCpus, cpus, newMemory, memory);
            }

            if (newMemory is { } nm && nm > info.MaxAllocation.MemoryMiB)
            {
                throw new HypervisorException(HypervisorErrorKind.InvalidArgument,
                    $"VM '{vm}' can have at most {info.MaxAllocation.MemoryMiB} MiB of memory; asked for {nm}.", Name, "HotPlug");
            }

            if (newCpus is null && newMemory is null)
            {
                return info; // already the requested size: repeating a hot-plug changes nothing
            }

            await ReconfigureAsync(mor, E("spec",
                newCpus is { } n ? E("numCPUs", Text(n)) : null,
                newMemory is { } mb ? E("memoryMB", Text(mb)) : null), cancellationToken).ConfigureAwait(false);
            var after = await _reader.ReadOneAsync(mor, VSphereInventoryMap.VmPaths, cancellationToken).ConfigureAwait(false);
            return VSphereInventoryMap.Vm(after, host, null) ?? throw VmNotFound(vm, "HotPlug");
        });

    /// <summary>vSphere cannot take vCPUs or memory from a running VM, and adds them only when hot-add was enabled.</summary>
    private void RefuseHotRemove(VmId vm, VimObject current, int? newCpus, int cpus, long? newMemory, long memory)
    {
        if (newCpus < cpus || newMemory < memory)
        {
            throw new HypervisorException(HypervisorErrorKind.NotSupported,
                $"vSphere cannot remove {(newCpus < cpus ? $"vCPUs ({cpus} to {newCpus})" : $"memory ({memory} to {newMemory} MiB)")} from running VM '{vm}': hot-remove is not supported. Shrink it powered off, or cap it with a limit.",
                Name, "HotPlug");
        }

        if (newCpus is not null && current.Bool("config.cpuHotAddEnabled") != true)
        {
            throw new HypervisorException(HypervisorErrorKind.NotSupported,
                $"CPU hot-add is disabled on running VM '{vm}' (config.cpuHotAddEnabled is false); enable it while the VM is powered off.", Name, "HotPlug");
        }

        if (newMemory is not null && current.Bool("config.memoryHotAddEnabled") != true)
        {
            throw new HypervisorException(HypervisorErrorKind.NotSupported,
                $"Memory hot-add is disabled on running VM '{vm}' (config.memoryHotAddEnabled is false); enable it while the VM is powered off.", Name, "HotPlug");
        }
    }

    private static long RoundMemory(double mib) => (long)Math.Ceiling(Math.Round(mib, 3) / 4) * 4;

    protected override Task<ResourceControls> GetResourceControlsCoreAsync(VmId vm, CancellationToken cancellationToken) =>
        VimAsync("GetResourceControls", $"VM '{vm}'", async () =>
        {
            var current = await _reader.ReadOneAsync(new Mor("VirtualMachine", vm.Value), ControlPaths, cancellationToken).ConfigureAwait(false);
            // The host's core clock turns a CPU limit into a quota; it is read only when there is a limit.
            double coreMhz = current.Value("config.cpuAllocation")?.Long("limit") is > 0
                ? (await HostOfAsync(current, vm, cancellationToken).ConfigureAwait(false)).CoreMhz
                : 0;
            return ControlsOf(current, coreMhz);
        });

    protected override Task<ResourceControls> SetResourceControlsCoreAsync(VmId vm, ResourceControls controls, CancellationToken cancellationToken) =>
        VimAsync("SetResourceControls", $"VM '{vm}'", async () =>
        {
            var mor = new Mor("VirtualMachine", vm.Value);
            var current = await _reader.ReadOneAsync(mor, ControlPaths, cancellationToken).ConfigureAwait(false);
            double coreMhz = (await HostOfAsync(current, vm, cancellationToken).ConfigureAwait(false)).CoreMhz; // read once for the call
            var wanted = ControlsOf(current, coreMhz).Apply(controls);
            if (wanted.MemoryReservationMiB is { } r && wanted.MemoryLimitMiB is { } l && r > l)
            {
                throw new HypervisorException(HypervisorErrorKind.InvalidArgument,
                    $"MemoryReservationMiB ({r}) cannot exceed MemoryLimitMiB ({l}) on VM '{vm}'.", Name, "SetResourceControls");
            }

            double vmMhz = (current.Long("config.hardware.numCPU") ?? 1) * coreMhz;
            // The server replaces the whole allocation struct, so the current values are sent with the changed ones.
            var cpu = Allocation("cpuAllocation", current.Value("config.cpuAllocation"),
                controls.CpuQuota is { } q ? Unlimited(q, x => x * vmMhz) : null, controls.CpuShares, reservation: null);
            var mem = Allocation("memoryAllocation", current.Value("config.memoryAllocation"),
                controls.MemoryLimitMiB is { } ml ? Unlimited(ml, x => x) : null, shares: null,
                reservation: controls.MemoryReservationMiB is { } mr ? (long)Math.Round(mr) : null);
            await ReconfigureAsync(mor, E("spec",
                DeviceChanges(vm, current, controls),
                controls.CpuQuota is not null || controls.CpuShares is not null ? cpu : null,
                controls.MemoryLimitMiB is not null || controls.MemoryReservationMiB is not null ? mem : null), cancellationToken).ConfigureAwait(false);
            var after = await _reader.ReadOneAsync(mor, ControlPaths, cancellationToken).ConfigureAwait(false);
            return ControlsOf(after, coreMhz);
        });

    private static long Unlimited(double value, Func<double, double> toServer) =>
        double.IsPositiveInfinity(value) ? -1 : (long)Math.Max(0, Math.Round(toServer(value)));

    /// <summary>
    /// A <c>ResourceAllocationInfo</c> in schema order (reservation, expandableReservation, limit, shares), starting
    /// from the VM's current one. Custom shares carry <c>level=custom</c>.
    /// </summary>
    private static XElement Allocation(string name, XElement? current, long? limit, int? shares, long? reservation)
    {
        long? newReservation = reservation ?? current?.Long("reservation");
        string? expandable = current?.Path("expandableReservation");
        long? newLimit = limit ?? current?.Long("limit");
        var oldShares = current?.Child("shares");
        return E(name,
            newReservation is { } res ? E("reservation", Text(res)) : null,
            expandable is not null ? E("expandableReservation", expandable) : null,
            newLimit is { } lim ? E("limit", Text(lim)) : null,
            shares is { } s ? E("shares", E("shares", Text(s)), E("level", "custom"))
                : oldShares is not null ? E("shares", E("shares", oldShares.Path("shares") ?? "0"), E("level", oldShares.Path("level") ?? "normal")) : null);
    }

    /// <summary>The controls as read; <paramref name="coreMhz"/> (the host's core clock) turns the CPU limit into a quota.</summary>
    private static ResourceControls ControlsOf(VimObject current, double coreMhz)
    {
        var cpu = current.Value("config.cpuAllocation");
        var mem = current.Value("config.memoryAllocation");
        double vmMhz = (current.Long("config.hardware.numCPU") ?? 1) * coreMhz;
        double? quota = cpu?.Long("limit") is > 0 and var limit && vmMhz > 0 ? limit / vmMhz : null;
        var (iops, weight, mbps) = DeviceControlsOf(current);
        return new ResourceControls
        {
            DiskIopsLimit = iops,
            DiskWeight = weight,
            NetworkBandwidthLimitMbps = mbps,
            CpuShares = cpu?.Path("level") == "custom" || cpu?.Long("shares/shares") is > 0 ? (int?)cpu?.Long("shares/shares") : null,
            CpuQuota = quota,
            MemoryReservationMiB = mem?.Long("reservation") is { } r ? r : null,
            MemoryLimitMiB = mem?.Long("limit") is { } l and >= 0 ? l : null,
        };
    }

    private async Task<HostInfo> HostOfAsync(VimObject vm, VmId id, CancellationToken cancellationToken)
    {
        if (vm.Ref("runtime.host") is not { } hostRef)
        {
            throw new HypervisorException(HypervisorErrorKind.Conflict, $"VM '{id}' has no host (it is not registered on one).", Name);
        }

        var host = await _reader.ReadOneAsync(hostRef, VSphereInventoryMap.HostPaths, cancellationToken).ConfigureAwait(false);
        return VSphereInventoryMap.Host(host, null, _options.HostNetworkMbps)
            ?? throw new HypervisorException(HypervisorErrorKind.Unavailable, $"Host '{hostRef.Value}' of VM '{id}' reports no hardware.", Name);
    }

    /// <summary>Runs <c>ReconfigVM_Task</c> and follows the task to its end (its fault propagates).</summary>
    private async Task ReconfigureAsync(Mor vm, XElement spec, CancellationToken cancellationToken)
    {
        var r = await _session.CallAsync(_ => E("ReconfigVM_Task", This(vm), spec), idempotent: false, cancellationToken).ConfigureAwait(false);
        var task = Mor.From(r.Child("returnval")!);
        await TaskFollower.FollowAsync(_session, task, null, CancellationToken.None, _options.EventWait, cancellationToken).ConfigureAwait(false);
    }
}
