using VmEcosystem.Cluster;
using VmEcosystem.Forecasting.Global;

namespace VmEcosystem.Forecasting;

/// <summary>
/// Per-VM demand models for every metric, trained individually and fed one round of samples at a time, plus one
/// global CPU model pooled over every VM. Forecasts aggregate per host and host set; hot spots (rising or volatile
/// VMs) and workload classes are reported. Thread-safe; deterministic for a given sample sequence.
/// </summary>
/// <remarks>
/// <para><b>Aggregating intervals.</b> A host's forecast is the sum of its VMs' point forecasts. Summing the
/// interval half-widths would assume the VMs' errors are perfectly correlated (far too wide); adding them in
/// quadrature would assume independence (too narrow when an application's VMs rise together). The profiler
/// estimates, per metric, the average pairwise correlation ρ of the VMs' recent one-step errors from the variance of their
/// sum, ρ̂ = (Var(Σe) − ΣVar(eᵢ)) / ((Σσᵢ)² − Σσᵢ²), shrinks it toward <see cref="WorkloadProfilerOptions.CorrelationPrior"/>
/// in proportion to how few residuals exist, clamps it to [0, 1], and combines the half-widths uᵢ as
/// √((1 − ρ)Σuᵢ² + ρ(Σuᵢ)²) — exact for equal pairwise correlations.</para>
/// </remarks>
public sealed class WorkloadProfiler
{
    private const int ResidualWindow = 96;
    private const double ShrinkageWeight = 8;
    private readonly WorkloadProfilerOptions _options;
    private readonly IWorkloadClassifier _classifier;
    private readonly Dictionary<VmId, VmState> _vms = [];
    private readonly Dictionary<VmId, string> _groups = [];
    private readonly Dictionary<VmId, double> _capacity = [];
    private readonly GlobalForecastModel _global;
    private readonly int[] _horizonSteps;
    private readonly int _retrainEvery;
    private readonly Lock _gate = new();
    private CrossSection _hostSet;
    private Dictionary<string, (double Now, double Before)> _groupContext = [];
    private double _hostSetBefore;
    private long _round;

    /// <summary>Creates a profiler.</summary>
    /// <exception cref="ArgumentException">Invalid options; the message names the setting.</exception>
    public WorkloadProfiler(WorkloadProfilerOptions? options = null, IWorkloadClassifier? classifier = null)
    {
        _options = options ?? new WorkloadProfilerOptions();
        var errors = _options.Validate().ToArray();
        if (errors.Length > 0)
        {
            throw new ArgumentException(string.Join(" ", errors), nameof(options));
        }

        _classifier = classifier ?? new DefaultWorkloadClassifier();
        _horizonSteps = [.. _options.Horizons.Select(StepsFor).Distinct().Order()];
        _retrainEvery = Math.Max(1, (int)Math.Round(_options.RetrainInterval / _options.SampleInterval));
        _global = new GlobalForecastModel(new GlobalModelOptions { Horizons = _horizonSteps });
    }

    /// <summary>Rounds of samples observed.</summary>
    public long Rounds
    {
        get
        {
            lock (_gate)
            {
                return _round;
            }
        }
    }

    /// <summary>VMs currently profiled.</summary>
    public int VmCount
    {
        get
        {
            lock (_gate)
            {
                return _vms.Count;
            }
        }
    }

    /// <summary>Samples rejected so far (NaN, infinite or negative values).</summary>
    public long RejectedSamples { get; private set; }

    /// <summary>True once the global CPU model has been trained.</summary>
    public bool GlobalModelTrained => _global.IsTrained;

    /// <summary>Learns groups (label <c>app</c>, else the profile's type) and CPU capacities from an inventory.</summary>
    public void UpdateInventory(InventorySnapshot inventory)
    {
        ArgumentNullException.ThrowIfNull(inventory);
        lock (_gate)
        {
            foreach (var vm in inventory.Vms)
            {
                _capacity[vm.Id] = vm.Allocation.CpuMhz;
                string? group = vm.Labels.TryGetValue("app", out var app) ? app : vm.Profile.Type;
                if (group is not null)
                {
                    _groups[vm.Id] = group;
                }
            }
        }
    }

