using VmEcosystem.Adjustment;
using VmEcosystem.Cluster;
using VmEcosystem.Forecasting;
using VmEcosystem.Policies;
using VmEcosystem.Simulation;

namespace VmEcosystem.Experiments;

/// <summary>The state of one run (arrays indexed by VM × resource).</summary>
internal sealed partial class ResizingDay
{
    private const int Cpu = 0, Memory = 1;
    private readonly IReadOnlyList<DemandTrace> _traces;
    private readonly PolicySet _policies;
    private readonly ResizingRunOptions _o;
    private readonly int _n, _r;
    private readonly double[] _unit;
    private readonly EffectivePolicy?[] _policy;
    private readonly int[] _host;
    private readonly double[] _hostCapacity;
    private readonly double[] _hostAllocated;
    private readonly double[] _alloc, _pendingTo, _pendingAt, _shrunkFrom, _usage, _upper;
    private readonly bool[] _shortAfterShrink;
    private readonly ResizeTrack[] _track;
    private readonly IForecaster[] _forecasters;
    private readonly List<ResizeCandidate>[] _candidates;
    private readonly ResizeGrant[] _grants;
    private readonly long[] _violationsByPriority = new long[3];
    private double _allocatedCpu, _usedCpu, _allocatedMemory, _usedMemory, _unservedCpu, _unservedMemory;
    private long _violationMinutes, _outOfPolicy;
    private int _resizes, _rollbacks, _plannerRequests;

    public ResizingDay(IReadOnlyList<DemandTrace> traces, PolicySet policies, ResizingRunOptions o)
    {
        _traces = traces;
        _policies = policies;
        _o = o;
        _n = traces.Count;
        _r = traces.All(t => t.HasMemory) ? 2 : 1;
        _unit = [o.VmCores, o.VmMemoryMiB];
        _policy = new EffectivePolicy?[_n];
        _host = new int[_n];
        int cells = _n * _r;
        _alloc = new double[cells];
        _pendingTo = new double[cells];
        _pendingAt = new double[cells];
        _shrunkFrom = new double[cells];
        _usage = new double[cells];
        _upper = new double[cells];
        _shortAfterShrink = new bool[cells];
        _track = new ResizeTrack[cells];
        _forecasters = new IForecaster[cells];
        Array.Fill(_pendingAt, double.NaN);
        Array.Fill(_shrunkFrom, double.NaN);
        Array.Fill(_track, ResizeTrack.New);
        int warm = Math.Max(1, (int)Math.Round(o.WarmUp / o.Tick));
        int warmSamples = Math.Clamp((int)Math.Round(o.WarmUp.TotalSeconds / traces[0].IntervalSeconds), 1, traces[0].Length);
        var classifier = new DefaultWorkloadClassifier();
        for (int i = 0; i < _n; i++)
        {
            var cpuHistory = traces[i].Cpu[..warmSamples];
            string cls = classifier.Classify(new VmId(traces[i].Name), cpuHistory, 1.0);
            _policy[i] = policies.Resolve(new PolicySubject(traces[i].Name, null, null, cls));
            for (int r = 0; r < _r; r++)
            {
                double peak = 0;
                for (int k = 0; k < warm; k++)
                {
                    peak = Math.Max(peak, Sample(i, r, k));
                }

                var rule = Rule(i, r);
                _alloc[(i * _r) + r] = rule is null ? _unit[r] : ResizeAdvisor.Limit(ResizeAdvisor.RoundUp(peak, rule.Step), rule);
                _forecasters[(i * _r) + r] = o.Forecaster switch
                {
                    "holt" => ExponentialSmoothingForecaster.Holt(),
                    "damped" => ExponentialSmoothingForecaster.HoltDamped(),
                    _ => ExponentialSmoothingForecaster.Simple(),
                };
            }
        }

        (_hostCapacity, _hostAllocated) = o.HostSetSizes is { Count: > 0 } sizes ? PlaceInSets(sizes) : Place();
        _loans = o.Borrowing || o.HostSetSizes is { Count: > 0 } ? new LoanState(this) : null;
        _candidates = [.. Enumerable.Range(0, _hostCapacity.Length / _r).Select(_ => new List<ResizeCandidate>())];
        _grants = new ResizeGrant[_n];
    }

