using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using VmEcosystem.Cluster;
using VmEcosystem.Hypervisor;
using VmEcosystem.Providers.Libvirt.Native;

namespace VmEcosystem.Providers.Libvirt;

/// <summary>
/// Lifecycle events: libvirt's event thread only enqueues, into a bounded queue (on overflow events are dropped and
/// one resync is requested, so a consumer re-reads the inventory instead of missing changes); a pump turns them into
/// inventory changes. The pump survives every error (each is logged and counted) and stops only on dispose.
/// </summary>
internal sealed partial class LibvirtHypervisor
{
    private const int EventDefined = 0, EventUndefined = 1, EventStarted = 2, EventStopped = 5;
    private const int DetailStartedMigrated = 1, DetailStoppedMigrated = 3;

    private readonly Channel<DomainLifecycleEvent> _eventQueue;
    private readonly CancellationTokenSource _stopEvents = new();
    private readonly Task _events;
    private long _eventsDropped, _eventErrors;
    private int _overflowed;

    /// <summary>Events dropped because the queue was full (each overflow also requests a resync).</summary>
    internal long EventsDropped => Interlocked.Read(ref _eventsDropped);

    /// <summary>Events whose handling failed (logged; the pump goes on).</summary>
    internal long EventErrors => Interlocked.Read(ref _eventErrors);

    // On libvirt's event loop thread: never blocks, never throws.
    internal void OnLifecycleEvent(DomainLifecycleEvent e)
    {
        if (!_eventQueue.Writer.TryWrite(e) && !_stopEvents.IsCancellationRequested)
        {
            Interlocked.Increment(ref _eventsDropped);
            Interlocked.Exchange(ref _overflowed, 1);
        }
    }

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
        var reader = _eventQueue.Reader;
        try
        {
            while (await reader.WaitToReadAsync(_stopEvents.Token).ConfigureAwait(false))
            {
                while (reader.TryRead(out var e))
                {
                    await HandleOneAsync(e).ConfigureAwait(false);
                }

                // Caught up: if events were dropped meanwhile, one resync covers all of them.
                if (Interlocked.Exchange(ref _overflowed, 0) == 1)
                {
                    LogEventsDropped(Logger, EventsDropped, _options.EventQueueCapacity);
                    PublishInventoryChange(new InventoryResyncRequired(
                        $"libvirt lifecycle events arrived faster than they were handled; {EventsDropped} dropped so far (EventQueueCapacity {_options.EventQueueCapacity}).")
                    {
                        Timestamp = TimeProvider.GetUtcNow(),
                    });
                }
            }
        }
        catch (OperationCanceledException) when (_stopEvents.IsCancellationRequested)
        {
            // Disposed.
        }
    });

    private async Task HandleOneAsync(DomainLifecycleEvent e)
    {
        try
        {
            using var call = CancellationTokenSource.CreateLinkedTokenSource(_stopEvents.Token);
            call.CancelAfter(_options.CallTimeout);
            await HandleAsync(e, call.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (_stopEvents.IsCancellationRequested)
        {
            // Disposing: the event no longer matters.
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // The domain changed again, the host went away or reconnected while we looked, or anything unexpected: the
            // event is dropped, counted and logged; the pump goes on and the next inventory read is authoritative.
            Interlocked.Increment(ref _eventErrors);
            LogEventFailed(Logger, e.Domain, e.Host.Value, $"{ex.GetType().Name}: {LibvirtUris.RedactAll(ex.Message)}");
        }
    }

    private async Task HandleAsync(DomainLifecycleEvent e, CancellationToken ct)
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
                if (await FindElsewhereAsync(vm, e.Host, ct).ConfigureAwait(false) is { } elsewhere)
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
        var info = await OnHostAsync(c, ct, h =>
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
    private async Task<HostId?> FindElsewhereAsync(VmId vm, HostId except, CancellationToken ct)
    {
        foreach (var c in _connections.Values.Where(c => c.Host != except))
        {
            try
            {
                if (await HasActiveDomainAsync(c, vm, ct).ConfigureAwait(false) == true)
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

    [LoggerMessage(EventId = 2002, Level = LogLevel.Warning, Message = "libvirt event for {Vm} on {Host} could not be resolved: {Reason}")]
    private static partial void LogEventFailed(ILogger logger, string vm, string host, string reason);

    [LoggerMessage(EventId = 2003, Level = LogLevel.Warning, Message = "libvirt lifecycle events overflowed their queue ({Capacity}); {Dropped} dropped so far, a resync is requested")]
    private static partial void LogEventsDropped(ILogger logger, long dropped, int capacity);

    [LoggerMessage(EventId = 2004, Level = LogLevel.Warning, Message = "The libvirt event pump did not stop within {Timeout}; a handler is stuck in a native call and is abandoned")]
    private static partial void LogEventPumpAbandoned(ILogger logger, TimeSpan timeout);
}