    /// <summary>Feeds one round of samples (one per VM). Invalid samples are skipped and counted, never thrown.</summary>
    public void Observe(IReadOnlyList<VmMetricSample> samples)
    {
        ArgumentNullException.ThrowIfNull(samples);
        lock (_gate)
        {
            _round++;
            foreach (var sample in samples)
            {
                if (!Valid(sample))
                {
                    RejectedSamples++;
                    continue;
                }

                if (!_vms.TryGetValue(sample.Vm, out var state))
                {
                    _vms[sample.Vm] = state = CreateState(sample.Vm);
                }

                if (sample.CpuUtilization > 0 && !_capacity.ContainsKey(sample.Vm))
                {
                    _capacity[sample.Vm] = sample.CpuMhz / sample.CpuUtilization;
                }

                state.Observe(sample, _round);
            }

            var stale = _vms.Where(kv => _round - kv.Value.LastRound >= _options.EvictAfterMissedRounds).Select(kv => kv.Key).ToList();
            foreach (var vm in stale)
            {
                _vms.Remove(vm);
            }

            UpdateCrossSection();
            if (_round % _retrainEvery == 0)
            {
                Retrain();
            }

            foreach (var state in _vms.Values)
            {
                state.RememberOneStep(_options.Confidence);
            }
        }
    }

    /// <summary>Forecasts one VM's metric <paramref name="horizon"/> ahead.</summary>
    /// <exception cref="KeyNotFoundException">The VM is not profiled.</exception>
    public VmForecast Forecast(VmId vm, MetricKind metric, TimeSpan horizon)
    {
        lock (_gate)
        {
            var state = Get(vm);
            var model = state.Models[(int)metric];
            return new VmForecast(vm, metric, horizon, model.Forecast(StepsFor(horizon), _options.Confidence), model.Name);
        }
    }

    /// <summary>Forecasts the sum of several VMs' metric (a host or a host set); unknown VMs are skipped.</summary>
    public AggregateForecast ForecastSum(IEnumerable<VmId> vms, MetricKind metric, TimeSpan horizon)
    {
        ArgumentNullException.ThrowIfNull(vms);
        lock (_gate)
        {
            int steps = StepsFor(horizon);
            var states = vms.Distinct().Select(v => _vms.GetValueOrDefault(v)).OfType<VmState>().ToList();
            double point = 0, upSq = 0, up = 0, loSq = 0, lo = 0;
            foreach (var s in states)
            {
                var f = s.Models[(int)metric].Forecast(steps, _options.Confidence);
                point += f.Point;
                double u = f.Upper - f.Point, l = f.Point - f.Lower;
                upSq += u * u;
                up += u;
                loSq += l * l;
                lo += l;
            }

            double rho = EstimateCorrelation(states, (int)metric);
            double upper = Math.Sqrt(Math.Max(0, ((1 - rho) * upSq) + (rho * up * up)));
            double lower = Math.Sqrt(Math.Max(0, ((1 - rho) * loSq) + (rho * lo * lo)));
            return new AggregateForecast(metric, horizon, new Forecast(point, Math.Max(0, point - lower), point + upper), states.Count, rho);
        }
    }

    /// <summary>VMs whose CPU demand is forecast to rise fast or is too unpredictable, worst first.</summary>
    public IReadOnlyList<HotSpot> DetectHotSpots()
    {
        lock (_gate)
        {
            int longest = _horizonSteps[^1];
            var result = new List<HotSpot>();
            Span<double> recent = stackalloc double[6];
            Span<double> scratch = stackalloc double[6];
            foreach (var (vm, state) in _vms)
            {
                if (state.Cpu.Count < 6 || !_capacity.TryGetValue(vm, out double capacity) || capacity <= 0)
                {
                    continue;
                }

                var f = state.Models[(int)MetricKind.Cpu].Forecast(longest, _options.Confidence);
                int n = state.Cpu.CopyLast(6, recent);
                double now = RobustStatistics.Median(recent[..n], scratch);
                double rise = (f.Point - now) / capacity;
                if (rise > _options.RisingShareOfAllocation)
                {
                    result.Add(new HotSpot(vm, HotSpotKind.Rising, rise / _options.RisingShareOfAllocation,
                        $"CPU forecast to rise from {now:F0} to {f.Point:F0} MHz ({rise:P0} of its {capacity:F0} MHz) within {longest} samples."));
                }

                double width = f.Width / capacity;
                if (width > _options.VolatileShareOfAllocation)
                {
                    result.Add(new HotSpot(vm, HotSpotKind.Volatile, width / _options.VolatileShareOfAllocation,
                        $"95 % interval of CPU spans {width:P0} of its {capacity:F0} MHz allocation."));
                }
            }

            return [.. result.OrderByDescending(h => h.Score).ThenBy(h => h.Vm)];
        }
    }

