using VmEcosystem.Hypervisor;

namespace VmEcosystem.Runtime;

/// <summary>
/// The <c>inventory</c> controller: follows the provider's change feed: keeps the ecosystem graph and the executor's
/// view of where VMs are current, and triggers a planning pass on news (a change that is not the runtime's own move).
/// </summary>
internal sealed class InventoryController(RuntimeCore core, RuntimeModel model, ActionExecutor executor, CollectionController collection) : IRuntimeController
{
    public const string ControllerName = "inventory";

    public string Name => ControllerName;

    public async Task RunOnceAsync(ControllerContext context, CancellationToken cancellationToken)
    {
        if ((core.Hypervisor.Capabilities & HypervisorCapabilities.InventoryEvents) == 0)
        {
            await context.WaitAsync(Task.Delay(Timeout.Infinite, cancellationToken)).ConfigureAwait(false);
            return;
        }

        var stream = core.Hypervisor.WatchInventoryAsync(cancellationToken);
        var backlog = stream as IChangeBacklog;
        if (backlog is not null)
        {
            core.Quiet.Track(backlog);
        }

        var feed = stream.GetAsyncEnumerator(cancellationToken);
        try
        {
            while (await context.WaitAsync(feed.MoveNextAsync().AsTask()).ConfigureAwait(false))
            {
                OnChange(feed.Current);
            }
        }
        finally
        {
            await feed.DisposeAsync().ConfigureAwait(false);
            if (backlog is not null)
            {
                core.Quiet.Untrack(backlog);
            }
        }
    }

    private void OnChange(InventoryChange change)
    {
        if (change is VmMoved movedVm)
        {
            executor.NoteHost(movedVm.Vm, movedVm.To);
        }
        else if (change is VmRemoved removed)
        {
            executor.NoteHost(removed.Vm, null);
        }

        lock (model.Gate)
        {
            model.Recheck.Apply(change, core.Time.GetUtcNow());
            if (model.Graph is not null && model.GraphLoaded)
            {
                if (change is InventoryResyncRequired)
                {
                    model.GraphLoaded = false;
                }
                else
                {
                    model.Graph.Apply(change);
                }
            }
        }

        // Our own migrations completing are not news; anything else may warrant a pass.
        bool own = change is VmMoved moved && model.TakeOwnMove(moved.Vm);
        if (!own && core.Options.PlanOnInventoryChange)
        {
            collection.Trigger("inventory", debounce: true);
        }
    }
}
