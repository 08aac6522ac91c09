using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using VmEcosystem.Cluster;
using VmEcosystem.Hypervisor;
using VmEcosystem.Providers.Libvirt.Native;

namespace VmEcosystem.Providers.Libvirt;

/// <summary>Lifecycle events: libvirt's event thread only enqueues; a pump turns them into inventory changes.</summary>
internal sealed partial class LibvirtHypervisor
{
    private const int EventDefined = 0, EventUndefined = 1, EventStarted = 2, EventStopped = 5;
    private const int DetailStartedMigrated = 1, DetailStoppedMigrated = 3;

    private readonly Channel<DomainLifecycleEvent> _eventQueue =
        Channel.CreateUnbounded<DomainLifecycleEvent>(new UnboundedChannelOptions { SingleReader = true });

    private readonly Task _events;

    private void OnLifecycleEvent(DomainLifecycleEvent e) => _eventQueue.Writer.TryWrite(e);

    private void OnConnectionClosed(HostId host, string reason)
    {
        LogConnectionClosed(Logger, host.Value, reason);
        PublishInventoryChange(new InventoryResyncRequired($"The connection to libvirt host '{host}' was closed ({reason}); it is reopened on the next call.")
        {
            Timestamp = TimeProvider.GetUtcNow(),
        });
    }

    private Task StartEventPump() => Task.Run(async () =>
    {
        await foreach (var e in _eventQueue.Reader.ReadAllAsync().ConfigureAwait(false))
        {
            try
            {
                await HandleAsync(e).ConfigureAwait(false);
            }
            catch (HypervisorException ex)
            {
                // The domain changed again or the host went away while we looked; the next inventory read is authoritative.
                LogEventFailed(Logger, e.Domain, e.Host.Value, ex.Message);
            }
            catch (ObjectDisposedException)
            {
                return;
            }
        }
    });

    private async Task HandleAsync(DomainLifecycleEvent e)
    {
        var vm = new VmId(e.Domain);
        var now = TimeProvider.GetUtcNow();
        HostId? known;
        lock (_placementGate)
        {
            known = _hostOf.TryGetValue(vm, out var h) ? h : null;
        }

        switch (e.Event)
        {
            case EventStopped when e.Detail == DetailStoppedMigrated:
                return; // the destination's "started (migrated)" event reports the move
            case EventUndefined:
                if (known is { } left && left != e.Host)
                {
                    return; // undefined on a host it already left (migration with undefine-source)
                }

                // Events of two connections arrive in no fixed order: the source's "undefined" of a migration can
                // come before the destination's "started". A VM running on another host has moved, not vanished.
                if (await FindElsewhereAsync(vm, e.Host).ConfigureAwait(false) is { } elsewhere)
                {
                    if (NoteHost(vm, elsewhere) || known is null)
                    {
                        PublishInventoryChange(new VmMoved(vm, e.Host, elsewhere) { Timestamp = now });
                    }

                    return;
                }

                lock (_placementGate)
                {
                    _hostOf.Remove(vm);
                }

                PublishInventoryChange(new VmRemoved(vm) { Timestamp = now });
                return;
            case EventStarted when e.Detail == DetailStartedMigrated && known is { } from:
                if (from != e.Host && NoteHost(vm, e.Host))
                {
                    PublishInventoryChange(new VmMoved(vm, from, e.Host) { Timestamp = now });
                }

                return;
        }

        if (known is { } other && other != e.Host && e.Event is not (EventDefined or EventStarted))
        {
            return; // a leftover copy on a host the VM left; not the VM
        }

        var c = _connections[e.Host];
        var info = await OnHostAsync(c, CancellationToken.None, h =>
        {
            using var d = TryLookup(h, e.Domain, out _);
            if (d is null)
            {
                return null;
            }

            var node = _nodeInfo.TryGetValue(c.Host, out var n) ? n : ReadNodeInfo(c, h);
            return TryDescribe(d, node, out var described) ? described : null;
        }).ConfigureAwait(false);
        if (info is null)
        {
            return;
        }

        if (known is null)
        {
            NoteHost(vm, e.Host);
            PublishInventoryChange(new VmAdded(info, e.Host) { Timestamp = now });
        }
        else
        {
            PublishInventoryChange(new VmUpdated(info) { Timestamp = now });
        }
    }

    /// <summary>The other host where the VM runs now, if any (unreachable hosts are skipped).</summary>
    private async Task<HostId?> FindElsewhereAsync(VmId vm, HostId except)
    {
        foreach (var c in _connections.Values.Where(c => c.Host != except))
        {
            try
            {
                if (await HasActiveDomainAsync(c, vm, CancellationToken.None).ConfigureAwait(false) == true)
                {
                    return c.Host;
                }
            }
            catch (HypervisorException ex) when (ex.IsTransient)
            {
                // That host cannot tell us; the next inventory read settles it.
            }
        }

        return null;
    }

    [LoggerMessage(EventId = 2001, Level = LogLevel.Warning, Message = "libvirt connection to host {Host} closed: {Reason}")]
    private static partial void LogConnectionClosed(ILogger logger, string host, string reason);

    [LoggerMessage(EventId = 2002, Level = LogLevel.Debug, Message = "libvirt event for {Vm} on {Host} could not be resolved: {Reason}")]
    private static partial void LogEventFailed(ILogger logger, string vm, string host, string reason);
}