    /// <summary>The workload class of a VM, from the configured <see cref="IWorkloadClassifier"/>.</summary>
    public string Classify(VmId vm)
    {
        lock (_gate)
        {
            var state = Get(vm);
            var history = new double[state.Cpu.Count];
            state.Cpu.CopyLast(history.Length, history);
            return _classifier.Classify(vm, history, _capacity.GetValueOrDefault(vm));
        }
    }

    private VmState Get(VmId vm) =>
        _vms.TryGetValue(vm, out var state) ? state : throw new KeyNotFoundException($"VM '{vm}' is not profiled (no sample seen yet, or evicted).");

    private int StepsFor(TimeSpan horizon)
    {
        if (horizon <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(horizon), horizon, "The horizon must be positive.");
        }

        return Math.Max(1, (int)Math.Ceiling(horizon / _options.SampleInterval));
    }

    private static bool Valid(VmMetricSample s) =>
        Ok(s.CpuMhz) && Ok(s.MemoryMiB) && Ok(s.NetworkRxMbps) && Ok(s.NetworkTxMbps) && Ok(s.DiskReadIops) && Ok(s.DiskWriteIops);

    private static bool Ok(double v) => double.IsFinite(v) && v >= 0;

    private VmState CreateState(VmId vm)
    {
        var fo = new ForecasterOptions { HistoryCapacity = _options.HistoryCapacity, CalibratedHorizons = _horizonSteps };
        var models = new IForecaster[4];
        var state = new VmState(vm, _options.HistoryCapacity, models);
        models[(int)MetricKind.Cpu] = _options.CpuMethod == "auto"
            ? new AutoForecaster(
                [new GlobalForecaster(_global, () => ContextFor(vm), fo), ForecastBenchmark.CreateLocal("median24", fo), ForecastBenchmark.CreateLocal("ses", fo)],
                _horizonSteps)
            : ForecastBenchmark.CreateLocal(_options.CpuMethod, fo);
        models[(int)MetricKind.Memory] = Local(_options.MemoryMethod, fo);
        models[(int)MetricKind.Network] = Local(_options.NetworkMethod, fo);
        models[(int)MetricKind.Disk] = Local(_options.DiskMethod, fo);
        return state;
    }

    private static IForecaster Local(string method, ForecasterOptions fo) =>
        ForecastBenchmark.CreateLocal(method == "auto" ? "median24" : method, fo);

    private CrossSection ContextFor(VmId vm)
    {
        var (g1, g2) = _groups.TryGetValue(vm, out var g) && _groupContext.TryGetValue(g, out var c) ? c : (_hostSet.HostSet1, _hostSet.HostSet2);
        return _hostSet with { Group1 = g1, Group2 = g2 };
    }

    private void UpdateCrossSection()
    {
        Span<double> scratch = stackalloc double[GlobalFeatures.Lookback];
        var window = new double[GlobalFeatures.Lookback];
        double sum = 0;
        int count = 0;
        var groupSums = new Dictionary<string, (double Sum, int Count)>();
        foreach (var (vm, state) in _vms)
        {
            if (state.Cpu.Count < GlobalFeatures.MinimumHistory)
            {
                continue;
            }

            int n = state.Cpu.CopyLast(GlobalFeatures.Lookback, window);
            double d = GlobalFeatures.Deviation(window.AsSpan(0, n), scratch);
            sum += d;
            count++;
            if (_groups.TryGetValue(vm, out var g))
            {
                var (s, c) = groupSums.GetValueOrDefault(g);
                groupSums[g] = (s + d, c + 1);
            }
        }

        double now = count > 0 ? sum / count : 0;
        _hostSet = new CrossSection(now, _hostSetBefore, 0, 0);
        _hostSetBefore = now;
        var next = new Dictionary<string, (double Now, double Before)>();
        foreach (var (g, (s, c)) in groupSums)
        {
            next[g] = (s / c, _groupContext.TryGetValue(g, out var old) ? old.Now : s / c);
        }

        _groupContext = next;
    }

    private void Retrain()
    {
        foreach (var state in _vms.Values)
        {
            foreach (var m in state.Models)
            {
                m.Refit();
            }
        }

        if (_options.CpuMethod != "auto")
        {
            return;
        }

        var ready = _vms.Where(kv => kv.Value.Cpu.Count >= _options.GlobalWarmupSamples).ToList();
        if (ready.Count == 0)
        {
            return;
        }

        var series = new List<double[]>(ready.Count);
        var groupIds = new Dictionary<string, int>(StringComparer.Ordinal);
        var groups = new List<int>(ready.Count);
        foreach (var (vm, state) in ready)
        {
            var y = new double[state.Cpu.Count];
            state.Cpu.CopyLast(y.Length, y);
            series.Add(y);
            string key = _groups.TryGetValue(vm, out var g) ? g : $"vm:{vm.Value}";
            if (!groupIds.TryGetValue(key, out int id))
            {
                groupIds[key] = id = groupIds.Count;
            }

            groups.Add(id);
        }

        var panel = new SeriesPanel(series, groups);
        if (_global.IsTrained)
        {
            _global.Refresh(panel, panel.Length);
        }
        else
        {
            _global.Train(panel, panel.Length);
        }
    }

    private double EstimateCorrelation(List<VmState> states, int metric)
    {
        if (states.Count < 2)
        {
            return _options.CorrelationPrior;
        }

        // Align the residual rings on the most recent rounds every VM has.
        int window = states.Min(s => s.ResidualCount);
        if (window < 4)
        {
            return _options.CorrelationPrior;
        }

        double sumVar = 0, sumSigma = 0, varOfSum = 0;
        var totals = new double[window];
        foreach (var s in states)
        {
            double v = 0;
            for (int k = 0; k < window; k++)
            {
                double e = s.Residual(metric, k);
                v += e * e;
                totals[k] += e;
            }

            v /= window;
            sumVar += v;
            sumSigma += Math.Sqrt(v);
        }

        foreach (double t in totals)
        {
            varOfSum += t * t;
        }

        varOfSum /= window;
        double denominator = (sumSigma * sumSigma) - sumVar;
        double estimate = denominator > 1e-12 ? (varOfSum - sumVar) / denominator : _options.CorrelationPrior;
        double shrunk = ((window * estimate) + (ShrinkageWeight * _options.CorrelationPrior)) / (window + ShrinkageWeight);
        return Math.Clamp(shrunk, 0, 1);
    }

    private sealed class VmState(VmId vm, int capacity, IForecaster[] models)
    {
        private const int Metrics = 4;

        // one-step errors per metric (CPU, memory, network, disk) in one flat ring: metric m's k-th slot is at m * window + k
        private readonly double[] _residuals = new double[Metrics * ResidualWindow];
        private readonly double[] _pending = [double.NaN, double.NaN, double.NaN, double.NaN];
        private int _residualNext;

        public VmId Vm { get; } = vm;

        public IForecaster[] Models { get; } = models;

        public SeriesWindow Cpu { get; } = new(capacity);

        public long LastRound { get; private set; }

        public int ResidualCount { get; private set; }

        public void Observe(in VmMetricSample s, long round)
        {
            if (!double.IsNaN(_pending[0]))
            {
                _residuals[_residualNext] = s.CpuMhz - _pending[0];
                _residuals[ResidualWindow + _residualNext] = s.MemoryMiB - _pending[1];
                _residuals[(2 * ResidualWindow) + _residualNext] = s.NetworkRxMbps + s.NetworkTxMbps - _pending[2];
                _residuals[(3 * ResidualWindow) + _residualNext] = s.DiskReadIops + s.DiskWriteIops - _pending[3];
                _residualNext = (_residualNext + 1) % ResidualWindow;
                ResidualCount = Math.Min(ResidualCount + 1, ResidualWindow);
            }

            Models[(int)MetricKind.Cpu].Update(s.CpuMhz);
            Models[(int)MetricKind.Memory].Update(s.MemoryMiB);
            Models[(int)MetricKind.Network].Update(s.NetworkRxMbps + s.NetworkTxMbps);
            Models[(int)MetricKind.Disk].Update(s.DiskReadIops + s.DiskWriteIops);
            Cpu.Add(s.CpuMhz);
            LastRound = round;
        }

        public void RememberOneStep(double confidence)
        {
            for (int m = 0; m < Metrics; m++)
            {
                _pending[m] = Cpu.Count > 0 ? Models[m].Forecast(1, confidence).Point : double.NaN;
            }
        }

        // k = 0 is the newest residual.
        public double Residual(int metric, int k)
        {
            int i = _residualNext - 1 - k;
            return _residuals[(metric * ResidualWindow) + (i < 0 ? i + ResidualWindow : i)];
        }
    }
}
