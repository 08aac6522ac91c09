using System.Globalization;
using VmEcosystem.Cluster;
using VmEcosystem.Ecosystem.Graph;
using VmEcosystem.Ecosystem.Planning;
using VmEcosystem.Hypervisor;
using VmEcosystem.Planning;

namespace VmEcosystem.Runtime;

/// <summary>
/// Re-validates an action right before it starts, against the latest observation as it stands now: the observed
/// placement (refreshed with every observation, before the planner's tentative moves touch it), moved by the change
/// feed, with every migration in flight counted on its source and on its target. A plan may be minutes old (approval)
/// or made before other plans ran; capacity, anti-affinity, proximity and required dependencies are checked again.
/// Not thread-safe: called under the runtime model's lock.
/// </summary>
internal sealed class PlacementRecheck(PlacementConstraints? constraints, bool capacity = true)
{
    private readonly PlanningState _view = new();
    private readonly Dictionary<HostId, int> _hostIndex = [];
    private readonly Dictionary<VmId, HostId> _inFlight = [];
    private const int MaxRecent = 100_000;

    // Feed changes since the last observation, replayed on top of the next one (it may predate them).
    private readonly List<(DateTimeOffset At, InventoryChange Change)> _recent = [];
    private double[] _memory = [];
    private double[] _cpu = [];
    private EcosystemPassView? _dependencies; // built on first use after a refresh or a change of the VM set
    private EcosystemGraph? _graph;

    /// <summary>True once an observation was taken (before that nothing can be checked).</summary>
    public bool Ready { get; private set; }

    /// <summary>
    /// Takes the placement, sizes and demand of <paramref name="observed"/>, captured at <paramref name="observedAt"/>
    /// (call before planning changes it). Changes the feed reported after that moment are applied again on top: an
    /// observation can be older than a move the feed already announced, and must not undo it.
    /// </summary>
    public void Refresh(PlanningState observed, DateTimeOffset observedAt)
    {
        _view.Reset(observed.HostCount, observed.VmCount, 1);
        _hostIndex.Clear();
        for (int h = 0; h < observed.HostCount; h++)
        {
            _view.SetHost(h, observed.HostIds[h], observed.HostTotalMips[h], observed.HostPes[h], observed.HostMemoryMiB[h], observed.HostBandwidthMbps[h],
                null, observed.HostAcceptsVms[h], observed.HostLocation[h]);
            _hostIndex[observed.HostIds[h]] = h;
        }

        for (int v = 0; v < observed.VmCount; v++)
        {
            _view.SetVm(v, observed.VmIds[v], observed.VmTotalMips[v], observed.VmPes[v], observed.VmMemoryMiB[v], observed.VmRequestedMips[v],
                observed.VmAllocatedMips[v], observed.VmHost[v], -1, observed.VmActive[v]);
        }

        // The executor's moves in flight are the truth (the observation may predate a start or an end).
        foreach (var (vm, target) in _inFlight)
        {
            int v = _view.IndexOf(vm);
            if (v >= 0)
            {
                _view.VmMigratingTo[v] = HostIndex(target);
            }
        }

        _memory = new double[observed.HostCount];
        _cpu = new double[observed.HostCount];
        for (int v = 0; v < _view.VmCount; v++)
        {
            Count(v, +1);
        }

        _dependencies = null;
        Ready = true;
        _recent.RemoveAll(c => c.At < observedAt);
        foreach (var (_, change) in _recent)
        {
            ApplyCore(change);
        }
    }

    /// <summary>A migration starts: the VM counts on its target too.</summary>
    public void Started(VmId vm, HostId target)
    {
        _inFlight[vm] = target;
        Move(vm, v => (_view.VmHost[v], HostIndex(target)));
    }

    /// <summary>A migration ended: the VM is on its target (moved) or still on its source.</summary>
    public void Ended(VmId vm, bool moved)
    {
        if (_inFlight.Remove(vm, out var target))
        {
            Move(vm, v => (moved ? HostIndex(target) : _view.VmHost[v], -1));
        }
    }

