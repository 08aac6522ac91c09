namespace VmEcosystem.Simulation;

/// <summary>
/// CloudSim's SLA metrics computed incrementally from state-history entries, without storing the histories:
/// each entry holds from its time until the next one, and an entry at the same time replaces the previous one.
/// SLATAH and PDM are ratios of sums, as CloudSim 3.0.3 computes them.
/// </summary>
internal sealed class SlaAccounting
{
    private readonly double[] _hostTime;
    private readonly double[] _hostAlloc;
    private readonly double[] _hostReq;
    private readonly bool[] _hostActive;
    private readonly bool[] _hostHasEntry;
    private readonly bool[] _hostHasFinal;
    private readonly bool[] _hostFinalActive;
    private readonly double[] _vmTime;
    private readonly double[] _vmAlloc;
    private readonly double[] _vmReq;
    private readonly bool[] _vmMigrating;
    private readonly bool[] _vmHasEntry;

    private double _activeTime;
    private double _violationTime;
    private double _requested;
    private double _allocated;
    private double _underAllocatedDueToMigration;
    private double _violationShareSum;
    private long _violationCount;

    public SlaAccounting(int hosts, int vms)
    {
        _hostTime = new double[hosts];
        _hostAlloc = new double[hosts];
        _hostReq = new double[hosts];
        _hostActive = new bool[hosts];
        _hostHasEntry = new bool[hosts];
        _hostHasFinal = new bool[hosts];
        _hostFinalActive = new bool[hosts];
        _vmTime = new double[vms];
        _vmAlloc = new double[vms];
        _vmReq = new double[vms];
        _vmMigrating = new bool[vms];
        _vmHasEntry = new bool[vms];
    }

    public int HostShutdowns { get; private set; }

    public double Slatah => _activeTime > 0 ? _violationTime / _activeTime : 0;

    public double Pdm => _requested > 0 ? _underAllocatedDueToMigration / _requested : 0;

    public double OverallViolation => _requested > 0 ? (_requested - _allocated) / _requested : 0;

    public double AverageViolation => _violationCount > 0 ? _violationShareSum / _violationCount : 0;

    public void RecordHost(int h, double time, double allocated, double requested, bool active)
    {
        if (_hostHasEntry[h] && _hostTime[h] != time)
        {
            double dt = time - _hostTime[h];
            if (_hostActive[h])
            {
                _activeTime += dt;
                if (_hostAlloc[h] < _hostReq[h])
                {
                    _violationTime += dt;
                }
            }

            // Shutdown = an active entry followed by an inactive one (compared between finalised entries).
            if (_hostHasFinal[h] && _hostFinalActive[h] && !_hostActive[h])
            {
                HostShutdowns++;
            }

            _hostHasFinal[h] = true;
            _hostFinalActive[h] = _hostActive[h];
        }

        _hostHasEntry[h] = true;
        _hostTime[h] = time;
        _hostAlloc[h] = allocated;
        _hostReq[h] = requested;
        _hostActive[h] = active;
    }

    public void RecordVm(int v, double time, double allocated, double requested, bool inMigration)
    {
        if (_vmHasEntry[v] && _vmTime[v] != time)
        {
            double dt = time - _vmTime[v];
            double alloc = _vmAlloc[v];
            double req = _vmReq[v];
            _allocated += alloc * dt;
            _requested += req * dt;
            if (alloc < req)
            {
                _violationShareSum += (req - alloc) / req;
                _violationCount++;
                if (_vmMigrating[v])
                {
                    _underAllocatedDueToMigration += (req - alloc) * dt;
                }
            }
        }

        _vmHasEntry[v] = true;
        _vmTime[v] = time;
        _vmAlloc[v] = allocated;
        _vmReq[v] = requested;
        _vmMigrating[v] = inMigration;
    }
}
