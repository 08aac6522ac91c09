using VmEcosystem.Cluster;
using VmEcosystem.Forecasting;
using VmEcosystem.Planning;
using VmEcosystem.Planning.ShadowSlots;
using VmEcosystem.Reservations;
using VmEcosystem.Simulation;

namespace VmEcosystem.Experiments;

/// <summary>
/// The reservation experiment's running moves: admission, reservations, steering, the copy's CPU slowdown and the
/// window accounting (see <see cref="ReservationExperiment"/>). Scratch buffers are reused between steps.
/// </summary>
internal sealed partial class MigrationWindows
{
    private readonly ClusterSimulation _sim;
    private readonly SimulationScenario _scenario;
    private readonly ReservationOptions _options;
    private readonly ReservationMode _mode;
    private readonly PlanningCycle _cycle;
    private readonly ReservationPredictor _predictor;
    private readonly PreCopyMigrationModel _model;
    private readonly PreCopyModelOptions _modelOptions;
    private readonly MigrationReservations _reservations;
    private readonly Dictionary<int, Window> _byVm = [];
    private readonly List<Window> _active = [];
    private readonly string[] _class;
    private readonly double[] _history;
    private readonly DefaultWorkloadClassifier _classifier = new();
    private readonly SubIntervalDemand _variation;
    private readonly List<Entity> _entities = new(32);
    private readonly List<int> _destinations = [];
    private readonly List<int> _sources = [];
    private readonly Dictionary<int, double> _hostDemand = [];
    private readonly double[] _slo = new double[3];
    private double _demand, _shortfall, _reserved, _idle, _peakUtilization, _secondsAbove90;
    private int _bandwidthCommands, _reservationCommands;

    public MigrationWindows(ClusterSimulation sim, SimulationScenario scenario, ReservationOptions options, ReservationMode mode, PlanningCycle cycle, SubIntervalDemand variation)
    {
        _variation = variation;
        _sim = sim;
        _scenario = scenario;
        _options = options;
        _mode = mode;
        _cycle = cycle;
        _modelOptions = scenario.Model.PreCopy!;
        _model = new PreCopyMigrationModel(_modelOptions);
        _predictor = new ReservationPredictor(options, _modelOptions);
        _reservations = new MigrationReservations(cycle.Session.Ledger);
        _class = new string[scenario.Vms.Count];
        _history = new double[scenario.Model.HistoryLength];
    }

    public bool Active => _active.Count > 0;

    public int Deferred { get; private set; }

    public MigrationWindowAccounting Accounting => new(_demand, _shortfall, _reserved, _idle,
        new Dictionary<string, double> { ["critical"] = _slo[0], ["standard"] = _slo[1], ["bestEffort"] = _slo[2] },
        _bandwidthCommands, _reservationCommands)
    {
        PeakDestinationUtilization = _peakUtilization,
        DestinationSecondsAbove90 = _secondsAbove90,
    };

    /// <summary>Classifies every VM in the cluster from its recent utilisation (priorities follow the class).</summary>
    public void ClassifyAll()
    {
        for (int v = 0; v < _class.Length; v++)
        {
            if (_sim.IsActive(v))
            {
                int n = _sim.CopyHistory(v, _history);
                _class[v] = _classifier.Classify(_scenario.Vms[v].Info.Id, _history.AsSpan(0, n), 1.0);
            }
        }
    }

