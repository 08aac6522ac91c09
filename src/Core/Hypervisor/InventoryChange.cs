using VmEcosystem.Cluster;

namespace VmEcosystem.Hypervisor;

/// <summary>A change in a provider's inventory. Consumers that fall behind receive <see cref="InventoryResyncRequired"/>.</summary>
public abstract record InventoryChange
{
    /// <summary>When the provider observed the change.</summary>
    public required DateTimeOffset Timestamp { get; init; }
}

/// <summary>A VM appeared (created, defined, or discovered).</summary>
/// <param name="Vm">The VM.</param>
/// <param name="Host">Where it runs.</param>
public sealed record VmAdded(VmInfo Vm, HostId Host) : InventoryChange;

/// <summary>A VM disappeared (deleted, undefined, or its host was lost).</summary>
/// <param name="Vm">The VM.</param>
public sealed record VmRemoved(VmId Vm) : InventoryChange;

/// <summary>A VM's configuration or state changed (resized, paused, resumed).</summary>
/// <param name="Vm">The new description.</param>
public sealed record VmUpdated(VmInfo Vm) : InventoryChange;

/// <summary>A VM now runs on another host (a migration completed).</summary>
/// <param name="Vm">The VM.</param>
/// <param name="From">The previous host.</param>
/// <param name="To">The new host.</param>
public sealed record VmMoved(VmId Vm, HostId From, HostId To) : InventoryChange;

/// <summary>A host appeared.</summary>
/// <param name="Host">The host.</param>
public sealed record HostAdded(HostInfo Host) : InventoryChange;

/// <summary>A host disappeared.</summary>
/// <param name="Host">The host.</param>
public sealed record HostRemoved(HostId Host) : InventoryChange;

/// <summary>A host's description or state changed (maintenance, capacity).</summary>
/// <param name="Host">The new description.</param>
public sealed record HostUpdated(HostInfo Host) : InventoryChange;

/// <summary>Events were lost (the consumer fell behind or the provider reconnected): read the inventory again.</summary>
/// <param name="Reason">Why.</param>
public sealed record InventoryResyncRequired(string Reason) : InventoryChange;
