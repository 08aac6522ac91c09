using VmEcosystem.Cluster;
using VmEcosystem.Planning;

namespace VmEcosystem.Simulation;

/// <summary>A migration that completed inside the simulation.</summary>
/// <param name="Vm">VM index.</param>
/// <param name="Source">Host it left.</param>
/// <param name="Target">Host it runs on now.</param>
/// <param name="TimeSeconds">Simulated completion time.</param>
/// <param name="Cancelled">True when the migration was cancelled (the VM stayed on the source).</param>
public readonly record struct SimulatedMigrationEnd(int Vm, int Source, int Target, double TimeSeconds, bool Cancelled);

/// <summary>
/// The simulation engine: a virtual-time cluster whose VMs follow demand traces. Physics only — planning is done
/// by the caller after each tick through <see cref="CapturePlanningState"/> and <see cref="StartMigration"/>.
/// Events (ticks and migration completions) are processed in time order, with CloudSim 3.0.3's update,
/// scheduling, energy and SLA accounting, so that a CloudSim-compatible scenario reproduces its figures.
/// State is struct-of-arrays; a tick allocates nothing.
/// </summary>
internal sealed partial class ClusterSimulation
{
    private readonly SimulationScenario _scenario;
    private readonly SimulationModel _model;
    private readonly int _hostCount;
    private readonly int _vmCount;
    private readonly int _historyLength;

    // static description
    private readonly double[] _hostTotalMips;
    private readonly double[] _hostPeMips;
    private readonly double[] _hostBandwidthMbps;
    private readonly IPowerModel?[] _hostPower;
    private readonly double[] _vmTotalMips;
    private readonly int[] _vmPes;
    private readonly double[] _vmMemoryMiB;
    private readonly DemandTrace[] _traces;

    // dynamic state
    private readonly List<int>[] _hostVms;
    private readonly double[] _hostUtilMips;
    private readonly double[] _hostPrevUtilMips;
    private readonly bool[] _hostAvailableForVms;
    private readonly int[] _vmHost;
    private readonly int[] _vmTarget;
    private readonly bool[] _vmActive;
    private readonly double[] _vmRequest;
    private readonly double[] _vmAlloc;
    private readonly double[] _vmLastTick;
    private readonly double[] _vmCpuQuota;
    private readonly double[] _vmHistory;
    private readonly int[] _vmHistoryStart;
    private readonly int[] _vmHistoryCount;
    private readonly double[] _scratch;
    private readonly PriorityQueue<(int Vm, int Target), (double Time, long Seq)> _completions = new();
    private readonly Dictionary<int, List<int>> _extraTargets = [];
    private readonly double[] _vmMigrationEnd;
    private readonly double[] _vmCopyMiBps;
    private long _eventSeq;

    // accounting
    private readonly SlaAccounting _sla;
    private readonly List<SimulationTick> _ticks = new(300);
    private double _energyWattSeconds;
    private double _lastProcessTime;
    private int _migrations;
    private int _migrationsAtLastTick;
    private bool _tickRowPending;
    private double _nextTick;
    private double _lastTickTime = double.NaN;
    private int _activeVms;
    private readonly PreCopyPhysics? _preCopy;