    private int Hosts => _hostCapacity.Length / _r;

    private ResourceRule? Rule(int vm, int r) =>
        _policy[vm] is { } p && p.Rules.TryGetValue(Resource(r), out var e) ? e.Rule : null;

    private static PolicyResource Resource(int r) => r == Cpu ? PolicyResource.Cpu : PolicyResource.Memory;

    // What a controller sampling at the tick sees at tick k: the traces' demand there (interpolated between samples,
    // as the accounting has it; exactly the sample when the tick is the traces' interval).
    private double Sample(int vm, int r, int k)
    {
        double t = k * _o.Tick.TotalSeconds;
        var trace = _traces[vm];
        return (r == Cpu ? trace.CpuAt(t) : trace.MemoryAt(t)) * _unit[r];
    }

    private double Delay(int r) => (r == Cpu ? _o.QuotaDelay : _o.HotPlugDelay).TotalSeconds;

    private int Ticks => (int)Math.Floor((_traces[0].Length * _traces[0].IntervalSeconds / _o.Tick.TotalSeconds) + 1e-9);

    // First fit, in trace order, up to the initial fill of every resource.
    private (double[] Capacity, double[] Allocated) Place()
    {
        var allocated = new List<double>();
        for (int i = 0; i < _n; i++)
        {
            int h = 0;
            for (; h < allocated.Count / _r; h++)
            {
                if (Fits(allocated, h, i))
                {
                    break;
                }
            }

            if (h == allocated.Count / _r)
            {
                allocated.AddRange(new double[_r]);
            }

            _host[i] = h;
            for (int r = 0; r < _r; r++)
            {
                allocated[(h * _r) + r] += _alloc[(i * _r) + r];
            }
        }

        var capacity = new double[allocated.Count];
        for (int c = 0; c < capacity.Length; c++)
        {
            capacity[c] = c % _r == Cpu ? _o.HostCores : _o.HostMemoryMiB;
        }

        return (capacity, [.. allocated]);
    }

    private bool Fits(List<double> allocated, int h, int vm)
    {
        for (int r = 0; r < _r; r++)
        {
            double cap = r == Cpu ? _o.HostCores : _o.HostMemoryMiB;
            if (allocated[(h * _r) + r] + _alloc[(vm * _r) + r] > cap * _o.InitialFill)
            {
                return false;
            }
        }

        return true;
    }

    public void Observe(int k, bool learn, bool retrain)
    {
        for (int c = 0; c < _alloc.Length; c++)
        {
            double u = Sample(c / _r, c % _r, k);
            _usage[c] = u;
            if (learn)
            {
                _forecasters[c].Update(u);
                if (retrain && k > 0)
                {
                    _forecasters[c].Refit();
                }
            }
        }

        if (learn)
        {
            _loans?.ObserveSets(retrain && k > 0);
        }
    }

    public void Control(int k, double now, ResizingMode mode)
    {
        for (int r = 0; r < _r; r++)
        {
            foreach (var list in _candidates)
            {
                list.Clear();
            }

            Uppers(r, mode);
            _loans?.Return(r, now);
            for (int i = 0; i < _n; i++)
            {
                int c = (i * _r) + r;
                if (Rule(i, r) is not { } rule || !double.IsNaN(_pendingAt[c]) || (_loans?.Lends(i, r) ?? false))
                {
                    continue; // a lender is not resized while it has lent: a rise in its forecast returns the loan first
                }

                var candidate = _shortAfterShrink[c] ? Rollback(i, c, now, rule) : Propose(i, r, c, k, now, mode, rule);
                if (candidate is { } x)
                {
                    _candidates[_host[i]].Add(x);
                }
            }

            _loans?.ClearNeeds(r);
            for (int h = 0; h < Hosts; h++)
            {
                Apply(h, r, now);
            }

            _loans?.Lend(r, now);
        }

        if (mode == ResizingMode.Predictive)
        {
            _loans?.ScaleOut(now); // the aggregate forecast: only the predictive mode trains forecasters
        }
    }

