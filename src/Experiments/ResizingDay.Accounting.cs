using VmEcosystem.Reservations;

namespace VmEcosystem.Experiments;

/// <summary>The per-minute accounting of a resizing day: demand against allocation, violations, slack.</summary>
internal sealed partial class ResizingDay
{
    public void Account(double start, double tick)
    {
        int minutes = Math.Max(1, (int)Math.Round(tick / 60));
        double dt = tick / minutes;
        for (int i = 0; i < _n; i++)
        {
            var trace = _traces[i];
            for (int m = 0; m < minutes; m++)
            {
                double t = start + ((m + 0.5) * dt);
                bool violated = false;
                for (int r = 0; r < _r; r++)
                {
                    int c = (i * _r) + r;
                    Settle(i, r, c, t);
                    double demand = (r == Cpu ? trace.CpuAt(t) : trace.MemoryAt(t)) * _unit[r];
                    double a = _alloc[c] + (_loans?.Effective(c, t) ?? 0), used = Math.Min(demand, a), unserved = demand - used;
                    if (Rule(i, r) is { } rule && (a < rule.Min - 1e-9 || a > rule.Max + 1e-9))
                    {
                        _outOfPolicy++;
                    }

                    if (r == Cpu)
                    {
                        (_allocatedCpu, _usedCpu, _unservedCpu) = (_allocatedCpu + (a * dt), _usedCpu + (used * dt), _unservedCpu + (unserved * dt));
                    }
                    else
                    {
                        (_allocatedMemory, _usedMemory, _unservedMemory) = (_allocatedMemory + (a * dt), _usedMemory + (used * dt), _unservedMemory + (unserved * dt));
                    }

                    if (unserved > a * 1e-9)
                    {
                        violated = true;
                        if (!double.IsNaN(_shrunkFrom[c]) && demand <= _shrunkFrom[c] && t - _track[c].LastChange <= tick + Delay(r))
                        {
                            _shortAfterShrink[c] = true; // the old size would have served it: the shrink made things worse
                        }
                    }
                }

                if (violated)
                {
                    _loans?.NoteViolation(i, t);
                    _violationMinutes++;
                    _violationsByPriority[(int)(_policy[i]?.Priority ?? SloPriority.Standard)]++;
                }
            }
        }
    }

    // A change whose delay has passed takes effect; a shrink frees its host's room only then.
    private void Settle(int i, int r, int c, double t)
    {
        if (double.IsNaN(_pendingAt[c]) || t < _pendingAt[c])
        {
            return;
        }

        int hc = (_host[i] * _r) + r;
        if (_pendingTo[c] < _alloc[c])
        {
            _hostAllocated[hc] -= _alloc[c] - _pendingTo[c];
        }

        _alloc[c] = _pendingTo[c];
        _pendingAt[c] = double.NaN;
    }

    public ResizingRunResult Result(ResizingMode mode, double end, double wallSeconds) => new(
        mode, _n, Hosts, _r == 2, _violationMinutes,
        new Dictionary<string, long> { ["critical"] = _violationsByPriority[0], ["standard"] = _violationsByPriority[1], ["bestEffort"] = _violationsByPriority[2] },
        _unservedCpu / 3600, _unservedMemory / 1024 / 3600,
        Percent(_allocatedCpu, _usedCpu), _r == 2 ? Percent(_allocatedMemory, _usedMemory) : double.NaN,
        _resizes, _rollbacks, _plannerRequests, _outOfPolicy, _policies.Version, wallSeconds)
    {
        Loans = _loans?.Loans ?? 0,
        LoanMinutes = _loans is null ? 0 : (_loans.LoanSeconds + _loans.OpenSecondsAt(end)) / 60,
        ForcedReturns = _loans?.ForcedReturns ?? 0,
        LenderViolations = _loans?.LenderViolations ?? 0,
        ScaleOuts = _loans?.Events() ?? [],
        ScaleInRequests = _loans?.ScaleIns ?? 0,
    };

    private static double Percent(double allocated, double used) => allocated > 0 ? 100 * (allocated - used) / allocated : 0;
}
