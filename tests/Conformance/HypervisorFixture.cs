using VmEcosystem.Cluster;
using VmEcosystem.Hypervisor;

namespace VmEcosystem.Conformance;

/// <summary>Marks an abstract class as a conformance suite that every provider test project must inherit.</summary>
[AttributeUsage(AttributeTargets.Class, Inherited = false)]
public sealed class ConformanceSuiteAttribute : Attribute;

/// <summary>
/// What a provider's test project supplies to the conformance suites: fresh providers, a way to let time pass
/// (a fake clock for the simulator, real waiting for real hypervisors) and the VMs/hosts tests may use.
/// </summary>
public interface IHypervisorFixture
{
    /// <summary>Creates a provider in a known state. Tests dispose it.</summary>
    Task<HypervisorProvider> CreateProviderAsync();

    /// <summary>Lets <paramref name="duration"/> of provider time pass (advance a fake clock, or wait).</summary>
    Task LetTimePassAsync(HypervisorProvider provider, TimeSpan duration);

    /// <summary>How long a migration may take in provider time.</summary>
    TimeSpan MigrationTimeout { get; }

    /// <summary>A running VM that tests may hot-plug, tune and migrate, and a host it may migrate to.</summary>
    Task<(VmId Vm, HostId Target)> PickMigrationAsync(HypervisorProvider provider);

    /// <summary>A host id that does not exist, for error tests.</summary>
    HostId UnknownHost => new("no-such-host-7f3a");

    /// <summary>A VM id that does not exist, for error tests.</summary>
    VmId UnknownVm => new("no-such-vm-7f3a");
}