    // The signal each mode sizes for, per governed VM: the forecast's upper bound over the policy's horizon (predictive),
    // or the current use; the loan planner reads it too (a lender keeps its upper bound plus a margin).
    private void Uppers(int r, ResizingMode mode)
    {
        for (int i = 0; i < _n; i++)
        {
            int c = (i * _r) + r;
            double upper = _usage[c];
            if (mode == ResizingMode.Predictive && _policy[i] is { } policy)
            {
                int horizon = Math.Max(1, (int)Math.Ceiling(policy.HorizonOf(Resource(r)) / _o.Tick));
                for (int h = 1; h <= horizon; h++)
                {
                    upper = Math.Max(upper, _forecasters[c].Forecast(h, _o.Confidence).Upper);
                }
            }

            _upper[c] = upper;
        }
    }

    private ResizeCandidate? Rollback(int i, int c, double now, ResourceRule rule)
    {
        _shortAfterShrink[c] = false;
        _rollbacks++;
        double back = _shrunkFrom[c];
        ResizeAdvisor.Remember(ref _track[c], back, now + _o.RollbackMemory.TotalSeconds);
        return new ResizeCandidate(i, _policy[i]!.Priority, _alloc[c], back, back, rule.CostPerUnit, rule.Step);
    }

    private ResizeCandidate? Propose(int i, int r, int c, int k, double now, ResizingMode mode, ResourceRule rule)
    {
        var policy = _policy[i]!;
        int horizon = Math.Max(1, (int)Math.Ceiling(policy.HorizonOf(Resource(r)) / _o.Tick));
        double usage = _usage[c], signal, target;
        switch (mode)
        {
            case ResizingMode.Reactive:
                signal = usage;
                target = usage * _o.ReactiveMargin;
                break;
            case ResizingMode.Predictive:
                signal = _upper[c];
                target = signal / rule.GrowAbove;
                break;
            case ResizingMode.Oracle:
                signal = usage;
                for (int h = 1; h <= horizon && k + h < Ticks; h++)
                {
                    signal = Math.Max(signal, Sample(i, r, k + h));
                }

                target = signal;
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(mode), mode, "Not a resizing controller.");
        }

        // A borrower is sized on what it has with its loans; the candidate changes its own allocation, and only grows
        // (when it needs less, its loans go back first).
        double borrowed = _loans?.Borrowed(i, r) ?? 0;
        double guestFloor = r == Memory ? usage * _o.GuestMemoryKeep : 0;
        var advice = ResizeAdvisor.Advise(r == Cpu ? PolicyResource.Cpu : PolicyResource.Memory, rule, _alloc[c] + borrowed, signal, target, guestFloor, now, ref _track[c], "signal");
        if (advice is null || (borrowed > 0 && !advice.Grows))
        {
            return null;
        }

        return new ResizeCandidate(i, policy.Priority, advice.From - borrowed, advice.To - borrowed, signal - borrowed, rule.CostPerUnit, rule.Step);
    }

    private void Apply(int h, int r, double now)
    {
        var list = _candidates[h];
        if (list.Count == 0)
        {
            return;
        }

        int hc = (h * _r) + r;
        int count = ResizeArbiter.Arbitrate(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(list), _hostCapacity[hc] - _hostAllocated[hc], _o.MaxChangesPerHostTick, _grants);
        for (int g = 0; g < count; g++)
        {
            var grant = _grants[g];
            int c = (grant.Index * _r) + r;
            if (grant.Shortfall > 0)
            {
                _plannerRequests++;
                _loans?.Needs(grant.Index, r, grant.Shortfall);
            }

            if (grant.To == _alloc[c])
            {
                continue;
            }

            bool grows = grant.To > _alloc[c];
            _shrunkFrom[c] = grows ? double.NaN : _alloc[c];
            _pendingTo[c] = grant.To;
            _pendingAt[c] = now + Delay(r);
            if (grows)
            {
                _hostAllocated[hc] += grant.To - _alloc[c]; // held from the decision, so no one else takes the room meanwhile
            }

            ResizeAdvisor.Applied(ref _track[c], grows, now);
            _resizes++;
        }
    }
}
