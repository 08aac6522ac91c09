using VmEcosystem.Planning.ShadowSlots;

namespace VmEcosystem.Planning.Predictive;

/// <summary>
/// Per-pass working view of every host's predicted CPU load at the planning horizon:
/// Σ expected demand of its VMs + the aggregated growth reservations + shadow slots for migrations in flight and
/// headroom. Growth reservations (upper − expected of each VM) are combined as √((1 − ρ)Σg² + ρ(Σg)²): VMs do not
/// all peak together (ρ = 1 would be far too pessimistic), nor independently (ρ = 0). Follows every tentative move.
/// </summary>
internal sealed class PredictedHostLoad : IPlanningPassObserver
{
    private readonly PlanningState _state;
    private readonly DemandForecastSet _forecasts;
    private readonly double _rho;
    private readonly double[] _point;
    private readonly double[] _growth;
    private readonly double[] _growthSq;
    private readonly double[] _reserved;

    /// <summary>Builds the view for a pass.</summary>
    public PredictedHostLoad(PlanningPass pass, double correlation)
    {
        ArgumentNullException.ThrowIfNull(pass);
        _state = pass.State;
        _forecasts = pass.Context.Get<DemandForecastSet>()
            ?? throw new InvalidOperationException("Predictive planning needs a DemandForecastSet in the planning context.");
        if (_forecasts.Count != _state.VmCount)
        {
            throw new InvalidOperationException($"The forecasts cover {_forecasts.Count} VMs; the planning state has {_state.VmCount}.");
        }

        _rho = Math.Clamp(correlation, 0, 1);
        int hosts = _state.HostCount;
        _point = new double[hosts];
        _growth = new double[hosts];
        _growthSq = new double[hosts];
        _reserved = new double[hosts];
        var uncovered = new double[hosts];
        var ledger = pass.Context.Get<ShadowSlotLedger>();
        bool inFlight = ledger is not null && ledger.CountOf(ReservationKind.MigrationInFlight) > 0;
        for (int h = 0; h < hosts; h++)
        {
            foreach (int v in _state.HostVms[h])
            {
                // A VM migrating in is covered by its in-flight shadow slot, not counted twice; so is one that has
                // landed and whose slot still holds for it (a migration reservation outlives the switch-over). A slot
                // steered below the VM's predicted upper demand (a reservation that holds only the copy's CPU before
                // the switch-over) covers only that much: the rest of the VM's upper demand is counted beside it.
                var slot = inFlight ? ledger!.Find(_state.VmIds[v].Value, ReservationKind.MigrationInFlight) : null;
                if (ledger is not null && (_state.VmMigratingTo[v] == h || slot?.Host == _state.HostIds[h]))
                {
                    uncovered[h] += slot?.Host == _state.HostIds[h] ? Math.Max(0, _forecasts.Upper(v) - slot.Amount.CpuMhz) : 0;
                    continue;
                }

                Add(h, v, 1);
            }

            if (ledger is not null)
            {
                var id = _state.HostIds[h];
                _reserved[h] = ledger.ReservedOn(id, ReservationKind.MigrationInFlight).CpuMhz + ledger.ReservedOn(id, ReservationKind.Headroom).CpuMhz + uncovered[h];
            }
        }
    }

    /// <summary>Predicted load of a host, MIPS.</summary>
    public double Load(int host) => _point[host] + Aggregate(_growth[host], _growthSq[host]) + _reserved[host];

    /// <summary>Predicted load of a host if <paramref name="vm"/> were added to it, MIPS.</summary>
    public double LoadWith(int host, int vm)
    {
        double g = Growth(vm);
        return _point[host] + _forecasts.Point(vm) + Aggregate(_growth[host] + g, _growthSq[host] + (g * g)) + _reserved[host];
    }

    /// <summary>Predicted load of a host if <paramref name="vm"/> left it, MIPS.</summary>
    public double LoadWithout(int host, int vm)
    {
        double g = Growth(vm);
        return Math.Max(0, _point[host] - _forecasts.Point(vm)) + Aggregate(Math.Max(0, _growth[host] - g), Math.Max(0, _growthSq[host] - (g * g))) + _reserved[host];
    }

    /// <summary>Expected load (no growth, no reservations), MIPS.</summary>
    public double Expected(int host) => _point[host];

    /// <inheritdoc />
    public void OnCommitted(PlanningPass pass, int vm, int source, int target)
    {
        if (source >= 0)
        {
            Add(source, vm, -1);
        }

        Add(target, vm, 1);
    }

    /// <inheritdoc />
    public void OnRolledBack(PlanningPass pass, int vm, int source, int target)
    {
        Add(target, vm, -1);
        if (source >= 0)
        {
            Add(source, vm, 1);
        }
    }

    /// <summary>Removes a VM from a host's load (a stage took it off its source before placing it).</summary>
    public void Detach(int host, int vm) => Add(host, vm, -1);

    /// <summary>Puts a detached VM back.</summary>
    public void Attach(int host, int vm) => Add(host, vm, 1);

    private double Growth(int vm) => _forecasts.Upper(vm) - _forecasts.Point(vm);

    private double Aggregate(double sum, double sumSq) => Math.Sqrt(Math.Max(0, ((1 - _rho) * sumSq) + (_rho * sum * sum)));

    private void Add(int host, int vm, int sign)
    {
        double g = Growth(vm);
        _point[host] = Math.Max(0, _point[host] + (sign * _forecasts.Point(vm)));
        _growth[host] = Math.Max(0, _growth[host] + (sign * g));
        _growthSq[host] = Math.Max(0, _growthSq[host] + (sign * g * g));
    }
}
