using VmEcosystem.Cluster;

namespace VmEcosystem.Ecosystem.Learning;

/// <summary>Network latency from a VM to its nearest provider of one dependency type, before and after a migration.</summary>
/// <param name="DependencyType">The dependency's type.</param>
/// <param name="BeforeMs">Latency before, milliseconds.</param>
/// <param name="AfterMs">Latency after, milliseconds.</param>
public readonly record struct DependencyLatencyChange(string DependencyType, double BeforeMs, double AfterMs);

/// <summary>How one VM performed before and after a migration (the migrated VM or one that depends on it).</summary>
/// <param name="Vm">The VM.</param>
/// <param name="VmType">Its type.</param>
/// <param name="Before">Application latency and throughput before.</param>
/// <param name="After">After.</param>
/// <param name="CpuBefore">CPU utilisation before, 0..1.</param>
/// <param name="CpuAfter">After.</param>
/// <param name="Dependencies">Network latency to each dependency type, before and after.</param>
public sealed record PerformanceChange(
    VmId Vm,
    string? VmType,
    ApplicationMetrics Before,
    ApplicationMetrics After,
    double CpuBefore,
    double CpuAfter,
    IReadOnlyList<DependencyLatencyChange> Dependencies);

/// <summary>An executed (or failed) migration and what it did.</summary>
/// <param name="Vm">The migrated VM.</param>
/// <param name="VmType">Its type.</param>
/// <param name="Source">Where it was.</param>
/// <param name="Target">Where it went (or should have).</param>
/// <param name="Rule">The planner rule that chose it.</param>
/// <param name="Succeeded">False when the migration failed or was cancelled.</param>
/// <param name="PredictedSeconds">Duration the planner estimated.</param>
/// <param name="ActualSeconds">Duration observed.</param>
/// <param name="Changes">Performance of the VM and its dependents before and after.</param>
public sealed record MigrationOutcome(
    VmId Vm,
    string? VmType,
    HostId Source,
    HostId Target,
    string Rule,
    bool Succeeded,
    double PredictedSeconds,
    double ActualSeconds,
    IReadOnlyList<PerformanceChange> Changes);
