namespace VmEcosystem.Cluster;

/// <summary>Electrical power of a host as a function of its CPU utilisation.</summary>
public interface IPowerModel
{
    /// <summary>Watts drawn at <paramref name="utilization"/> (0..1). Values outside 0..1 are an error.</summary>
    double PowerWatts(double utilization);

    /// <summary>Watts drawn when on and idle.</summary>
    double IdleWatts { get; }

    /// <summary>Watts drawn at full load.</summary>
    double MaxWatts { get; }
}

/// <summary>
/// A SPECpower_ssj2008-style table of watts at 0 %, 10 %, ..., 100 % load, linearly interpolated between the
/// points exactly as CloudSim's <c>PowerModelSpecPower</c> does (so energy figures match it bit for bit).
/// </summary>
public sealed class SpecPowerModel : IPowerModel
{
    private readonly double[] _watts;

    /// <summary>Creates a model from 11 measurements.</summary>
    /// <param name="name">The server's name, for reports.</param>
    /// <param name="watts">Watts at 0 %, 10 %, ..., 100 % utilisation (11 values, non-decreasing).</param>
    public SpecPowerModel(string name, IReadOnlyList<double> watts)
    {
        ArgumentNullException.ThrowIfNull(watts);
        if (watts.Count != 11)
        {
            throw new ArgumentException($"A SPECpower table has 11 points (0 %, 10 %, ..., 100 %); got {watts.Count}.", nameof(watts));
        }

        for (int i = 0; i < 11; i++)
        {
            if (!double.IsFinite(watts[i]) || watts[i] < 0 || (i > 0 && watts[i] < watts[i - 1]))
            {
                throw new ArgumentException("SPECpower watts must be finite, non-negative and non-decreasing.", nameof(watts));
            }
        }

        Name = name;
        _watts = [.. watts];
    }

    /// <summary>HP ProLiant ML110 G4 (Intel Xeon 3040, 2 × 1860 MHz), as in CloudSim.</summary>
    public static SpecPowerModel HpProLiantMl110G4 { get; } =
        new("HP ProLiant ML110 G4 (Xeon 3040)", [86, 89.4, 92.6, 96, 99.5, 102, 106, 108, 112, 114, 117]);

    /// <summary>HP ProLiant ML110 G5 (Intel Xeon 3075, 2 × 2660 MHz), as in CloudSim.</summary>
    public static SpecPowerModel HpProLiantMl110G5 { get; } =
        new("HP ProLiant ML110 G5 (Xeon 3075)", [93.7, 97, 101, 105, 110, 116, 121, 125, 129, 133, 135]);

    /// <summary>The server's name.</summary>
    public string Name { get; }

    /// <inheritdoc />
    public double IdleWatts => _watts[0];

    /// <inheritdoc />
    public double MaxWatts => _watts[10];

    /// <inheritdoc />
    public double PowerWatts(double utilization)
    {
        if (utilization < 0 || utilization > 1 || double.IsNaN(utilization))
        {
            throw new ArgumentOutOfRangeException(nameof(utilization), utilization, "Utilisation must be within 0..1.");
        }

        // Same arithmetic as CloudSim (Java's % on doubles is C#'s %), so results agree to the last bit.
        if (utilization % 0.1 == 0)
        {
            return _watts[(int)(utilization * 10)];
        }

        int floor = (int)Math.Floor(utilization * 10);
        int ceiling = (int)Math.Ceiling(utilization * 10);
        double delta = (_watts[ceiling] - _watts[floor]) / 10;
        return _watts[floor] + (delta * (utilization - (floor / 10.0)) * 100);
    }

    /// <inheritdoc />
    public override string ToString() => Name;
}

/// <summary>Power rising linearly from idle to maximum.</summary>
/// <param name="IdleWatts">Watts at 0 % load.</param>
/// <param name="MaxWatts">Watts at 100 % load.</param>
public sealed record LinearPowerModel(double IdleWatts, double MaxWatts) : IPowerModel
{
    /// <inheritdoc />
    public double PowerWatts(double utilization)
    {
        if (utilization < 0 || utilization > 1 || double.IsNaN(utilization))
        {
            throw new ArgumentOutOfRangeException(nameof(utilization), utilization, "Utilisation must be within 0..1.");
        }

        return IdleWatts + ((MaxWatts - IdleWatts) * utilization);
    }
}
