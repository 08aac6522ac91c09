using VmEcosystem.Cluster;
using VmEcosystem.Reservations;

namespace VmEcosystem.Experiments;

/// <summary>The running moves' state and a host's CPU claimants.</summary>
internal sealed partial class MigrationWindows
{
    private readonly record struct Entity(int Vm, double Demand, double Reserved, double Entitled, SloPriority Priority, bool Incoming, bool Outgoing, Window? Window);

    private sealed class Window(int vm, int source, int target, VmId id, SloPriority priority, string? cls)
    {
        public int Vm { get; } = vm;
        public int Source { get; } = source;
        public int Target { get; } = target;
        public VmId Id { get; } = id;
        public SloPriority Priority { get; } = priority;
        public string? Class { get; } = cls;
        public bool Copying { get; set; } = true;
        public double HoldUntil { get; set; } = double.PositiveInfinity;
        public double Reserved { get; set; }
        public MigrationSteering? Steering { get; init; }
        public double FairMbps { get; init; }
        public double AppliedMbps { get; set; }
        public double EstimatedSpikeMhz { get; init; }
        public double SourceServed { get; set; } = 1;
        public double TargetServed { get; set; } = 1;
        public double CopyMhzSeconds { get; set; }
        public double CopySeconds { get; set; }
    }
}