    /// <summary>Admits (or defers) and starts a planned move.</summary>
    public void TryStart(MigrationDecision decision, DateTimeOffset now)
    {
        int v = decision.VmIndex, target = decision.TargetIndex, source = _sim.HostOf(v);
        if (source < 0 || source == target || _sim.MigrationTargetOf(v) >= 0)
        {
            return;
        }

        if (_byVm.TryGetValue(v, out var previous))
        {
            Close(previous); // the VM landed and moves again: its hold ends
        }

        var info = _scenario.Vms[v].Info;
        var host = _scenario.Hosts[target];
        double link = Math.Min(_scenario.Hosts[source].Capacity.NetworkMbps, host.Capacity.NetworkMbps) * _scenario.Model.MigrationBandwidthShare / 8;
        double memory = _sim.VmMemoryCapacityMiB(v);
        var storage = _sim.StorageCopyOf(v);
        var estimate = _model.EstimateWithStorage(memory, _sim.DirtyRate(v), link, storage);
        var move = new PlannedMove(info.Id, host.Id, new ResourceVector(_sim.VmVcpus(v), _sim.VmCapacityMips(v), memory),
            _cycle.Session.UpperBound(info.Id, 1, _options.Confidence), DemandOf(v),
            new ResourceVector(0, 0, 0, _sim.VmNetworkMbps(v), _sim.VmDiskIops(v)), _class[v], link, estimate.TotalSeconds, host.CoreMhz) { Storage = storage };
        var mode = _mode == ReservationMode.Static ? ReservationMode.Static : ReservationMode.Pid;
        var request = _predictor.Predict(move, mode);
        if (_mode != ReservationMode.None)
        {
            // As the runtime does: a copy too costly for the destination starts slower where the controller steers it.
            var (load, freeMemory) = LoadOf(target, v);
            double dirty = _sim.DirtyRate(v);
            double free = host.Capacity.CpuMhz - load - _reservations.ReservedMhzOn(host.Id);
            request = _predictor.FitTo(move, free, rate => _model.EstimateWithStorage(memory, dirty, Math.Max(1e-6, rate), storage).TotalSeconds, mode) ?? request;
            if (!_reservations.TryReserve(request, host.Capacity.CpuMhz, load, freeMemory, now).Admitted)
            {
                Deferred++;
                return;
            }
        }

        double? cap = request.Explanation.CopyMiBps < link - 1e-9 && _mode != ReservationMode.None ? request.Explanation.CopyMiBps * 8 : null;
        double end = _sim.StartMigration(v, target, cap);
        _cycle.MigrationStarted(decision, _scenario.Hosts[source].Id, now, TimeSpan.FromSeconds(end - _sim.Now), v, memory);
        if (_mode != ReservationMode.None)
        {
            _reservations.Hold(request, now); // replaces the planner's own in-flight slot
        }

        double staticMhz = _sim.VmCapacityMips(v) + request.Explanation.SpikeMhz;
        var w = new Window(v, source, target, info.Id, _options.PriorityOf(_class[v]), _class[v])
        {
            Reserved = _mode == ReservationMode.None ? 0 : request.Amount.CpuMhz,
            Steering = _mode == ReservationMode.Pid ? new MigrationSteering(request, staticMhz, _options, Math.Min(1, request.Explanation.CopyMiBps / link)) : null,
            FairMbps = cap is null ? _sim.CopyRate(v) * 8 : link * 8, // what a share of 1 means (the steering's shares are of the link)
            AppliedMbps = _sim.CopyRate(v) * 8,
            EstimatedSpikeMhz = _modelOptions.CpuOverhead(link).DestinationMhz,
        };
        _byVm[v] = w;
        _active.Add(w);
    }

    public void OnMigrationEnded(SimulatedMigrationEnd end)
    {
        if (!_byVm.TryGetValue(end.Vm, out var w) || w.Target != end.Target)
        {
            return;
        }

        if (w.CopySeconds > 0)
        {
            _predictor.ObserveSpike(w.Class, w.EstimatedSpikeMhz, w.CopyMhzSeconds / w.CopySeconds);
        }

        if (_mode == ReservationMode.None)
        {
            _cycle.MigrationEnded(w.Id);
        }

        if (end.Cancelled)
        {
            Close(w);
            return;
        }

        w.Copying = false;
        w.HoldUntil = end.TimeSeconds + _options.HoldAfterSwitchOver.TotalSeconds;
    }

    /// <summary>Accounts and steers the windows over [now, now + <paramref name="dt"/>) (the state is constant within it).</summary>
    public void Step(double dt, DateTimeOffset epoch)
    {
        double now = _sim.Now;
        for (int i = _active.Count - 1; i >= 0; i--)
        {
            if (_active[i].HoldUntil <= now)
            {
                Close(_active[i]);
            }
        }

        _destinations.Clear();
        _sources.Clear();
        foreach (var w in _active)
        {
            AddOnce(_destinations, w.Target);
            if (w.Copying)
            {
                AddOnce(_sources, w.Source);
            }
        }

        _hostDemand.Clear();
        foreach (int h in _destinations)
        {
            Serve(h, dt, everyVm: true);
        }

        foreach (int h in _sources)
        {
            if (!_destinations.Contains(h))
            {
                Serve(h, dt, everyVm: false);
            }
        }

        foreach (var w in _active)
        {
            Steer(w, dt);
        }
    }

    private void Steer(Window w, double dt)
    {
        double share = 1;
        var capacity = _scenario.Hosts[w.Target].Capacity.CpuMhz;
        if (w.Steering is { } steering)
        {
            double demand = w.Copying ? _sim.CopyOverheadMhz(w.Vm, atTarget: true) : DemandOf(w.Vm);
            var command = steering.Tick(demand, _hostDemand.GetValueOrDefault(w.Target), capacity, w.Copying, dt);
            if (Math.Abs(command.ReservedMhz - w.Reserved) > 0.01 * Math.Max(1, w.Reserved))
            {
                w.Reserved = command.ReservedMhz;
                _reservations.ResizeCpu(w.Id, w.Reserved);
                _reservationCommands++;
            }

            share = command.BandwidthShare;
        }

        if (w.Copying)
        {
            w.CopyMhzSeconds += _sim.CopyOverheadMhz(w.Vm, atTarget: true) * dt;
            w.CopySeconds += dt;

            // A copy that did not get its CPU on either host slows in proportion (the pre-copy model then stretches it).
            double want = Math.Max(1, w.FairMbps * share * Math.Min(w.SourceServed, w.TargetServed));
            if (Math.Abs(want - w.AppliedMbps) > 0.05 * w.AppliedMbps && _sim.MigrationTargetOf(w.Vm) == w.Target)
            {
                _sim.SetMigrationBandwidth(w.Vm, want);
                w.AppliedMbps = want;
                _bandwidthCommands++;
            }
        }
    }