    /// <summary>Applies a change from the provider's feed, received at <paramref name="now"/>.</summary>
    public void Apply(InventoryChange change, DateTimeOffset now)
    {
        if (change is VmMoved or VmRemoved or VmUpdated or HostRemoved)
        {
            if (_recent.Count >= MaxRecent)
            {
                _recent.RemoveAt(0);
            }

            _recent.Add((now, change));
        }

        ApplyCore(change);
    }

    private void ApplyCore(InventoryChange change)
    {
        switch (change)
        {
            case VmMoved moved:
                Move(moved.Vm, v => (HostIndex(moved.To), _view.VmMigratingTo[v] == HostIndex(moved.To) ? -1 : _view.VmMigratingTo[v]));
                break;
            case VmRemoved removed when _view.IndexOf(removed.Vm) is var v and >= 0:
                Count(v, -1);
                _view.VmActive[v] = false;
                _dependencies = null;
                break;
            case VmUpdated updated when _view.IndexOf(updated.Vm.Id) is var v and >= 0:
                Count(v, -1);
                _view.VmMemoryMiB[v] = updated.Vm.Allocation.MemoryMiB;
                Count(v, +1);
                break;
            case HostRemoved gone when HostIndex(gone.Host) is var h and >= 0:
                _view.HostAcceptsVms[h] = false;
                break;
            case VmAdded:
                _dependencies = null; // known at the next observation; until then the graph may hold vertices the view does not
                break;
        }
    }

    /// <summary>
    /// Why <paramref name="action"/> may not start now, or null when it may (or nothing is known to check against).
    /// <paramref name="graph"/> is the ecosystem graph when it holds the inventory (null: no dependency check).
    /// </summary>
    public string? Check(ClusterAction action, EcosystemGraph? graph)
    {
        if (!ReferenceEquals(graph, _graph))
        {
            _graph = graph;
            _dependencies = null;
        }

        // Nothing is started that cannot be checked: before the first observation (an application's controller or an
        // approval can be that early) and for a VM the latest observation does not hold yet, the action waits.
        if (!Ready)
        {
            return "the cluster has not been observed yet, so the action cannot be re-checked; it waits for the first observation";
        }

        int v = _view.IndexOf(action.Vm);
        if (v < 0)
        {
            return "the VM is not in the latest observation yet, so the action cannot be re-checked";
        }

        if (!_view.VmActive[v])
        {
            return "the VM is no longer in the inventory";
        }

        return action switch
        {
            MigrateAction m => CheckMove(v, m.Decision),
            HotPlugAction p when p.Request.MemoryMiB is { } memory && _view.VmHost[v] >= 0 => CheckMemoryGrowth(v, memory),
            _ => null,
        };
    }

    private string? CheckMove(int v, MigrationDecision d)
    {
        int target = HostIndex(d.Target);
        if (target < 0)
        {
            return $"target {d.Target} is no longer in the inventory";
        }

        int source = _view.VmHost[v];
        if (source < 0 || _view.HostIds[source] != d.Source)
        {
            return $"the VM is on {(source < 0 ? "no host" : _view.HostIds[source].Value)} now, not {d.Source}";
        }

        if (!_view.HostAcceptsVms[target])
        {
            return $"target {d.Target} takes no VMs (offline or in maintenance)";
        }

        if (capacity && _memory[target] + _view.VmMemoryMiB[v] > _view.HostMemoryMiB[target] + 1e-6)
        {
            return string.Create(CultureInfo.InvariantCulture,
                $"target {d.Target} would hold {_memory[target] + _view.VmMemoryMiB[v]:F0} MiB of memory with this VM and the moves in flight (capacity {_view.HostMemoryMiB[target]:F0} MiB)");
        }

        if (capacity && _cpu[target] + _view.VmRequestedMips[v] > _view.HostTotalMips[target] + 1e-6)
        {
            return string.Create(CultureInfo.InvariantCulture,
                $"target {d.Target} would carry {_cpu[target] + _view.VmRequestedMips[v]:F0} MHz of CPU demand with this VM and the moves in flight (capacity {_view.HostTotalMips[target]:F0} MHz)");
        }

        if (constraints is { Count: > 0 } && constraints.Explain(_view, v, target) is { } broken)
        {
            return $"moving to {d.Target} breaks a placement rule: {broken}";
        }

        if (_graph is not null && Dependencies() is { } view && view.VertexOf(v) is var vertex and >= 0 && view.BreaksRequired(vertex, view.GraphHost(target)))
        {
            return $"moving to {d.Target} would break a met required dependency of the VM or of a VM it serves";
        }

        return null;
    }