    /// <summary>Creates the simulation with every VM on its initial host (VM order, as CloudSim creates them).</summary>
    /// <param name="scenario">Hosts, VMs, traces and physics.</param>
    /// <param name="initialHostOfVm">Host index of each VM (-1: not placed, the VM takes no part).</param>
    public ClusterSimulation(SimulationScenario scenario, IReadOnlyList<int> initialHostOfVm)
    {
        ArgumentNullException.ThrowIfNull(scenario);
        ArgumentNullException.ThrowIfNull(initialHostOfVm);
        if (initialHostOfVm.Count != scenario.Vms.Count)
        {
            throw new ArgumentException(
                $"The initial placement names {initialHostOfVm.Count} VMs; the scenario has {scenario.Vms.Count}.", nameof(initialHostOfVm));
        }

        _scenario = scenario;
        _model = scenario.Model;
        _hostCount = scenario.Hosts.Count;
        _vmCount = scenario.Vms.Count;
        _historyLength = _model.HistoryLength;
        _hostTotalMips = new double[_hostCount];
        _hostPeMips = new double[_hostCount];
        _hostBandwidthMbps = new double[_hostCount];
        _hostPower = new IPowerModel?[_hostCount];
        _hostVms = new List<int>[_hostCount];
        _hostUtilMips = new double[_hostCount];
        _hostPrevUtilMips = new double[_hostCount];
        _hostAvailableForVms = new bool[_hostCount];
        for (int h = 0; h < _hostCount; h++)
        {
            var info = scenario.Hosts[h];
            _hostTotalMips[h] = info.Capacity.CpuMhz;
            _hostPeMips[h] = info.CoreMhz;
            _hostBandwidthMbps[h] = info.Capacity.NetworkMbps;
            _hostPower[h] = info.PowerModel;
            _hostVms[h] = new List<int>(8);
            _hostAvailableForVms[h] = info.State == HostState.Online;
        }

        _vmTotalMips = new double[_vmCount];
        _vmPes = new int[_vmCount];
        _vmMemoryMiB = new double[_vmCount];
        _traces = new DemandTrace[_vmCount];
        _vmHost = new int[_vmCount];
        _vmTarget = new int[_vmCount];
        _vmActive = new bool[_vmCount];
        _vmRequest = new double[_vmCount];
        _vmAlloc = new double[_vmCount];
        _vmLastTick = new double[_vmCount];
        _vmCpuQuota = new double[_vmCount];
        _vmMigrationEnd = new double[_vmCount];
        _vmCopyMiBps = new double[_vmCount];
        _vmHistory = new double[_vmCount * _historyLength];
        _vmHistoryStart = new int[_vmCount];
        _vmHistoryCount = new int[_vmCount];
        _scratch = new double[64];
        _preCopy = _model.PreCopy is { } preCopy ? new PreCopyPhysics(preCopy, _model.DirtyRates, _model.MigrationBandwidthShare, _hostCount) : null;
        for (int v = 0; v < _vmCount; v++)
        {
            var vm = scenario.Vms[v];
            _vmTotalMips[v] = vm.Info.Allocation.CpuMhz;
            _vmPes[v] = (int)Math.Max(1, vm.Info.Allocation.CpuCores);
            _vmMemoryMiB[v] = vm.Info.Allocation.MemoryMiB;
            _traces[v] = vm.Trace;
            _vmTarget[v] = -1;
            _vmLastTick[v] = -1;
            _vmCpuQuota[v] = double.PositiveInfinity;
            int host = initialHostOfVm[v];
            if (host < -1 || host >= _hostCount)
            {
                throw new ArgumentOutOfRangeException(nameof(initialHostOfVm), host, $"VM {v} is placed on unknown host index {host}.");
            }

            _vmHost[v] = host;
            if (host >= 0)
            {
                _hostVms[host].Add(v);
                _vmActive[v] = true;
                _activeVms++;
            }
        }

        _sla = new SlaAccounting(_hostCount, _vmCount);
        InitAllocation();
        _nextTick = _model.StartSeconds + _model.TickIntervalSeconds;
        Now = 0;
    }

    /// <summary>The scenario.</summary>
    public SimulationScenario Scenario => _scenario;

    /// <summary>Current simulated time, seconds.</summary>
    public double Now { get; private set; }

    /// <summary>Time of the next tick, or +∞ when no tick remains.</summary>
    public double NextTickTime => _nextTick <= _model.DurationSeconds ? _nextTick : double.PositiveInfinity;

    /// <summary>Number of ticks processed.</summary>
    public int TicksProcessed { get; private set; }

    /// <summary>Number of hosts.</summary>
    public int HostCount => _hostCount;

    /// <summary>Number of VMs (including ones no longer in the cluster).</summary>
    public int VmCount => _vmCount;

    /// <summary>Migrations started so far.</summary>
    public int Migrations => _migrations;

    /// <summary>Energy so far, kWh.</summary>
    public double EnergyKwh => _energyWattSeconds / 3_600_000;

