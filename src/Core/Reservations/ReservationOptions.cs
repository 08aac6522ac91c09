namespace VmEcosystem.Reservations;

/// <summary>How a migration's destination is held while it runs.</summary>
public enum ReservationMode
{
    /// <summary>Nothing beyond the planner's own in-flight slot (what vSphere DRS, Watcher and Nova do): no admission check, no steering.</summary>
    None = 0,

    /// <summary>The VM's full allocation plus the copy's spike, held unchanged for the whole window.</summary>
    Static = 1,

    /// <summary>The predicted request (forecast upper bound plus the corrected spike), steered by a PID controller while the move runs.</summary>
    Pid = 2,
}

/// <summary>Service-level priority of a VM when migrations and residents contend for one destination.</summary>
public enum SloPriority
{
    /// <summary>Served first, never squeezed for a migration.</summary>
    Critical = 0,

    /// <summary>Served after critical VMs.</summary>
    Standard = 1,

    /// <summary>Served last.</summary>
    BestEffort = 2,
}

/// <summary>
/// Settings of migration reservations (configuration section <c>VmEcosystem:Reservations</c>): what a move holds on
/// its destination, how long, and how the controller steers it.
/// </summary>
public sealed record ReservationOptions
{
    /// <summary>How destinations are held (default <see cref="ReservationMode.Pid"/>).</summary>
    public ReservationMode Mode { get; init; } = ReservationMode.Pid;

    /// <summary>Confidence of the forecast interval whose upper bound is the VM's baseline during the window (0.5 to 0.999; default 0.95).</summary>
    public double Confidence { get; init; } = 0.95;

