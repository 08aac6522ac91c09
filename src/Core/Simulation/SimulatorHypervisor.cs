using Microsoft.Extensions.Logging;
using VmEcosystem.Cluster;
using VmEcosystem.Hypervisor;

namespace VmEcosystem.Simulation;

/// <summary>
/// The built-in provider: a <see cref="ClusterSimulation"/> behind the hypervisor contract. Simulated time is the
/// injected <see cref="TimeProvider"/>'s time since the provider was created (plus the model's start offset), so a
/// fake or virtual clock runs a day in seconds and a system clock runs it in real time. Migrations take simulated
/// time and complete on timers of that clock.
/// </summary>
internal sealed partial class SimulatorHypervisor : HypervisorProvider, ISimulatedCluster, IPlanningStateSource
{
    private const double ClockTolerance = 1e-6;
    private readonly Lock _gate = new();
    private readonly SimulatorOptions _options;
    private readonly SimulationScenario _scenario;
    private readonly HostInfo[] _hosts; // the scenario's, with their host sets
    private readonly HostSet[] _hostSets;
    private readonly ClusterSimulation _sim;
    private readonly DateTimeOffset _epoch;
    private readonly Dictionary<VmId, int> _vmIndex;
    private readonly Dictionary<HostId, int> _hostIndex;
    private readonly VmInfo[] _vms;
    private readonly ResourceControls[] _controls;
    private readonly Dictionary<int, RunningMigration> _running = [];
    private readonly Random _random;
    private long _version;

    public SimulatorHypervisor(SimulatorOptions options, TimeProvider timeProvider, ILogger<SimulatorHypervisor>? logger = null)
        : base("simulator", timeProvider, logger)
    {
        _options = options;
        _scenario = options.BuildScenario();
        _sim = new ClusterSimulation(_scenario, InitialPlacement.Place(_scenario, options.InitialPlacement));
        _sim.MigrationEnded += OnMigrationEnded;
        _sim.VmLeft += OnVmLeft;
        _epoch = timeProvider.GetUtcNow() - TimeSpan.FromSeconds(_scenario.Model.StartSeconds);
        _random = new Random(options.Seed);
        _vmIndex = new Dictionary<VmId, int>(_scenario.Vms.Count);
        _vms = new VmInfo[_scenario.Vms.Count];
        _controls = new ResourceControls[_scenario.Vms.Count];
        for (int v = 0; v < _scenario.Vms.Count; v++)
        {
            _vms[v] = _scenario.Vms[v].Info;
            _vmIndex[_vms[v].Id] = v;
            _controls[v] = new ResourceControls { CpuShares = 1024 };
        }

        _hostIndex = new Dictionary<HostId, int>(_scenario.Hosts.Count);
        for (int h = 0; h < _scenario.Hosts.Count; h++)
        {
            _hostIndex[_scenario.Hosts[h].Id] = h;
        }

        (_hosts, _hostSets) = SimulatedHostSets.Split(_scenario.Hosts, options.HostSets);
    }

    public override HypervisorCapabilities Capabilities =>
        HypervisorCapabilities.Inventory | HypervisorCapabilities.InventoryEvents | HypervisorCapabilities.VmMetrics
        | HypervisorCapabilities.DiskMetrics | HypervisorCapabilities.NetworkMetrics | HypervisorCapabilities.HostMetrics
        | HypervisorCapabilities.HotPlugCpu | HypervisorCapabilities.HotUnplugCpu | HypervisorCapabilities.HotPlugMemory
        | HypervisorCapabilities.AllResourceControls | HypervisorCapabilities.LiveMigration
        | HypervisorCapabilities.MigrationProgress | HypervisorCapabilities.MigrationCancellation
        | (_scenario.Model.PreCopy is null ? HypervisorCapabilities.None : HypervisorCapabilities.MigrationTuning);

    /// <summary>The scenario being simulated.</summary>
    public SimulationScenario Scenario => _scenario;

    public DateTimeOffset EndsAt
    {
        get
        {
            var m = _scenario.Model;
            double lastTick = m.StartSeconds + (Math.Floor((m.DurationSeconds - m.StartSeconds) / m.TickIntervalSeconds) * m.TickIntervalSeconds);
            return ToClock(lastTick);
        }
    }

    public double NowSeconds => Inspect(sim => sim.Now);