    /// <summary>Raised when a migration completes or is cancelled.</summary>
    public event Action<SimulatedMigrationEnd>? MigrationEnded;

    /// <summary>Raised when a VM leaves the cluster (CloudSim-compatible mode removes VMs whose demand reaches 0).</summary>
    public event Action<int, double>? VmLeft;

    /// <summary>Time of the last update (tick or migration completion), seconds.</summary>
    public double LastUpdateTime => _lastProcessTime;

    /// <summary>Host index of a VM (the source while it migrates), or -1 once it left the cluster.</summary>
    public int HostOf(int vm) => _vmActive[vm] ? _vmHost[vm] : -1;

    /// <summary>Target host index while the VM migrates, else -1.</summary>
    public int MigrationTargetOf(int vm) => _vmTarget[vm];

    /// <summary>Simulated completion time of the VM's running migration (undefined when none runs).</summary>
    public double MigrationEndTime(int vm) => _vmMigrationEnd[vm];

    /// <summary>True while the VM is in the cluster.</summary>
    public bool IsActive(int vm) => _vmActive[vm];

    /// <summary>The VMs on a host in scheduler order (including VMs migrating in).</summary>
    public IReadOnlyList<int> VmsOn(int host) => _hostVms[host];

    /// <summary>CPU demand of a VM at the last update, MIPS.</summary>
    public double VmDemandMips(int vm) => _vmRequest[vm];

    /// <summary>CPU allocated to a VM by its host at the last update, MIPS.</summary>
    public double VmAllocatedMips(int vm) => _vmAlloc[vm];

    /// <summary>Configured MIPS of a VM (all vCPUs).</summary>
    public double VmCapacityMips(int vm) => _vmTotalMips[vm];

    /// <summary>vCPUs of a VM.</summary>
    public int VmVcpus(int vm) => _vmPes[vm];

    /// <summary>Configured memory of a VM, MiB.</summary>
    public double VmMemoryCapacityMiB(int vm) => _vmMemoryMiB[vm];

    /// <summary>Memory in use by a VM now, MiB.</summary>
    public double VmMemoryUsedMiB(int vm) => _vmReferenceMemoryMiB is null ? _traces[vm].MemoryAt(Now) * _vmMemoryMiB[vm] : Math.Min(VmMemoryDemandMiB(vm), _vmMemoryMiB[vm]);

    /// <summary>Network use of a VM now, Mbit/s.</summary>
    public double VmNetworkMbps(int vm) => _traces[vm].NetworkAt(Now) * _scenario.Vms[vm].Info.Allocation.NetworkMbps;

    /// <summary>Disk use of a VM now, IOPS.</summary>
    public double VmDiskIops(int vm) => _traces[vm].DiskAt(Now) * _scenario.Vms[vm].Info.Allocation.DiskIops;

    /// <summary>SLA figures of one host so far.</summary>
    public HostSlaFigures HostSla(int host) => _sla.Host(host);

    /// <summary>SLA figures of one VM so far.</summary>
    public VmSlaFigures VmSla(int vm) => _sla.Vm(vm);

    /// <summary>CPU utilisation of a host at the last update (0..1).</summary>
    public double HostUtilization(int host) => ClampUtilization(_hostUtilMips[host] / _hostTotalMips[host]);

    /// <summary>Whether a host accepts VMs (maintenance/offline hosts do not).</summary>
    public bool HostAcceptsVms(int host) => _hostAvailableForVms[host];

    /// <summary>Puts a host in or out of maintenance: the planner stops choosing it as a target.</summary>
    public void SetHostAcceptsVms(int host, bool accepts) => _hostAvailableForVms[host] = accepts;

    /// <summary>Caps a VM's CPU at a share of its MIPS (+∞: no cap); takes effect at the next update.</summary>
    public void SetCpuQuota(int vm, double quota) =>
        _vmCpuQuota[vm] = quota is > 0 ? quota : throw new ArgumentOutOfRangeException(nameof(quota), quota, "Quota must be positive.");

