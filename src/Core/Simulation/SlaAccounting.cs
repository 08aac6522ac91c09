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

    private readonly double[] _perHostActive;
    private readonly double[] _perHostViolation;
    private readonly double[] _perVmRequested;
    private readonly double[] _perVmAllocated;
    private readonly double[] _perVmMigrationLoss;
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
        _perHostActive = new double[hosts];
        _perHostViolation = new double[hosts];
        _perVmRequested = new double[vms];
        _perVmAllocated = new double[vms];
        _perVmMigrationLoss = new double[vms];
    }

    public HostSlaFigures Host(int h) => new(_perHostActive[h], _perHostViolation[h]);

    public VmSlaFigures Vm(int v) => new(_perVmRequested[v], _perVmAllocated[v], _perVmMigrationLoss[v]);

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
                _perHostActive[h] += dt;
                if (_hostAlloc[h] < _hostReq[h])
                {
                    _violationTime += dt;
                    _perHostViolation[h] += dt;
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
            _perVmAllocated[v] += alloc * dt;
            _perVmRequested[v] += req * dt;
            if (alloc < req)
            {
                _violationShareSum += (req - alloc) / req;
                _violationCount++;
                if (_vmMigrating[v])
                {
                    _underAllocatedDueToMigration += (req - alloc) * dt;
                    _perVmMigrationLoss[v] += (req - alloc) * dt;
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

/// <summary>SLA figures of one host.</summary>
/// <param name="ActiveSeconds">Time the host was active (drawing power for VMs).</param>
/// <param name="ViolationSeconds">Active time in which it could not serve all requested MIPS.</param>
public readonly record struct HostSlaFigures(double ActiveSeconds, double ViolationSeconds)
{
    /// <summary>Share of active time in violation.</summary>
    public double ViolationShare => ActiveSeconds > 0 ? ViolationSeconds / ActiveSeconds : 0;
}

/// <summary>SLA figures of one VM.</summary>
/// <param name="RequestedMipsSeconds">CPU requested, MIPS·s.</param>
/// <param name="AllocatedMipsSeconds">CPU received, MIPS·s.</param>
/// <param name="LostToMigrationMipsSeconds">CPU lost while migrating, MIPS·s.</param>
public readonly record struct VmSlaFigures(double RequestedMipsSeconds, double AllocatedMipsSeconds, double LostToMigrationMipsSeconds)
{
    /// <summary>Share of requested CPU not received.</summary>
    public double ViolationShare => RequestedMipsSeconds > 0 ? (RequestedMipsSeconds - AllocatedMipsSeconds) / RequestedMipsSeconds : 0;
}
