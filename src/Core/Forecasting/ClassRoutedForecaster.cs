using VmEcosystem.Cluster;

namespace VmEcosystem.Forecasting;

/// <summary>
/// Forecasts a VM's CPU demand with the method its workload class calls for: the VM is classified from its recent
/// history (an <see cref="IWorkloadClassifier"/>, idle/steady/bursty by default) every
/// <c>reclassifyEvery</c> samples, and the forecast comes from the method mapped to that class. Every mapped method
/// sees every sample, so a change of class switches to a warm model.
/// </summary>
internal sealed class ClassRoutedForecaster : IForecaster, IRetainedHistory
{
    private readonly IWorkloadClassifier _classifier;
    private readonly VmId _vm;
    private readonly IForecaster[] _methods;
    private readonly Dictionary<string, int> _byClass;
    private readonly int _fallback;
    private readonly SeriesWindow _history;
    private readonly double[] _scratch;
    private readonly int _reclassifyEvery;
    private int _chosen;
    private long _sinceClassified;

    /// <summary>Creates the router.</summary>
    /// <param name="classifier">Classifies the history.</param>
    /// <param name="vm">The VM (handed to the classifier).</param>
    /// <param name="methodByClass">Forecasting method per class name.</param>
    /// <param name="fallbackMethod">Method for a class the map does not name (and before the first classification).</param>
    /// <param name="create">Creates a forecaster for a method name.</param>
    /// <param name="reclassifyEvery">Samples between classifications (the classifier sees the last <see cref="Window"/>).</param>
    public ClassRoutedForecaster(IWorkloadClassifier classifier, VmId vm, IReadOnlyDictionary<string, string> methodByClass, string fallbackMethod,
        Func<string, IForecaster> create, int reclassifyEvery = 12)
    {
        ArgumentNullException.ThrowIfNull(classifier);
        ArgumentNullException.ThrowIfNull(methodByClass);
        ArgumentNullException.ThrowIfNull(create);
        ArgumentOutOfRangeException.ThrowIfLessThan(reclassifyEvery, 1);
        _classifier = classifier;
        _vm = vm;
        var names = new List<string> { fallbackMethod };
        names.AddRange(methodByClass.Values.Where(m => m != fallbackMethod).Distinct());
        _methods = [.. names.Select(create)];
        _byClass = methodByClass.ToDictionary(kv => kv.Key, kv => names.IndexOf(kv.Value), StringComparer.Ordinal);
        _fallback = 0;
        _history = new SeriesWindow(Window);
        _scratch = new double[Window];
        _reclassifyEvery = reclassifyEvery;
    }

    /// <summary>Samples the classifier sees.</summary>
    public const int Window = 96;

    /// <inheritdoc />
    public string Name => "class";

    /// <summary>The VM's CPU capacity, MHz (the classifier judges demand against it).</summary>
    public double Capacity { get; set; }

    /// <summary>The class of the last classification (<c>unknown</c> before the first).</summary>
    public string Class { get; private set; } = "unknown";

    /// <summary>The method forecasting now.</summary>
    public string Method => _methods[_chosen].Name;

    /// <inheritdoc />
    public long Observations => _methods[0].Observations;

    /// <inheritdoc />
    public int RetainedCount => _history.Count;

    /// <inheritdoc />
    public int CopyHistory(Span<double> destination) => _history.CopyLast(_history.Count, destination);

    /// <inheritdoc />
    public void Fit(ReadOnlySpan<double> history)
    {
        foreach (var m in _methods)
        {
            m.Fit(history);
        }

        _history.Clear();
        foreach (double v in history)
        {
            _history.Add(v);
        }

        Classify();
    }

    /// <inheritdoc />
    public void Update(double value)
    {
        foreach (var m in _methods)
        {
            m.Update(value);
        }

        _history.Add(value);
        if (++_sinceClassified >= _reclassifyEvery)
        {
            Classify();
        }
    }

    /// <inheritdoc />
    public void Refit()
    {
        foreach (var m in _methods)
        {
            m.Refit();
        }
    }

    /// <inheritdoc />
    public Forecast Forecast(int horizon, double confidence = 0.95) => _methods[_chosen].Forecast(horizon, confidence);

    private void Classify()
    {
        _sinceClassified = 0;
        int n = _history.CopyLast(_history.Count, _scratch);
        Class = _classifier.Classify(_vm, _scratch.AsSpan(0, n), Capacity);
        _chosen = _byClass.TryGetValue(Class, out int m) ? m : _fallback;
    }
}