    public SimulationSummary Summary() => Inspect(sim => sim.Summary());

    public SimulationSummary Finish() => Inspect(sim =>
    {
        sim.Finish(); // the scenario is over: every move still running ends now, reported at once

        return sim.Summary();
    });

    public Task<DateTimeOffset> CapturePlanningStateAsync(Planning.PlanningState state, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(state);
        lock (_gate)
        {
            Sync();
            _sim.CapturePlanningState(state);
            return Task.FromResult(ToClock(_sim.Now));
        }
    }

    /// <summary>Runs <paramref name="action"/> on the engine, synchronised to the clock (for the benchmark and reports).</summary>
    public T Inspect<T>(Func<ClusterSimulation, T> action)
    {
        lock (_gate)
        {
            Sync();
            return action(_sim);
        }
    }

    protected override Task<InventorySnapshot> GetInventoryCoreAsync(CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            Sync();
            var hosts = new HostInfo[_scenario.Hosts.Count];
            for (int h = 0; h < hosts.Length; h++)
            {
                var info = _hosts[h];
                hosts[h] = _sim.HostAcceptsVms(h) ? info : info with { State = HostState.Maintenance };
            }

            var vms = new List<VmInfo>(_vms.Length);
            var placements = new List<Placement>(_vms.Length);
            for (int v = 0; v < _vms.Length; v++)
            {
                int host = _sim.HostOf(v);
                if (host < 0)
                {
                    continue;
                }

                vms.Add(_vms[v]);
                placements.Add(new Placement(_vms[v].Id, _scenario.Hosts[host].Id));
            }

            return Task.FromResult(new InventorySnapshot(hosts, vms, placements, ToClock(_sim.Now), _version, _hostSets.Length == 0 ? null : _hostSets));
        }
    }

    protected override Task<IReadOnlyList<VmMetricSample>> GetVmMetricsCoreAsync(IReadOnlyCollection<VmId>? vms, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            Sync();
            var stamp = ToClock(_sim.LastUpdateTime);
            if (vms is null)
            {
                var all = new List<VmMetricSample>(_vms.Length);
                for (int v = 0; v < _vms.Length; v++)
                {
                    if (_sim.IsActive(v))
                    {
                        all.Add(Sample(v, stamp));
                    }
                }

                return Task.FromResult<IReadOnlyList<VmMetricSample>>(all);
            }

            var result = new VmMetricSample[vms.Count];
            int i = 0;
            foreach (var id in vms)
            {
                result[i++] = Sample(ActiveVm(id, "GetVmMetrics"), stamp);
            }

            return Task.FromResult<IReadOnlyList<VmMetricSample>>(result);
        }
    }

    protected override Task<IReadOnlyList<HostMetricSample>> GetHostMetricsCoreAsync(CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            Sync();
            var stamp = ToClock(_sim.LastUpdateTime);
            var result = new HostMetricSample[_scenario.Hosts.Count];
            var copies = CopiesSinceUpdate();
            for (int h = 0; h < result.Length; h++)
            {
                double u = copies is null ? _sim.HostUtilization(h) : Math.Min(1, _sim.HostUtilization(h) + (copies[h] / _sim.HostCapacityMhz(h)));
                double memory = 0;
                foreach (int v in _sim.VmsOn(h))
                {
                    memory += _sim.VmMemoryUsedMiB(v);
                }

                var power = _scenario.Hosts[h].PowerModel;
                result[h] = new HostMetricSample
                {
                    Host = _scenario.Hosts[h].Id,
                    Timestamp = stamp,
                    CpuUtilization = u,
                    MemoryUsedMiB = memory,
                    PowerWatts = power is null ? null : u > 0 ? power.PowerWatts(u) : 0,
                };
            }

            return Task.FromResult<IReadOnlyList<HostMetricSample>>(result);
        }
    }

    protected override Task<VmInfo> HotPlugCoreAsync(VmId vm, HotPlugRequest request, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            Sync();
            int v = ActiveVm(vm, "HotPlug");
            var info = _vms[v];
            if (_sim.MigrationTargetOf(v) >= 0)
            {
                throw new HypervisorException(HypervisorErrorKind.Conflict, $"VM '{vm}' is migrating; hot-plug it afterwards.", Name, "HotPlug");
            }

            int vcpus = request.Vcpus ?? _sim.VmVcpus(v);
            double memory = request.MemoryMiB ?? _sim.VmMemoryCapacityMiB(v);
            if (vcpus > info.MaxAllocation.CpuCores || memory > info.MaxAllocation.MemoryMiB)
            {
                throw new HypervisorException(HypervisorErrorKind.InvalidArgument,
                    $"VM '{vm}' can grow to at most {info.MaxAllocation.CpuCores} vCPUs and {info.MaxAllocation.MemoryMiB} MiB; asked for {vcpus} vCPUs and {memory} MiB.",
                    Name, "HotPlug");
            }

            if (_scenario.Model.DemandBoundByAllocation && memory < _sim.VmMemoryCapacityMiB(v))
            {
                // a guest gives back only memory it does not use (a balloon stops there)
                memory = Math.Min(_sim.VmMemoryCapacityMiB(v), Math.Max(memory, Math.Ceiling(_sim.VmMemoryDemandMiB(v))));
            }

            if (vcpus == _sim.VmVcpus(v) && memory == _sim.VmMemoryCapacityMiB(v))
            {
                return Task.FromResult(info); // idempotent: nothing to change
            }

            // what the VM is given now (a hot-plug delay postpones its effect on the physics, not the answer)
            double perVcpu = _sim.VmCapacityMips(v) / Math.Max(1, _sim.VmVcpus(v));
            _sim.Resize(v, vcpus, memory);
            var old = info.Allocation;
            var updated = new VmInfo(info.Id, old with { CpuCores = vcpus, CpuMhz = perVcpu * vcpus, MemoryMiB = memory })
            {
                Name = info.Name,
                MaxAllocation = info.MaxAllocation,
                Profile = info.Profile,
                Labels = info.Labels,
                Priority = info.Priority,
                Slo = info.Slo,
                State = info.State,
                CpuArchitecture = info.CpuArchitecture,
            };
            _vms[v] = updated;
            _version++;
            PublishInventoryChange(new VmUpdated(updated) { Timestamp = TimeProvider.GetUtcNow() });
            return Task.FromResult(updated);
        }
    }

    protected override Task<ResourceControls> GetResourceControlsCoreAsync(VmId vm, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            return Task.FromResult(_controls[ActiveVm(vm, "GetResourceControls")]);
        }
    }

    protected override Task<ResourceControls> SetResourceControlsCoreAsync(VmId vm, ResourceControls controls, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            Sync();
            int v = ActiveVm(vm, "SetResourceControls");
            var merged = _controls[v].Apply(controls);
            if (controls.CpuQuota is { } quota)
            {
                _sim.SetCpuQuota(v, quota > 0 ? quota : double.Epsilon);
            }

            _controls[v] = merged;
            return Task.FromResult(merged);
        }
    }

    protected override Task<HostId> ResolveMigrationSourceAsync(MigrationRequest request, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            Sync();
            int v = ActiveVm(request.Vm, "StartMigration");
            if (!_hostIndex.ContainsKey(request.Target))
            {
                throw HostNotFound(request.Target, "StartMigration");
            }

            return Task.FromResult(_scenario.Hosts[_sim.HostOf(v)].Id);
        }
    }

    protected override Task StartMigrationCoreAsync(MigrationRequest request, HostId source, MigrationExecution execution, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            Sync();
            int v = ActiveVm(request.Vm, "StartMigration");
            int target = _hostIndex[request.Target];
            if (!_sim.HostAcceptsVms(target))
            {
                throw new HypervisorException(HypervisorErrorKind.Conflict, $"Host '{request.Target}' is in maintenance.", Name, "StartMigration");
            }

            if (_options.EnforceMemoryOnMigration && !_options.CloudSimCompatible)
            {
                double used = 0;
                foreach (int other in _sim.VmsOn(target))
                {
                    used += _sim.VmMemoryCapacityMiB(other);
                }

                double capacity = _scenario.Hosts[target].Capacity.MemoryMiB;
                if (used + _sim.VmMemoryCapacityMiB(v) > capacity)
                {
                    throw new HypervisorException(HypervisorErrorKind.InsufficientCapacity,
                        $"Host '{request.Target}' has {capacity - used:F0} MiB free; VM '{request.Vm}' needs {_sim.VmMemoryCapacityMiB(v):F0} MiB.",
                        Name, "StartMigration");
                }
            }

            double start = _sim.Now;
            var options = request.Options ?? MigrationOptions.Default;
            double end = _sim.StartMigration(v, target, options.BandwidthMbps, options.MaxDowntime);
            var running = new RunningMigration(execution, v, start, end, (long)(_sim.VmMemoryCapacityMiB(v) * 1024 * 1024));
            _running[v] = running;
            running.Completion = TimeProvider.CreateTimer(_ => OnTimer(running), null, DueIn(end), Timeout.InfiniteTimeSpan);
            double step = Math.Max((end - start) / 10, 0.001);
            running.Progress = TimeProvider.CreateTimer(_ => OnProgress(running), null, TimeSpan.FromSeconds(step), TimeSpan.FromSeconds(step));
            if (_options.MigrationFailureProbability > 0 && _random.NextDouble() < _options.MigrationFailureProbability)
            {
                double failAt = start + ((end - start) * (0.1 + (0.8 * _random.NextDouble())));
                running.Failure = TimeProvider.CreateTimer(_ => OnInjectedFailure(running), null, DueIn(failAt), Timeout.InfiniteTimeSpan);
            }

            execution.CancellationRequested.Register(() => OnCancelRequested(running));
            execution.ReportProgress(new MigrationProgress(MigrationPhase.Copying, 0, 0, running.Bytes, null, ToClock(start)));
            return Task.CompletedTask;
        }
    }

    protected override ValueTask DisposeCoreAsync()
    {
        lock (_gate)
        {
            foreach (var r in _running.Values)
            {
                r.DisposeTimers();
            }
        }

        return ValueTask.CompletedTask;
    }

    private VmMetricSample Sample(int v, DateTimeOffset stamp)
    {
        var c = _controls[v];
        double demand = _sim.VmDemandMips(v);
        double memory = _sim.VmMemoryUsedMiB(v);
        if (c.MemoryLimitMiB is { } memLimit)
        {
            memory = Math.Min(memory, memLimit);
        }

        double network = _sim.VmNetworkMbps(v);
        if (c.NetworkBandwidthLimitMbps is { } netLimit)
        {
            network = Math.Min(network, netLimit);
        }

        double disk = _sim.VmDiskIops(v);
        if (c.DiskIopsLimit is { } diskLimit)
        {
            disk = Math.Min(disk, diskLimit);
        }

        return new VmMetricSample
        {
            Vm = _vms[v].Id,
            Timestamp = stamp,
            CpuMhz = demand,
            CpuUtilization = demand / _sim.VmCapacityMips(v),
            MemoryMiB = memory,
            NetworkRxMbps = network / 2,
            NetworkTxMbps = network / 2,
            DiskReadIops = disk * 0.6,
            DiskWriteIops = disk * 0.4,
            DiskReadBytesPerSecond = disk * 0.6 * 16_384,
            DiskWriteBytesPerSecond = disk * 0.4 * 16_384,
            DirtyMiBPerSecond = _scenario.Model.PreCopy is null ? null : _sim.DirtyRate(v),
        };
    }

    private int ActiveVm(VmId id, string operation)
    {
        if (!_vmIndex.TryGetValue(id, out int v) || !_sim.IsActive(v))
        {
            throw VmNotFound(id, operation);
        }

        return v;
    }

    private void Sync() => _sim.AdvanceTo((TimeProvider.GetUtcNow() - _epoch).TotalSeconds, ClockTolerance);

    private DateTimeOffset ToClock(double seconds) => _epoch + TimeSpan.FromTicks((long)Math.Round(seconds * TimeSpan.TicksPerSecond));

    private TimeSpan DueIn(double simTime)
    {
        double seconds = simTime - (TimeProvider.GetUtcNow() - _epoch).TotalSeconds;
        return TimeSpan.FromTicks(Math.Max(0, (long)Math.Ceiling(seconds * TimeSpan.TicksPerSecond)));
    }

    private List<(RunningMigration Running, SimulatedMigrationEnd End)>? _endedInTimer; // moves the engine ended while a completion timer fires (under _gate)

    private void OnTimer(RunningMigration running)
    {
        lock (_gate)
        {
            EndInOrder(running, () =>
            {
                Sync();
                if (_running.TryGetValue(running.Vm, out var current) && current == running && _sim.Now < running.End)
                {
                    _sim.AdvanceTo(running.End); // the clock's resolution is coarser than the simulation's
                }
            });

            if (running.PendingEnd is { } pending)
            {
                running.PendingEnd = null;
                running.DisposeTimers();
                pending();
            }
        }
    }

    // Runs an engine step from one of this simulator's timers (under _gate). Several moves ending at one instant are
    // reported one per completion timer, in the order those timers fire, not all at once: completing them together
    // let the runtime record their outcomes in whatever order the thread pool ran the continuations, and a run was
    // not the same twice (the order moves learning, limits and later plans). The deferred moves' timers are brought
    // to the engine's end instant first, on this (the clock's) thread, before any completion below can wake the
    // runtime and let its loops arm timers of their own.
    private void EndInOrder(RunningMigration? firing, Action step)
    {
        var ended = new List<(RunningMigration Running, SimulatedMigrationEnd End)>();
        _endedInTimer = ended;
        try
        {
            step();
        }
        finally
        {
            _endedInTimer = null;
        }

        foreach (var (other, end) in ended)
        {
            if (other != firing && !end.Cancelled && other.Completion is { } timer)
            {
                other.Progress?.Dispose();
                other.PendingEnd = () => Report(other, end);
                timer.Change(DueIn(end.TimeSeconds), Timeout.InfiniteTimeSpan);
            }
        }

        foreach (var (other, end) in ended)
        {
            if (other == firing || end.Cancelled || other.Completion is null)
            {
                other.DisposeTimers();
                Report(other, end);
            }
        }
    }

    private void OnProgress(RunningMigration running)
    {
        lock (_gate)
        {
            EndInOrder(null, Sync);
            if (running.Execution.IsCompleted)
            {
                return;
            }

            double share = running.ShareAt(_sim.Now);
            long sent = (long)(running.Bytes * share);
            running.Execution.ReportProgress(new MigrationProgress(
                MigrationPhase.Copying, share * 100, sent, running.Bytes - sent, null, TimeProvider.GetUtcNow()));
        }
    }

    private void OnInjectedFailure(RunningMigration running)
    {
        lock (_gate)
        {
            Sync();
            if (running.Execution.IsCompleted || !_running.TryGetValue(running.Vm, out var current) || current != running)
            {
                return;
            }

            running.Failed = true;
            _sim.CancelMigration(running.Vm);
        }
    }

    private void OnCancelRequested(RunningMigration running)
    {
        lock (_gate)
        {
            Sync();
            if (!running.Execution.IsCompleted && _running.TryGetValue(running.Vm, out var current) && current == running)
            {
                _sim.CancelMigration(running.Vm);
            }
        }
    }

    private void OnMigrationEnded(SimulatedMigrationEnd end)
    {
        // Called by the engine with _gate held.
        if (!_running.Remove(end.Vm, out var running))
        {
            return;
        }

        if (_endedInTimer is { } ended)
        {
            ended.Add((running, end)); // reported by the timer callback, in a fixed order (see OnTimer)
            return;
        }

        running.DisposeTimers();
        Report(running, end);
    }

    private void Report(RunningMigration running, SimulatedMigrationEnd end)
    {
        var at = ToClock(end.TimeSeconds);
        long sent = (long)(running.Bytes * running.ShareAt(end.TimeSeconds));
        if (end.Cancelled && running.Failed)
        {
            running.Execution.Fail(at, new HypervisorException(HypervisorErrorKind.ProviderFault,
                $"Simulated failure while migrating VM '{_vms[end.Vm].Id}' (injected with probability {_options.MigrationFailureProbability}).",
                Name, "Migration"), sent);
        }
        else if (end.Cancelled)
        {
            running.Execution.Cancel(at, sent);
        }
        else
        {
            _version++;
            running.Execution.Succeed(at, running.Bytes);
            PublishInventoryChange(new VmMoved(_vms[end.Vm].Id, _scenario.Hosts[end.Source].Id, _scenario.Hosts[end.Target].Id) { Timestamp = at });
        }
    }

    private void OnVmLeft(int vm, double time)
    {
        _version++;
        PublishInventoryChange(new VmRemoved(_vms[vm].Id) { Timestamp = ToClock(time) });
    }
}
