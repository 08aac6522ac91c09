using System.Diagnostics;
using VmEcosystem.Adjustment;
using VmEcosystem.Cluster;
using VmEcosystem.Forecasting;
using VmEcosystem.Policies;
using VmEcosystem.Reservations;
using VmEcosystem.Simulation;

namespace VmEcosystem.Experiments;

/// <summary>
/// A simulated day of per-VM allocations separate from demand: each VM has a CPU allocation (cores of quota, its
/// vCPUs hot-plugged to match) and, when the traces carry memory, a memory allocation; demand above the allocation
/// is unserved (an SLO violation, counted per VM-minute and priority). Every tick a controller proposes resizes under
/// the policy set (<see cref="ResizeAdvisor"/>), each host shares its room among them (<see cref="ResizeArbiter"/>:
/// what does not fit is a request to the planner, never an overcommit), and a change takes effect after the hot-plug
/// delay. A shrink after which the VM falls short of demand its old size covered is rolled back and remembered.
/// Accounting is per minute with the traces' interpolation; memory shrinks stop at what the guest uses.
/// </summary>
public static class ResizingExperiment
{
    private const int Cpu = 0, Memory = 1;

    /// <summary>Runs one mode over <paramref name="traces"/> (all the same length).</summary>
    /// <exception cref="ArgumentException">No traces, traces of different lengths, or a mode unknown.</exception>
    public static ResizingRunResult Run(
        IReadOnlyList<DemandTrace> traces, PolicySet policies, ResizingMode mode, ResizingRunOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(traces);
        ArgumentNullException.ThrowIfNull(policies);
        if (traces.Count == 0 || traces.Any(t => t.Length != traces[0].Length))
        {
            throw new ArgumentException("A resizing run needs traces, all of the same length.", nameof(traces));
        }

        var o = options ?? new ResizingRunOptions();
        var wall = Stopwatch.StartNew();
        var day = new ResizingDay(traces, policies, o);
        double tick = o.Tick.TotalSeconds;
        int ticks = (int)Math.Floor((traces[0].Length * traces[0].IntervalSeconds / tick) + 1e-9), warm = (int)Math.Round(o.WarmUp / o.Tick);
        for (int k = 0; k < ticks; k++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            double now = k * tick;
            day.Observe(k, learn: mode == ResizingMode.Predictive, retrain: k % Math.Max(1, o.RetrainEveryTicks) == 0);
            if (k >= warm && mode != ResizingMode.Static)
            {
                day.Control(k, now, mode);
            }

            day.Account(now, tick);
        }

        return day.Result(mode, wall.Elapsed.TotalSeconds);
    }

    /// <summary>The state of one run (arrays indexed by VM × resource).</summary>
    private sealed class ResizingDay
    {
        private readonly IReadOnlyList<DemandTrace> _traces;
        private readonly PolicySet _policies;
        private readonly ResizingRunOptions _o;
        private readonly int _n, _r;
        private readonly double[] _unit;
        private readonly EffectivePolicy?[] _policy;
        private readonly int[] _host;
        private readonly double[] _hostCapacity;
        private readonly double[] _hostAllocated;
        private readonly double[] _alloc, _pendingTo, _pendingAt, _shrunkFrom, _usage;
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
                    _forecasters[(i * _r) + r] = ExponentialSmoothingForecaster.Simple();
                }
            }

            (_hostCapacity, _hostAllocated) = Place();
            _candidates = [.. Enumerable.Range(0, _hostCapacity.Length / _r).Select(_ => new List<ResizeCandidate>())];
            _grants = new ResizeGrant[_n];
        }

        private int Hosts => _hostCapacity.Length / _r;

        private ResourceRule? Rule(int vm, int r) =>
            _policy[vm] is { } p && p.Rules.TryGetValue(r == Cpu ? PolicyResource.Cpu : PolicyResource.Memory, out var e) ? e.Rule : null;

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
        }

        public void Control(int k, double now, ResizingMode mode)
        {
            for (int r = 0; r < _r; r++)
            {
                foreach (var list in _candidates)
                {
                    list.Clear();
                }

                for (int i = 0; i < _n; i++)
                {
                    int c = (i * _r) + r;
                    if (Rule(i, r) is not { } rule || !double.IsNaN(_pendingAt[c]))
                    {
                        continue;
                    }

                    var candidate = _shortAfterShrink[c] ? Rollback(i, c, now, rule) : Propose(i, r, c, k, now, mode, rule);
                    if (candidate is { } x)
                    {
                        _candidates[_host[i]].Add(x);
                    }
                }

                for (int h = 0; h < Hosts; h++)
                {
                    Apply(h, r, now);
                }
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
            int horizon = Math.Max(1, (int)Math.Ceiling(policy.Horizon / _o.Tick));
            double usage = _usage[c], signal, target;
            switch (mode)
            {
                case ResizingMode.Reactive:
                    signal = usage;
                    target = usage * _o.ReactiveMargin;
                    break;
                case ResizingMode.Predictive:
                    double upper = usage;
                    for (int h = 1; h <= horizon; h++)
                    {
                        upper = Math.Max(upper, _forecasters[c].Forecast(h, _o.Confidence).Upper);
                    }

                    signal = upper;
                    target = upper / rule.GrowAbove;
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

            double guestFloor = r == Memory ? usage * _o.GuestMemoryKeep : 0;
            var advice = ResizeAdvisor.Advise(r == Cpu ? PolicyResource.Cpu : PolicyResource.Memory, rule, _alloc[c], signal, target, guestFloor, now, ref _track[c], "signal");
            return advice is null ? null : new ResizeCandidate(i, policy.Priority, advice.From, advice.To, signal, rule.CostPerUnit, rule.Step);
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
                        double a = _alloc[c], used = Math.Min(demand, a), unserved = demand - used;
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

        public ResizingRunResult Result(ResizingMode mode, double wallSeconds) => new(
            mode, _n, Hosts, _r == 2, _violationMinutes,
            new Dictionary<string, long> { ["critical"] = _violationsByPriority[0], ["standard"] = _violationsByPriority[1], ["bestEffort"] = _violationsByPriority[2] },
            _unservedCpu / 3600, _unservedMemory / 1024 / 3600,
            Percent(_allocatedCpu, _usedCpu), _r == 2 ? Percent(_allocatedMemory, _usedMemory) : double.NaN,
            _resizes, _rollbacks, _plannerRequests, _outOfPolicy, _policies.Version, wallSeconds);

        private static double Percent(double allocated, double used) => allocated > 0 ? 100 * (allocated - used) / allocated : 0;
    }
}