    /// <summary>
    /// Changes a VM's vCPUs (MIPS grow with them) and memory; takes effect at the first update after
    /// <see cref="SimulationModel.HotPlugDelaySeconds"/> (at the next update without a delay).
    /// </summary>
    public void Resize(int vm, int vcpus, double memoryMiB)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(vcpus, 1);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(memoryMiB);
        if (_model.HotPlugDelaySeconds > 0)
        {
            _pendingResizes.RemoveAll(p => p.Vm == vm); // the latest request wins
            _pendingResizes.Add((vm, vcpus, memoryMiB, Now + _model.HotPlugDelaySeconds));
            return;
        }

        ResizeNow(vm, vcpus, memoryMiB);
    }

    private void ResizeNow(int vm, int vcpus, double memoryMiB)
    {
        double perVcpu = _vmTotalMips[vm] / _vmPes[vm];
        _vmPes[vm] = vcpus;
        _vmTotalMips[vm] = perVcpu * vcpus;
        _vmMemoryMiB[vm] = memoryMiB;
    }

    /// <summary>Processes every event up to and including the next tick (completions, then the tick's update).</summary>
    /// <returns>False when no tick remains (remaining migrations are then completed).</returns>
    public bool AdvanceToNextTick()
    {
        double tick = NextTickTime;
        if (double.IsPositiveInfinity(tick))
        {
            Finish();
            return false;
        }

        AdvanceTo(tick);
        return true;
    }

    /// <summary>
    /// Processes every event up to <paramref name="time"/> + <paramref name="tolerance"/>; when the last event
    /// processed lies within the tolerance of <paramref name="time"/>, the clock stops at that event's exact time.
    /// Used by callers whose clock has coarser resolution than the simulation's (a <see cref="TimeProvider"/>).
    /// </summary>
    public void AdvanceTo(double time, double tolerance)
    {
        double before = Now;
        ProcessUntil(time + tolerance);
        Now = Math.Abs(_lastProcessTime - time) <= tolerance && _lastProcessTime >= before ? _lastProcessTime : Math.Max(before, time);
    }

    /// <summary>Processes every event with a time up to and including <paramref name="time"/>.</summary>
    public void AdvanceTo(double time)
    {
        ProcessUntil(time);
        if (time > Now && !double.IsPositiveInfinity(time))
        {
            Now = time;
        }
    }

    private void ProcessUntil(double time)
    {
        if (double.IsNaN(time))
        {
            throw new ArgumentException("Time must be a number.", nameof(time));
        }

        while (true)
        {
            double tick = NextTickTime;
            double completion = _completions.TryPeek(out _, out var key) ? key.Time : double.PositiveInfinity;
            double next = Math.Min(tick, completion);
            if (next > time || double.IsPositiveInfinity(next))
            {
                break;
            }

            FlushTickRow(next);
            if (completion <= tick)
            {
                ProcessCompletion();
            }
            else
            {
                ProcessTick(tick);
            }
        }
    }

    /// <summary>Completes the migrations still running after the last tick, and closes the books.</summary>
    public void Finish()
    {
        while (_completions.Count > 0)
        {
            FlushTickRow(double.PositiveInfinity);
            ProcessCompletion();
        }

        FlushTickRow(double.PositiveInfinity);
    }

    /// <summary>
    /// Starts migrating a VM at the current time. Both hosts are updated at once (the target carries a share of
    /// the VM, the source loses some of its CPU), and completion is scheduled after RAM / migration bandwidth.
    /// </summary>
    /// <param name="vm">VM index.</param>
    /// <param name="target">Target host index.</param>
    /// <param name="bandwidthCapMbps">Bandwidth cap of the move, Mbit/s (pre-copy model only).</param>
    /// <param name="maxDowntime">Target downtime of the move (pre-copy model only; the model's default otherwise).</param>
    /// <returns>Simulated completion time.</returns>
    public double StartMigration(int vm, int target, double? bandwidthCapMbps = null, TimeSpan? maxDowntime = null)
    {
        if ((bandwidthCapMbps is not null || maxDowntime is not null) && _preCopy is null)
        {
            throw new InvalidOperationException("Migration bandwidth and downtime can be set only under the pre-copy model.");
        }

        if ((uint)vm >= (uint)_vmCount)
        {
            throw new ArgumentOutOfRangeException(nameof(vm), vm, "Unknown VM index.");
        }

        if ((uint)target >= (uint)_hostCount)
        {
            throw new ArgumentOutOfRangeException(nameof(target), target, "Unknown host index.");
        }

        if (!_vmActive[vm])
        {
            throw new InvalidOperationException($"VM {_scenario.Vms[vm].Info.Id} is no longer in the cluster.");
        }

        bool alreadyMigrating = _vmTarget[vm] >= 0;
        if (alreadyMigrating && (!_model.AllowConcurrentMigrationsOfOneVm || IsIncoming(vm, target)))
        {
            throw new InvalidOperationException($"VM {_scenario.Vms[vm].Info.Id} is already migrating.");
        }

        int source = _vmHost[vm];
        if (source == target)
        {
            throw new InvalidOperationException($"VM {_scenario.Vms[vm].Info.Id} already runs on host {_scenario.Hosts[target].Id}.");
        }

        double t = Now;
        if (alreadyMigrating)
        {
            if (!_extraTargets.TryGetValue(vm, out var extra))
            {
                _extraTargets[vm] = extra = new List<int>(1);
            }

            extra.Add(target);
        }
        else
        {
            _vmTarget[vm] = target;
        }

        double seconds;
        if (_preCopy is not null)
        {
            double link = Math.Min(_hostBandwidthMbps[source], _hostBandwidthMbps[target]) * _model.MigrationBandwidthShare / 8;
            (seconds, _vmCopyMiBps[vm]) = _preCopy.Start(vm, source, target, t, _vmMemoryMiB[vm], DirtyRate(vm), link, (bandwidthCapMbps / 8, maxDowntime), StorageCopyOf(vm));
        }
        else
        {
            double bytesPerSecondMb = _hostBandwidthMbps[target] * _model.MigrationBandwidthShare / 8;
            seconds = _vmMemoryMiB[vm] / bytesPerSecondMb;
        }

        _hostVms[target].Add(vm);
        _migrations++;
        UpdateHost(target, t, IsTickTime(t));
        UpdateHost(source, t, IsTickTime(t));

        double end = t + (seconds * _scenario.Vms[vm].MigrationSlowdown);
        _vmMigrationEnd[vm] = end;
        _completions.Enqueue((vm, target), (end, _eventSeq++));
        return end;
    }

    /// <summary>Cancels a running migration: the VM stays on its source. Returns false when none runs.</summary>
    public bool CancelMigration(int vm)
    {
        if (_vmTarget[vm] < 0)
        {
            return false;
        }

        RemoveCompletions(vm); // cancellations are rare

        double t = Now;
        var targets = new List<int> { _vmTarget[vm] };
        if (_extraTargets.Remove(vm, out var extra))
        {
            targets.AddRange(extra);
        }

        _vmTarget[vm] = -1;
        _vmCopyMiBps[vm] = 0;
        foreach (int target in targets)
        {
            _preCopy?.Ended(vm, target);
            _hostVms[target].Remove(vm);
            UpdateHost(target, t, false);
        }

        UpdateHost(_vmHost[vm], t, false);
        foreach (int target in targets)
        {
            MigrationEnded?.Invoke(new SimulatedMigrationEnd(vm, _vmHost[vm], target, t, Cancelled: true));
        }

        return true;
    }

    /// <summary>Fills <paramref name="state"/> with the cluster as it is now, for one planning pass.</summary>
    public void CapturePlanningState(PlanningState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        state.Reset(_hostCount, _vmCount, _historyLength);
        state.Time = Now;
        state.MigrationTargetShare = _model.MigrationTargetShare;
        state.MigrationDegradation = _model.MigrationDegradation;
        for (int h = 0; h < _hostCount; h++)
        {
            var info = _scenario.Hosts[h];
            state.SetHost(h, info.Id, _hostTotalMips[h], (int)info.Capacity.CpuCores, info.Capacity.MemoryMiB,
                _hostBandwidthMbps[h], _hostPower[h], _hostAvailableForVms[h], info.Location);
        }

        Span<double> history = stackalloc double[_historyLength];
        for (int v = 0; v < _vmCount; v++)
        {
            var info = _scenario.Vms[v].Info;
            state.SetVm(v, info.Id, _vmTotalMips[v], _vmPes[v], _vmMemoryMiB[v], _vmRequest[v], _vmAlloc[v],
                _vmActive[v] ? _vmHost[v] : -1, _vmTarget[v], _vmActive[v], info.Priority);
            int n = CopyHistory(v, history);
            state.SetHistory(v, history[..n]);
            if (_preCopy is not null && _vmActive[v])
            {
                state.SetVmUsage(v, 0, 0, 0, DirtyRate(v)); // the simulator knows its guests' dirty rates; nothing else beyond CPU
            }
        }

        for (int h = 0; h < _hostCount; h++)
        {
            var list = _hostVms[h];
            double avail = _hostTotalMips[h];
            bool over = false;
            for (int i = 0; i < list.Count; i++)
            {
                int v = list[i];
                state.AppendToHost(h, v);
                double eff = EffectiveRequest(v, h);
                if (!over && avail >= eff)
                {
                    avail -= eff;
                }
                else
                {
                    over = true;
                }
            }

            // Allocations of VMs migrating in are kept on the VM at the source; the state needs the target's
            // share for those (CloudSim counts them in the target's allocated MIPS).
            state.SetHostState(h, HostUtilization(h), over ? 0 : avail, over);
        }
    }

    /// <summary>Copies a VM's utilisation history (newest first) into <paramref name="destination"/>; returns its length.</summary>
    public int CopyHistory(int vm, Span<double> destination)
    {
        int n = Math.Min(_vmHistoryCount[vm], destination.Length);
        int start = _vmHistoryStart[vm];
        int baseIndex = vm * _historyLength;
        for (int i = 0; i < n; i++)
        {
            destination[i] = _vmHistory[baseIndex + ((start + i) % _historyLength)];
        }

        return n;
    }

    /// <summary>The figures so far (call after <see cref="Finish"/> for the final ones).</summary>
    public SimulationSummary Summary() => new()
    {
        Scenario = _scenario.Name,
        Hosts = _hostCount,
        Vms = _vmCount,
        VmsAtEnd = _activeVms,
        EnergyKwh = EnergyKwh,
        Migrations = _migrations,
        Slatah = _sla.Slatah,
        Pdm = _sla.Pdm,
        OverallSlaViolation = _sla.OverallViolation,
        AverageSlaViolation = _sla.AverageViolation,
        HostShutdowns = _sla.HostShutdowns,
        Ticks = _ticks.ToArray(),
        MeanMigrationSeconds = _preCopy?.MeanSeconds,
        MeanDowntimeMs = _preCopy is null ? null : _preCopy.MeanDowntimeSeconds * 1000,
        UnconvergedMigrations = _preCopy?.Unconverged,
        Allocation = AllocationSummary(),
    };

    // ---- event processing --------------------------------------------------------------------------------

    private void ProcessTick(double t)
    {
        Now = t;
        if (t > _lastProcessTime)
        {
            FullUpdate(t, isTick: true);
        }

        TicksProcessed++;
        _lastTickTime = t;
        _nextTick = t + _model.TickIntervalSeconds;
        _tickRowPending = true;
    }

    private void ProcessCompletion()
    {
        _completions.TryDequeue(out var item, out var key);
        (int vm, int target) = item;
        double t = key.Time;
        Now = t;
        if (t > _lastProcessTime)
        {
            FullUpdate(t, isTick: false);
        }

        int source = _vmHost[vm];
        _preCopy?.Ended(vm, target);
        _vmCopyMiBps[vm] = 0;
        _hostVms[source].Remove(vm);
        _hostVms[target].Remove(vm);
        _hostVms[target].Add(vm);
        _vmHost[vm] = target;
        if (_vmTarget[vm] == target)
        {
            _vmTarget[vm] = -1;
            if (_extraTargets.TryGetValue(vm, out var extra))
            {
                _vmTarget[vm] = extra[0];
                extra.RemoveAt(0);
                if (extra.Count == 0)
                {
                    _extraTargets.Remove(vm);
                }
            }
        }
        else if (_extraTargets.TryGetValue(vm, out var extra))
        {
            extra.Remove(target);
            if (extra.Count == 0)
            {
                _extraTargets.Remove(vm);
            }
        }

        // CloudSim updates every host again unless another migration completes at this very instant.
        bool anotherNow = _completions.TryPeek(out _, out var next) && next.Time <= t;
        if (!anotherNow)
        {
            FullUpdate(t, isTick: false);
        }

        MigrationEnded?.Invoke(new SimulatedMigrationEnd(vm, source, target, t, Cancelled: false));
    }

    private bool IsIncoming(int vm, int host) =>
        _vmTarget[vm] == host || (_extraTargets.Count > 0 && _extraTargets.TryGetValue(vm, out var extra) && extra.Contains(host));

    private void FullUpdate(double t, bool isTick)
    {
        AccountAllocation(t - _lastProcessTime);
        ApplyDueResizes(t);
        for (int h = 0; h < _hostCount; h++)
        {
            UpdateHost(h, t, isTick);
        }

        double dt = t - _lastProcessTime;
        if (dt > 0)
        {
            double energy = 0;
            for (int h = 0; h < _hostCount; h++)
            {
                energy += EnergyLinear(h, ClampUtilization(_hostPrevUtilMips[h] / _hostTotalMips[h]), HostUtilization(h), dt);
            }

            _energyWattSeconds += energy;
        }

        if (_model.RemoveVmsWhenDemandIsZero)
        {
            for (int h = 0; h < _hostCount; h++)
            {
                var list = _hostVms[h];
                for (int i = list.Count - 1; i >= 0; i--)
                {
                    int v = list[i];
                    if (_vmTarget[v] < 0 && _vmRequest[v] == 0)
                    {
                        list.RemoveAt(i);
                        _vmActive[v] = false;
                        _activeVms--;
                        VmLeft?.Invoke(v, t);
                    }
                }
            }
        }

        _lastProcessTime = t;
    }

    private void UpdateHost(int h, double t, bool isTick)
    {
        _hostPrevUtilMips[h] = _hostUtilMips[h];
        var list = _hostVms[h];
        int count = list.Count;
        double total = _hostTotalMips[h];
        Span<double> capped = count <= _scratch.Length ? _scratch.AsSpan(0, count) : new double[count];

        // 1. VM processing: histories grow at ticks, requests are evaluated at t.
        double avail = total;
        bool over = false;
        double sumEffective = 0;
        for (int i = 0; i < count; i++)
        {
            int v = list[i];
            double u = _traces[v].CpuAt(t);
            if (isTick && t > _vmLastTick[v])
            {
                if (t != 0 || u != 0)
                {
                    PushHistory(v, u);
                }

                _vmLastTick[v] = t;
            }

            double request = RequestOf(v, u);
            _vmRequest[v] = request;

            // 2. Time-shared scheduler with over-subscription, in list order (CloudSim's arithmetic).
            double c = CapRequest(v, h, request);
            capped[i] = c;
            double eff = EffectiveShare(v, h, c);
            sumEffective += eff;
            if (!over && avail >= eff)
            {
                avail -= eff;
            }
            else
            {
                over = true;
            }
        }

        double util = 0;
        double hostRequested = 0;
        double f = over ? total / sumEffective : 1;
        double keep = 1 - _model.MigrationDegradation;
        for (int i = 0; i < count; i++)
        {
            int v = list[i];
            bool incoming = _vmTarget[v] >= 0 && IsIncoming(v, h);
            bool outgoing = _vmTarget[v] >= 0 && !incoming;
            double alloc;
            double incomingShare = _preCopy is null ? capped[i] * _model.MigrationTargetShare : CopyOverhead(v, incoming: true);
            if (!over)
            {
                alloc = outgoing ? capped[i] * keep : incoming ? incomingShare : capped[i];
            }
            else if (outgoing)
            {
                alloc = Math.Floor(capped[i] * f * keep);
            }
            else if (incoming)
            {
                alloc = Math.Floor(incomingShare * f);
            }
            else
            {
                alloc = Math.Floor(capped[i] * f);
            }

            // 3. Utilisation and state histories (a VM migrating in has none on the target; under the pre-copy model
            // the copy's own CPU counts on both hosts).
            if (incoming)
            {
                util += alloc;
            }
            else
            {
                _vmAlloc[v] = alloc;
                _sla.RecordVm(v, t, alloc, _vmRequest[v], outgoing);
                util += outgoing ? (alloc / keep) + (CopyOverhead(v, incoming: false) * f) : alloc;
            }

            hostRequested += _vmRequest[v];
        }

        _hostUtilMips[h] = util;
        _sla.RecordHost(h, t, util, hostRequested, util > 0);
    }

    private double CapRequest(int v, int h, double request)
    {
        int pes = _vmPes[v];
        double perPe = request / pes;
        double pe = _hostPeMips[h];
        return pes == 1 ? (perPe > pe ? pe : perPe) : (perPe > pe ? pe : perPe) * pes;
    }

    private double EffectiveRequest(int v, int h) => EffectiveShare(v, h, CapRequest(v, h, _vmRequest[v]));

    // What a VM asks of host h: its capped request, or on the target of its migration CloudSim's share of it (or,
    // under the pre-copy model, the copy's overhead there); a VM migrating out adds the copy's source overhead.
    private double EffectiveShare(int v, int h, double capped)
    {
        if (_vmTarget[v] < 0)
        {
            return capped;
        }

        if (IsIncoming(v, h))
        {
            return _preCopy is null ? capped * _model.MigrationTargetShare : CopyOverhead(v, incoming: true);
        }

        return capped + CopyOverhead(v, incoming: false);
    }

    private void PushHistory(int v, double value)
    {
        int l = _historyLength;
        int start = (_vmHistoryStart[v] - 1 + l) % l;
        _vmHistoryStart[v] = start;
        _vmHistory[(v * l) + start] = value;
        if (_vmHistoryCount[v] < l)
        {
            _vmHistoryCount[v]++;
        }
    }

    private double EnergyLinear(int h, double fromUtilization, double toUtilization, double seconds)
    {
        var power = _hostPower[h];
        if (fromUtilization == 0 || power is null)
        {
            return 0;
        }

        double from = power.PowerWatts(fromUtilization);
        double to = power.PowerWatts(toUtilization);
        return (from + ((to - from) / 2)) * seconds;
    }

    private static double ClampUtilization(double u) => u > 1 ? 1 : u;

    private bool IsTickTime(double t) => t == _lastTickTime;

    private void FlushTickRow(double nextEventTime)
    {
        if (!_tickRowPending || nextEventTime <= Now)
        {
            return;
        }

        _tickRowPending = false;
        int withVms = 0;
        int active = 0;
        double allocated = 0, capacity = 0, memoryAllocated = 0, memoryCapacity = 0;
        for (int h = 0; h < _hostCount; h++)
        {
            if (_hostVms[h].Count > 0)
            {
                withVms++;
            }

            if (_hostUtilMips[h] > 0)
            {
                active++;
                allocated += _hostUtilMips[h];
                capacity += _hostTotalMips[h];
                memoryCapacity += _scenario.Hosts[h].Capacity.MemoryMiB;
                foreach (int v in _hostVms[h])
                {
                    memoryAllocated += _vmMemoryMiB[v];
                }
            }
        }

        _ticks.Add(new SimulationTick(Now, EnergyKwh, _migrations, withVms, active, _activeVms,
            capacity > 0 ? allocated / capacity : 0, _migrations - _migrationsAtLastTick)
        {
            MemoryUtilization = memoryCapacity > 0 ? memoryAllocated / memoryCapacity : 0,
        });
        _migrationsAtLastTick = _migrations;
    }
}
