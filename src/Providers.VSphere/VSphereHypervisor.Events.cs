using System.Xml.Linq;
using Microsoft.Extensions.Logging;
using VmEcosystem.Cluster;
using VmEcosystem.Hypervisor;
using VmEcosystem.Providers.VSphere.Soap;
using static VmEcosystem.Providers.VSphere.Soap.Vim;

namespace VmEcosystem.Providers.VSphere;

/// <summary>
/// Inventory changes from <c>WaitForUpdatesEx</c> over a container view of hosts and VMs: a VM whose
/// <c>runtime.host</c> changes is a <see cref="VmMoved"/> (also a vMotion started by someone else), one that enters or
/// leaves the view is added or removed, any other change is an update. After a lost session or connection the watch
/// starts over and tells subscribers to read the inventory again.
/// </summary>
internal sealed partial class VSphereHypervisor
{
    private async Task WatchLoopAsync(CancellationToken stop)
    {
        bool first = true;
        int failures = 0;
        while (!stop.IsCancellationRequested)
        {
            try
            {
                await WatchOnceAsync(resync: !first, stop).ConfigureAwait(false);
                failures = 0;
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex) when (ex is VimFault or HttpRequestException or TimeoutException or ObjectDisposedException or InvalidOperationException)
            {
                LogWatchFailed(Logger, ex.GetType().Name, ex.Message);
            }

            first = false;
            try
            {
                // 2 s, 4 s, ... up to a minute while the server stays unreachable.
                await Task.Delay(TimeSpan.FromSeconds(Math.Min(60, 2 << Math.Min(failures++, 5))), TimeProvider, stop).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private async Task WatchOnceAsync(bool resync, CancellationToken stop)
    {
        await using var collector = await UpdateCollector.CreateAsync(_session, stop).ConfigureAwait(false);
        var created = await _session.CallAsync(c => E("CreateContainerView", This(c.ViewManager), Ref("container", c.RootFolder),
            E("type", "HostSystem"), E("type", "VirtualMachine"), E("recursive", "true")), idempotent: false, stop).ConfigureAwait(false);
        var view = Mor.From(created.Child("returnval")!);
        var objectSet = E("objectSet", Ref("obj", view), E("skip", "true"),
            Typed("selectSet", "TraversalSpec", E("name", "view"), E("type", "ContainerView"), E("path", "view"), E("skip", "false")));
        await collector.AddFilterAsync("VirtualMachine", VSphereInventoryMap.VmPaths, objectSet, stop).ConfigureAwait(false);
        await collector.AddFilterAsync("HostSystem", VSphereInventoryMap.HostPaths, new XElement(objectSet), stop).ConfigureAwait(false);
        var state = new WatchedObjects();
        bool seeded = false;
        while (!stop.IsCancellationRequested)
        {
            var updates = await collector.WaitAsync(_options.EventWait, stop).ConfigureAwait(false);
            if (updates.Count == 0)
            {
                continue;
            }

            if (!seeded)
            {
                // The first answer lists everything as "enter": it is the starting point, not news.
                foreach (var u in updates)
                {
                    state.Apply(u);
                }

                seeded = true;
                if (resync)
                {
                    PublishInventoryChange(new InventoryResyncRequired("The vSphere watch reconnected; changes may have been missed.") { Timestamp = TimeProvider.GetUtcNow() });
                }

                continue;
            }

            foreach (var u in updates)
            {
                foreach (var change in state.Apply(u).Select(ToChange))
                {
                    if (change is not null)
                    {
                        PublishInventoryChange(change);
                    }
                }
            }
        }
    }

    private InventoryChange? ToChange(WatchedChange change)
    {
        var now = TimeProvider.GetUtcNow();
        if (change.Obj.Type == "HostSystem")
        {
            if (change.Kind == "leave")
            {
                return new HostRemoved(new HostId(change.Obj.Value)) { Timestamp = now };
            }

            var host = Known(VSphereInventoryMap.Host(new VimObject(change.Obj, change.Props), null, _options.HostNetworkMbps));
            return host is null ? null : change.Kind == "enter" ? new HostAdded(host) { Timestamp = now } : new HostUpdated(host) { Timestamp = now };
        }

        var id = new VmId(change.Obj.Value);
        if (change.Kind == "leave")
        {
            return new VmRemoved(id) { Timestamp = now };
        }

        if (change.MovedFrom is { } from && change.HostProps is not null)
        {
            return new VmMoved(id, new HostId(from.Value), new HostId(change.HostProps.Obj.Value)) { Timestamp = now };
        }

        var hostInfo = change.HostProps is { } hp ? Known(VSphereInventoryMap.Host(hp, null, _options.HostNetworkMbps)) : null;
        var vm = hostInfo is null ? null : VSphereInventoryMap.Vm(new VimObject(change.Obj, change.Props), hostInfo, null);
        if (vm is not null && Volatile.Read(ref _last) is { } last && last.TryGetVm(vm.Id, out var knownVm))
        {
            vm = vm with { Labels = knownVm.Labels }; // the resource pool's name is not watched; keep the last read's labels
        }

        return vm is null ? null : change.Kind == "enter" ? new VmAdded(vm, hostInfo!.Id) { Timestamp = now } : new VmUpdated(vm) { Timestamp = now };
    }

    /// <summary>
    /// The host with its host set and labels from the last inventory read (the watch does not follow clusters); null for
    /// a host outside the configured clusters, whose changes are not this provider's to report.
    /// </summary>
    private HostInfo? Known(HostInfo? host)
    {
        if (host is null)
        {
            return null;
        }

        if (Volatile.Read(ref _last) is { } last && last.TryGetHost(host.Id, out var known))
        {
            return host with { HostSet = known.HostSet, Labels = known.Labels };
        }

        return _options.Clusters.Count > 0 ? null : host;
    }

    [LoggerMessage(EventId = 4120, Level = LogLevel.Warning, Message = "vSphere: the inventory watch failed ({Error}: {Reason}); starting it again")]
    private static partial void LogWatchFailed(ILogger logger, string error, string reason);
}

/// <summary>A change to publish: the object's properties after it, and for a VM its host (and the host it left).</summary>
internal sealed record WatchedChange(string Kind, Mor Obj, IReadOnlyDictionary<string, XElement> Props, VimObject? HostProps, Mor? MovedFrom);

/// <summary>The watched objects' properties, kept up to date from the updates (vSphere sends only what changed).</summary>
internal sealed class WatchedObjects
{
    private readonly Dictionary<Mor, Dictionary<string, XElement>> _objects = [];

    public IReadOnlyList<WatchedChange> Apply(ObjectUpdate update)
    {
        if (update.Kind == "leave")
        {
            _objects.Remove(update.Obj);
            return [new WatchedChange("leave", update.Obj, new Dictionary<string, XElement>(), null, null)];
        }

        if (!_objects.TryGetValue(update.Obj, out var props))
        {
            _objects[update.Obj] = props = new Dictionary<string, XElement>(StringComparer.Ordinal);
        }

        Mor? hostBefore = props.TryGetValue("runtime.host", out var h) ? Mor.From(h) : null;
        foreach (var c in update.Changes)
        {
            if (c.Op == "remove" || c.Value is null)
            {
                props.Remove(c.Name);
            }
            else
            {
                props[c.Name] = c.Value;
            }
        }

        Mor? hostAfter = props.TryGetValue("runtime.host", out var h2) ? Mor.From(h2) : null;
        VimObject? host = hostAfter is { } ha && _objects.TryGetValue(ha, out var hp) ? new VimObject(ha, hp) : null;
        var moved = update.Kind == "modify" && hostBefore is { } b && hostAfter is { } a && b != a ? b : (Mor?)null;
        return [new WatchedChange(update.Kind, update.Obj, new Dictionary<string, XElement>(props), host, moved)];
    }
}
