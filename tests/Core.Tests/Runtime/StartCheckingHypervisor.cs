using VmEcosystem.Cluster;
using VmEcosystem.Hypervisor;

namespace VmEcosystem.Tests.Runtime;

/// <summary>
/// A provider wrapper that checks every migration start, under its lock, against the inventory at that moment and
/// the moves it has seen start and not yet end (<see cref="InFlight"/>); what breaks goes to <see cref="Breaks"/>.
/// </summary>
internal abstract class StartCheckingHypervisor(IHypervisor provider) : DelegatingHypervisor(provider)
{
    private readonly IHypervisor _inner = provider;

    public List<string> Breaks { get; } = [];

    public int Starts { get; private set; }

    protected Lock Gate { get; } = new();

    /// <summary>Moves started through this wrapper and not ended yet: VM and target.</summary>
    protected Dictionary<VmId, HostId> InFlight { get; } = [];

    /// <summary>Checks one start (called under <see cref="Gate"/>, before the provider is asked).</summary>
    protected abstract void Check(MigrationRequest request, InventorySnapshot inventory);

    public override async Task<IMigrationOperation> StartMigrationAsync(MigrationRequest request, CancellationToken cancellationToken = default)
    {
        var inventory = await _inner.GetInventoryAsync(cancellationToken);
        lock (Gate)
        {
            Check(request, inventory);
        }

        var operation = await _inner.StartMigrationAsync(request, cancellationToken);
        lock (Gate)
        {
            Starts++;
            InFlight[request.Vm] = request.Target;
        }

        _ = operation.Completion.ContinueWith(_ =>
        {
            lock (Gate)
            {
                InFlight.Remove(request.Vm);
            }
        }, TaskScheduler.Default);
        return operation;
    }
}
