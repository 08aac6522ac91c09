using VmEcosystem.Cluster;

namespace VmEcosystem.Planning;

/// <summary>What the planner remembers about past moves: cooldowns and hysteresis read it. Thread-safe.</summary>
public sealed class MigrationHistory
{
    private readonly Lock _gate = new();
    private readonly Dictionary<VmId, Entry> _vms = [];
    private readonly Dictionary<HostId, DateTimeOffset> _lastReceived = [];

    /// <summary>One VM's last move.</summary>
    /// <param name="Time">When it started.</param>
    /// <param name="From">Host it left.</param>
    /// <param name="To">Host it went to.</param>
    /// <param name="Moves">Moves so far.</param>
    public readonly record struct Entry(DateTimeOffset Time, HostId From, HostId To, int Moves);

    /// <summary>Records a migration start.</summary>
    public void Record(VmId vm, HostId from, HostId to, DateTimeOffset time)
    {
        lock (_gate)
        {
            int moves = _vms.TryGetValue(vm, out var e) ? e.Moves + 1 : 1;
            _vms[vm] = new Entry(time, from, to, moves);
            _lastReceived[to] = time;
        }
    }

    /// <summary>The VM's last move, if any.</summary>
    public Entry? Last(VmId vm)
    {
        lock (_gate)
        {
            return _vms.TryGetValue(vm, out var e) ? e : null;
        }
    }

    /// <summary>When the host last received a VM, if ever.</summary>
    public DateTimeOffset? LastReceived(HostId host)
    {
        lock (_gate)
        {
            return _lastReceived.TryGetValue(host, out var t) ? t : null;
        }
    }

    /// <summary>Forgets a VM (it left the cluster).</summary>
    public void Forget(VmId vm)
    {
        lock (_gate)
        {
            _vms.Remove(vm);
        }
    }
}
