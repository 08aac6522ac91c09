namespace VmEcosystem.Planning.Predictive;

/// <summary>
/// Forecast CPU demand of every VM of a planning state (by VM index), in MIPS: the expected demand over the
/// planning horizon and the upper bound of its prediction interval. Attached to the planning context by the session
/// that owns the forecasters.
/// </summary>
public sealed class DemandForecastSet
{
    private double[] _point = [];
    private double[] _upper = [];

    /// <summary>Horizon the forecasts look ahead, in planning ticks.</summary>
    public int HorizonTicks { get; private set; } = 12;

    /// <summary>Interval level of <see cref="Upper"/>.</summary>
    public double Confidence { get; private set; } = 0.95;

    /// <summary>Number of VMs covered.</summary>
    public int Count => _point.Length;

    /// <summary>Expected demand of VM <paramref name="vm"/>, MIPS.</summary>
    public double Point(int vm) => _point[vm];

    /// <summary>Upper bound of VM <paramref name="vm"/>'s demand, MIPS.</summary>
    public double Upper(int vm) => _upper[vm];

    /// <summary>Resizes and clears for <paramref name="vms"/> VMs.</summary>
    public void Reset(int vms, int horizonTicks, double confidence)
    {
        if (_point.Length != vms)
        {
            _point = new double[vms];
            _upper = new double[vms];
        }

        HorizonTicks = horizonTicks;
        Confidence = confidence;
    }

    /// <summary>Sets one VM's forecast (the upper bound is raised to the point when below it).</summary>
    public void Set(int vm, double point, double upper)
    {
        _point[vm] = Math.Max(0, point);
        _upper[vm] = Math.Max(_point[vm], upper);
    }
}