    /// <summary>How long a reservation outlives the switch-over, so the VM that just landed keeps what it needs until the next plan sees it (default 60 s).</summary>
    public TimeSpan HoldAfterSwitchOver { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>How often the runtime's controller steers each running reservation (default 5 s).</summary>
    public TimeSpan SteeringInterval { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Share of headroom the controller keeps above what the VM uses (its setpoint is usage × (1 + this); default 0.1).</summary>
    public double Headroom { get; init; } = 0.1;

    /// <summary>Destination utilisation above which the controller slows the copy to relieve the host (default 0.95).</summary>
    public double DestinationUtilizationTarget { get; init; } = 0.95;

    /// <summary>Slowest the controller may make a copy, share of the link it was given (default 0.25).</summary>
    public double MinBandwidthShare { get; init; } = 0.25;

    /// <summary>How fast an allocation change takes effect on the destination (first-order time constant; default 5 s, what the default gains were tuned on).</summary>
    public TimeSpan AllocationLag { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Weight of a new measurement in the per-class spike correction (exponential average; default 0.2).</summary>
    public double SpikeLearningRate { get; init; } = 0.2;

    /// <summary>Gains of the reservation controller, in MHz of reservation per MHz of error (defaults: <see cref="PidOptions"/>).</summary>
    public PidOptions Pid { get; init; } = new();

    /// <summary>
    /// Gains of the copy-bandwidth loop, in share of the link per unit of destination utilisation (defaults Kp 4,
    /// Ki 0.5, Kd 0: a 10-point overshoot cuts the copy to about 60 % at once, the integral closes the rest in about 20 s).
    /// Its output limits are set from <see cref="MinBandwidthShare"/> and 1.
    /// </summary>
    public PidOptions BandwidthPid { get; init; } = new() { Kp = 4, Ki = 0.5, Kd = 0 };

    /// <summary>Priority per workload class (classes not named are <see cref="SloPriority.Standard"/>).</summary>
    public IReadOnlyDictionary<string, SloPriority> PriorityByClass { get; init; } = new Dictionary<string, SloPriority>(StringComparer.Ordinal)
    {
        ["bursty"] = SloPriority.Critical,
        ["steady"] = SloPriority.Standard,
        ["idle"] = SloPriority.BestEffort,
    };

    /// <summary>The priority of a VM of <paramref name="workloadClass"/>.</summary>
    public SloPriority PriorityOf(string? workloadClass) =>
        workloadClass is not null && PriorityByClass.TryGetValue(workloadClass, out var p) ? p : SloPriority.Standard;

    /// <summary>
    /// Priority for disk I/O per workload class, where it differs from <see cref="PriorityByClass"/> (databases first
    /// for disk I/O): a landed VM's disk weight on its destination follows it while its reservation holds.
    /// </summary>
    public IReadOnlyDictionary<string, SloPriority> DiskPriorityByClass { get; init; } = new Dictionary<string, SloPriority>(StringComparer.Ordinal)
    {
        ["database"] = SloPriority.Critical,
    };

    /// <summary>The disk I/O priority of a VM of <paramref name="workloadClass"/>.</summary>
    public SloPriority DiskPriorityOf(string? workloadClass) =>
        workloadClass is not null && DiskPriorityByClass.TryGetValue(workloadClass, out var p) ? p : PriorityOf(workloadClass);

    /// <summary>
    /// Priority for the network per workload class, where it differs from <see cref="PriorityByClass"/> (web servers
    /// first for the network): of two copies into one destination, the lower one yields the link.
    /// </summary>
    public IReadOnlyDictionary<string, SloPriority> NetworkPriorityByClass { get; init; } = new Dictionary<string, SloPriority>(StringComparer.Ordinal)
    {
        ["web"] = SloPriority.Critical,
    };

    /// <summary>The network priority of a VM of <paramref name="workloadClass"/>.</summary>
    public SloPriority NetworkPriorityOf(string? workloadClass) =>
        workloadClass is not null && NetworkPriorityByClass.TryGetValue(workloadClass, out var p) ? p : PriorityOf(workloadClass);

    /// <summary>
    /// The most of its link share a copy may use while a copy of higher network priority runs into the same
    /// destination (the link goes to the higher one first).
    /// </summary>
    public double YieldedBandwidthShare { get; init; } = 0.5;

    /// <summary>Problems with these settings, each naming the setting (empty when valid).</summary>
    public IEnumerable<string> Validate(string prefix = "VmEcosystem:Reservations")
    {
        if (!Enum.IsDefined(Mode))
        {
            yield return $"{prefix}:Mode must be None, Static or Pid (was {Mode}).";
        }

        if (!(Confidence is >= 0.5 and <= 0.999))
        {
            yield return $"{prefix}:Confidence must be within [0.5, 0.999] (was {Confidence}).";
        }

        if (HoldAfterSwitchOver < TimeSpan.Zero || HoldAfterSwitchOver > TimeSpan.FromHours(1))
        {
            yield return $"{prefix}:HoldAfterSwitchOver must be between 0 and 1 hour (was {HoldAfterSwitchOver}).";
        }

        if (SteeringInterval < TimeSpan.FromMilliseconds(100) || SteeringInterval > TimeSpan.FromMinutes(5))
        {
            yield return $"{prefix}:SteeringInterval must be between 100 ms and 5 minutes (was {SteeringInterval}).";
        }

        if (!(Headroom is >= 0 and <= 2))
        {
            yield return $"{prefix}:Headroom must be within [0, 2] (was {Headroom}).";
        }

        if (!(DestinationUtilizationTarget is > 0 and <= 1))
        {
            yield return $"{prefix}:DestinationUtilizationTarget must be within (0, 1] (was {DestinationUtilizationTarget}).";
        }

        if (!(YieldedBandwidthShare is > 0 and <= 1))
        {
            yield return $"{prefix}:YieldedBandwidthShare must be within (0, 1] (was {YieldedBandwidthShare}).";
        }

        if (!(MinBandwidthShare is > 0 and <= 1))
        {
            yield return $"{prefix}:MinBandwidthShare must be within (0, 1] (was {MinBandwidthShare}).";
        }

        if (AllocationLag < TimeSpan.Zero || AllocationLag > TimeSpan.FromMinutes(5))
        {
            yield return $"{prefix}:AllocationLag must be between 0 and 5 minutes (was {AllocationLag}).";
        }

        if (!(SpikeLearningRate is > 0 and <= 1))
        {
            yield return $"{prefix}:SpikeLearningRate must be within (0, 1] (was {SpikeLearningRate}).";
        }

        foreach (var e in (Pid ?? new()).Validate($"{prefix}:Pid").Concat((BandwidthPid ?? new()).Validate($"{prefix}:BandwidthPid")))
        {
            yield return e;
        }

        foreach (var (cls, p) in PriorityByClass ?? new Dictionary<string, SloPriority>())
        {
            if (!Enum.IsDefined(p))
            {
                yield return $"{prefix}:PriorityByClass:{cls} must be Critical, Standard or BestEffort (was {p}).";
            }
        }
    }
}
