using VmEcosystem.Cluster;
using VmEcosystem.Forecasting;
using VmEcosystem.Planning.Predictive;
using VmEcosystem.Planning.ShadowSlots;

namespace VmEcosystem.Planning;

/// <summary>Settings of a <see cref="PlanningSession"/>.</summary>
public sealed record PlanningSessionOptions
{
    /// <summary>Horizon of the demand forecasts, in planning ticks.</summary>
    public int HorizonTicks { get; init; } = 12;

    /// <summary>Interval level of the forecasts.</summary>
    public double Confidence { get; init; } = 0.95;

    /// <summary>
    /// Forecasting method per VM: any local method of <see cref="ForecastBenchmark.LocalMethods"/>, <c>auto</c>
    /// (an online <see cref="AutoForecaster"/> over median24, ses and holt_damped, choosing per VM by recent error), or
    /// <c>class</c> (the method <see cref="ForecastMethodByClass"/> names for the VM's workload class, as the
    /// <see cref="IWorkloadClassifier"/> sees it over the last 96 ticks; reclassified hourly).
    /// </summary>
    public string ForecastMethod { get; init; } = "median24";

    /// <summary>
    /// With <see cref="ForecastMethod"/> <c>class</c>: the local method per workload class (classes of the default
    /// classifier: idle, steady, bursty; a class not named here, and <c>unknown</c>, use median24). The default map is the
    /// best of those measured on the CloudSim-model benchmark (README).
    /// </summary>
    public IReadOnlyDictionary<string, string> ForecastMethodByClass { get; init; } = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["idle"] = "ses",
        ["steady"] = "median24",
        ["bursty"] = "median24",
    };

    /// <summary>Length of a planning tick.</summary>
    public TimeSpan Tick { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>Grace added to a migration's expected duration before its in-flight slot lapses.</summary>
    public TimeSpan InFlightGrace { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>Measure the one-step forecast error of every observation (<see cref="PlanningSession.LastOneStepError"/>); costs one extra forecast per VM.</summary>
    public bool TrackForecastError { get; init; }
}

/// <summary>
/// What persists between planning passes of one cluster: a demand forecaster per VM (fed with every pass's
/// demand), the shadow-slot ledger (growth reservations resized every pass; in-flight slots created when a migration
/// starts and released when it ends or lapses) and the migration history (cooldowns, hysteresis). The batch
/// benchmark and the hosted runtime both drive planning through a session.
/// </summary>
public sealed partial class PlanningSession
{
    private readonly PlanningSessionOptions _options;
    private readonly Dictionary<VmId, IForecaster> _forecasters = [];
    private readonly IWorkloadClassifier _classifier;
    private readonly DemandForecastSet _forecasts = new();
    private readonly Dictionary<VmId, HostId> _growthOn = [];

    /// <summary>Creates a session.</summary>
    /// <param name="options">Settings.</param>
    /// <param name="classifier">Workload classifier of the <c>class</c> method (default: <see cref="DefaultWorkloadClassifier"/>).</param>
    public PlanningSession(PlanningSessionOptions? options = null, IWorkloadClassifier? classifier = null)
    {
        _options = options ?? new PlanningSessionOptions();
        _classifier = classifier ?? new DefaultWorkloadClassifier();
        if (!Methods.Contains(_options.ForecastMethod))
        {
            throw new ArgumentException(
                $"PlanningSessionOptions.ForecastMethod '{_options.ForecastMethod}' is unknown; use one of {string.Join(", ", Methods)}.");
        }

        foreach (var (workloadClass, method) in _options.ForecastMethodByClass ?? new Dictionary<string, string>())
        {
            if (!ForecastBenchmark.LocalMethods.Contains(method))
            {
                throw new ArgumentException(
                    $"PlanningSessionOptions.ForecastMethodByClass:{workloadClass} '{method}' is unknown; use one of {string.Join(", ", ForecastBenchmark.LocalMethods)}.");
            }
        }

        if (_options.HorizonTicks < 1 || !(_options.Confidence > 0 && _options.Confidence < 1) || _options.Tick <= TimeSpan.Zero)
        {
            throw new ArgumentException("PlanningSessionOptions: HorizonTicks >= 1, Confidence in (0, 1), Tick > 0.");
        }
    }

    /// <summary>The forecasting methods a session can plan with.</summary>
    public static IReadOnlyList<string> Methods { get; } = [.. ForecastBenchmark.LocalMethods, "auto", "class"];

    /// <summary>The shadow-slot ledger.</summary>
    public ShadowSlotLedger Ledger { get; } = new();

    /// <summary>Past moves.</summary>
    public MigrationHistory History { get; } = new();

    /// <summary>The forecasts of the last prepared pass.</summary>
    public DemandForecastSet Forecasts => _forecasts;

    /// <summary>The planning tick the forecasts count their horizon in.</summary>
    internal TimeSpan Tick => _options.Tick;

    /// <summary>Mean absolute error (MHz) of the one-step forecasts against the demand of the last observation (null until measured).</summary>
    public double? LastOneStepError { get; private set; }

    /// <summary>The workload class the <c>class</c> method last gave <paramref name="vm"/> (null with another method or an unknown VM).</summary>
    public string? WorkloadClassOf(VmId vm) => _forecasters.GetValueOrDefault(vm) is ClassRoutedForecaster routed ? routed.Class : null;

    /// <summary>
    /// Upper bound of <paramref name="vm"/>'s demand forecast <paramref name="horizonTicks"/> ahead at
    /// <paramref name="confidence"/> (null before its forecaster has seen the VM).
    /// </summary>
    public double? UpperBound(VmId vm, int horizonTicks, double confidence) =>
        _forecasters.TryGetValue(vm, out var f) && f.Observations > 0 ? f.Forecast(horizonTicks, confidence).Upper : null;

    private IForecaster CreateForecaster(VmId vm)
    {
        var fo = new ForecasterOptions { CalibratedHorizons = [1, _options.HorizonTicks], HistoryCapacity = 96 };
        var single = new ForecasterOptions { CalibratedHorizons = [_options.HorizonTicks], HistoryCapacity = 96 };
        return _options.ForecastMethod switch
        {
            "auto" => new AutoForecaster(
                [ForecastBenchmark.CreateLocal("median24", fo), ForecastBenchmark.CreateLocal("ses", fo), ForecastBenchmark.CreateLocal("holt_damped", fo)],
                [1, _options.HorizonTicks]),
            "class" => new ClassRoutedForecaster(_classifier, vm, _options.ForecastMethodByClass ?? new Dictionary<string, string>(), "median24",
                m => ForecastBenchmark.CreateLocal(m, single), reclassifyEvery: Math.Max(1, (int)Math.Round(TimeSpan.FromHours(1) / _options.Tick))),
            _ => ForecastBenchmark.CreateLocal(_options.ForecastMethod, single),
        };
    }

    /// <summary>
    /// Feeds the demand in <paramref name="state"/> to the forecasters, refreshes forecasts and growth reservations,
    /// sweeps lapsed slots, and attaches forecasts, ledger and history to <paramref name="context"/> for the pass.
    /// </summary>
    public void Prepare(PlanningState state, PlanningContext context, DateTimeOffset now, bool observe = true)
    {
        ArgumentNullException.ThrowIfNull(state);
        ArgumentNullException.ThrowIfNull(context);
        context.Now = now;
        Ledger.Sweep(now);
        _forecasts.Reset(state.VmCount, _options.HorizonTicks, _options.Confidence);
        var expires = now + (_options.Tick * (_options.HorizonTicks + 1));
        var seen = new HashSet<VmId>();
        double errorSum = 0;
        int errorCount = 0;
        for (int v = 0; v < state.VmCount; v++)
        {
            if (!state.VmActive[v])
            {
                _forecasts.Set(v, 0, 0);
                continue;
            }

            var id = state.VmIds[v];
            seen.Add(id);
            if (!_forecasters.TryGetValue(id, out var f))
            {
                _forecasters[id] = f = CreateForecaster(id);
            }

            if (f is ClassRoutedForecaster routed)
            {
                routed.Capacity = state.VmTotalMips[v];
            }

            double demand = state.VmRequestedMips[v];
            if (observe && _options.TrackForecastError && f.Observations > 0)
            {
                errorSum += Math.Abs(f.Forecast(1, _options.Confidence).Point - demand);
                errorCount++;
            }

            if (observe)
            {
                f.Update(demand);
            }

            var forecast = f.Forecast(_options.HorizonTicks, _options.Confidence);
            // Never plan below what the VM asks for right now.
            double point = Math.Max(forecast.Point, 0);
            double upper = Math.Max(forecast.Upper, demand);
            _forecasts.Set(v, point, upper);

            int host = state.VmHost[v];
            if (host >= 0)
            {
                var hostId = state.HostIds[host];
                Ledger.Reserve(id.Value, hostId, ReservationKind.PredictedGrowth,
                    new ResourceVector(0, Math.Max(0, upper - point), 0), expires);
                _growthOn[id] = hostId;
            }
        }

        foreach (var gone in _forecasters.Keys.Where(id => !seen.Contains(id)).ToList())
        {
            _forecasters.Remove(gone);
            _growthOn.Remove(gone);
            Ledger.ReleaseOwner(gone.Value);
            History.Forget(gone);
        }

        if (errorCount > 0)
        {
            LastOneStepError = errorSum / errorCount;
        }

        context.With(_forecasts).With(Ledger).With(History);
    }

    /// <summary>Records a started migration: history, and an in-flight slot on the target for the VM's upper demand.</summary>
    public void OnMigrationStarted(VmId vm, HostId source, HostId target, DateTimeOffset now, TimeSpan expectedDuration, double upperDemandMips, double memoryMiB)
    {
        History.Record(vm, source, target, now);
        Ledger.Reserve(vm.Value, target, ReservationKind.MigrationInFlight, new ResourceVector(0, upperDemandMips, memoryMiB),
            now + expectedDuration + _options.InFlightGrace);
    }

    /// <summary>Releases the in-flight slot of a migration that ended (succeeded, failed or cancelled).</summary>
    public void OnMigrationEnded(VmId vm) => Ledger.Release(vm.Value, ReservationKind.MigrationInFlight);

    /// <summary>Forgets every reservation of VMs no longer present, and lapsed slots (for a steady-state check).</summary>
    public int Sweep(DateTimeOffset now) => Ledger.Sweep(now);
}