    private string? CheckMemoryGrowth(int v, double memoryMiB)
    {
        int host = _view.VmHost[v];
        double after = _memory[host] - _view.VmMemoryMiB[v] + memoryMiB;
        return capacity && memoryMiB > _view.VmMemoryMiB[v] && after > _view.HostMemoryMiB[host] + 1e-6
            ? string.Create(CultureInfo.InvariantCulture, $"host {_view.HostIds[host]} would hold {after:F0} MiB of memory (capacity {_view.HostMemoryMiB[host]:F0} MiB)")
            : null;
    }

    private EcosystemPassView? Dependencies()
    {
        if (_dependencies is null && _graph!.VertexCapacity > 0)
        {
            _dependencies = new EcosystemPassView(_graph, _view);
        }

        return _dependencies;
    }

    private int HostIndex(HostId host) => _hostIndex.GetValueOrDefault(host, -1);

    // Moves a VM between (host, migratingTo) pairs, keeping the per-host sums (a VM counts on both while in flight).
    private void Move(VmId vm, Func<int, (int Host, int MigratingTo)> next)
    {
        int v = _view.IndexOf(vm);
        if (v < 0 || !_view.VmActive[v])
        {
            return;
        }

        var (host, migratingTo) = next(v);
        Count(v, -1);
        _view.VmHost[v] = host;
        _view.VmMigratingTo[v] = migratingTo == host ? -1 : migratingTo;
        Count(v, +1);
    }

    /// <summary>Where the VM is in the latest view (null: unknown, gone or unplaced).</summary>
    public HostId? HostOf(VmId vm)
    {
        int v = _view.IndexOf(vm);
        return v >= 0 && _view.VmActive[v] && _view.VmHost[v] >= 0 ? _view.HostIds[_view.VmHost[v]] : null;
    }

    /// <summary>True when the latest view holds the host.</summary>
    public bool HasHost(HostId host) => _hostIndex.ContainsKey(host);

    /// <summary>
    /// Hosts that take VMs, other than the VM's own, by the CPU share they would use with it (moves in flight
    /// counted), lowest first; ties by the most free memory. Candidates only: each still goes through <see cref="Check"/>.
    /// </summary>
    public IReadOnlyList<HostId> TargetsByHeadroom(VmId vm)
    {
        int v = _view.IndexOf(vm);
        if (v < 0)
        {
            return [];
        }

        var ranked = new List<(HostId Host, double Share, double FreeMemory)>(_view.HostCount);
        for (int h = 0; h < _view.HostCount; h++)
        {
            if (h == _view.VmHost[v] || !_view.HostAcceptsVms[h])
            {
                continue;
            }

            double share = (_cpu[h] + _view.VmRequestedMips[v]) / Math.Max(1e-9, _view.HostTotalMips[h]);
            ranked.Add((_view.HostIds[h], share, _view.HostMemoryMiB[h] - _memory[h]));
        }

        return [.. ranked.OrderBy(r => r.Share).ThenByDescending(r => r.FreeMemory).Select(r => r.Host)];
    }

    private void Count(int v, int sign)
    {
        if (!_view.VmActive[v])
        {
            return;
        }

        foreach (int h in (ReadOnlySpan<int>)[_view.VmHost[v], _view.VmMigratingTo[v]])
        {
            if (h >= 0)
            {
                _memory[h] += sign * _view.VmMemoryMiB[v];
                _cpu[h] += sign * _view.VmRequestedMips[v];
            }
        }
    }
}