    private void Serve(int h, double dt, bool everyVm)
    {
        var host = _scenario.Hosts[h];
        double capacity = host.Capacity.CpuMhz, core = Math.Max(1, host.CoreMhz);
        _entities.Clear();
        double total = 0, entitled = 0;
        foreach (int u in _sim.VmsOn(h))
        {
            bool incoming = _sim.MigrationTargetOf(u) == h;
            bool outgoing = !incoming && _sim.MigrationTargetOf(u) >= 0;
            double d = incoming ? _sim.CopyOverheadMhz(u, atTarget: true) : DemandOf(u) + (outgoing ? _sim.CopyOverheadMhz(u, atTarget: false) : 0);
            var w = _byVm.GetValueOrDefault(u);
            double r = w is not null && w.Target == h ? w.Reserved : 0;
            double e = Math.Min(d, r);
            _entities.Add(new Entity(u, d, r, e, _options.PriorityOf(_class[u]), incoming, outgoing, w));
            total += d;
            entitled += e;
        }

        _hostDemand[h] = total;
        if (everyVm)
        {
            _peakUtilization = Math.Max(_peakUtilization, total / capacity);
            _secondsAbove90 += total > 0.9 * capacity ? dt : 0;
        }

        Span<double> served = _entities.Count <= 128 ? stackalloc double[_entities.Count] : new double[_entities.Count];
        Allocate(capacity, total, entitled, served, byPriority: _mode == ReservationMode.Pid && everyVm);
        for (int i = 0; i < _entities.Count; i++)
        {
            var x = _entities[i];
            if (x.Window is { } w)
            {
                double fraction = x.Demand > 0 ? served[i] / x.Demand : 1;
                if (x.Incoming)
                {
                    w.TargetServed = fraction;
                }
                else if (x.Outgoing)
                {
                    w.SourceServed = fraction;
                }
            }

            if (!everyVm && !x.Outgoing)
            {
                continue;
            }

            _demand += x.Demand * dt / core;
            _shortfall += (x.Demand - served[i]) * dt / core;
            if (x.Reserved > 0)
            {
                _reserved += x.Reserved * dt / core;
                _idle += Math.Max(0, x.Reserved - served[i]) * dt / core;
            }

            if (!x.Incoming && x.Demand > 0 && served[i] < 0.95 * x.Demand)
            {
                _slo[(int)x.Priority] += dt;
            }
        }
    }

    // CPU of one host: reservations first (each up to its demand), then the rest by priority tier (Pid, on a
    // destination: the controller's shares) or in proportion to demand (the default fair share; always on a source,
    // where the controller sets nothing).
    private void Allocate(double capacity, double total, double entitled, Span<double> served, bool byPriority)
    {
        if (total <= capacity)
        {
            for (int i = 0; i < served.Length; i++)
            {
                served[i] = _entities[i].Demand;
            }

            return;
        }

        double scale = entitled > capacity ? capacity / entitled : 1;
        double left = capacity - (entitled * scale);
        for (int i = 0; i < served.Length; i++)
        {
            served[i] = _entities[i].Entitled * scale;
        }

        for (int tier = 0; tier < 3; tier++)
        {
            double residual = 0;
            for (int i = 0; i < served.Length; i++)
            {
                if (!byPriority || (int)_entities[i].Priority == tier)
                {
                    residual += _entities[i].Demand - _entities[i].Entitled;
                }
            }

            double f = residual > left ? left / residual : 1;
            for (int i = 0; i < served.Length; i++)
            {
                if (!byPriority || (int)_entities[i].Priority == tier)
                {
                    served[i] += (_entities[i].Demand - _entities[i].Entitled) * f;
                }
            }

            left -= residual * f;
            if (!byPriority)
            {
                break;
            }
        }
    }

    private (double LoadMhz, double FreeMemoryMiB) LoadOf(int h, int moving)
    {
        double load = 0, memory = 0;
        foreach (int u in _sim.VmsOn(h))
        {
            if (u == moving)
            {
                continue;
            }

            memory += _sim.VmMemoryCapacityMiB(u);
            bool incoming = _sim.MigrationTargetOf(u) == h;
            bool held = _byVm.TryGetValue(u, out var w) && w.Target == h;
            if (!incoming && !held)
            {
                load += DemandOf(u) + (_sim.MigrationTargetOf(u) >= 0 ? _sim.CopyOverheadMhz(u, atTarget: false) : 0);
            }
        }

        return (load, _scenario.Hosts[h].Capacity.MemoryMiB - memory);
    }

    // What the VM asks for now: its trace's figure, resolved within the interval.
    private double DemandOf(int vm) => _variation.At(vm, _sim.Now, _sim.VmDemandMips(vm), _sim.VmCapacityMips(vm));

    private void Close(Window w)
    {
        _active.Remove(w);
        _byVm.Remove(w.Vm);
        if (_mode != ReservationMode.None)
        {
            _reservations.Release(w.Id);
        }
    }

    private static void AddOnce(List<int> list, int value)
    {
        if (!list.Contains(value))
        {
            list.Add(value);
        }
    }
}
