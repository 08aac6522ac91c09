using System.Globalization;

namespace VmEcosystem.Planning.CloudSim;

/// <summary>
/// CloudSim 3.0.3's consolidation heuristics (Beloglazov &amp; Buyya, CCPE 2012) as compositions of the planner
/// pipeline: an overload detector (THR, IQR, MAD, LR, LRR) and a VM selector (MMT, MU, RS) in the overload stage,
/// PABFD placement (CPU suitability, not overloaded after placement, least power increase), and under-load
/// consolidation; plus the non-migrating DVFS baseline.
/// </summary>
public static class CloudSimPolicies
{
    /// <summary>Policy names accepted by <see cref="Create"/>, with their default parameters.</summary>
    public static IReadOnlyDictionary<string, double> Defaults { get; } = new Dictionary<string, double>(StringComparer.OrdinalIgnoreCase)
    {
        ["dvfs"] = 0,
        ["thr-mmt"] = 0.8,
        ["iqr-mmt"] = 1.5,
        ["mad-mmt"] = 2.5,
        ["lr-mmt"] = 1.2,
        ["lrr-mmt"] = 1.2,
        ["thr-mu"] = 0.8,
        ["lr-mu"] = 1.2,
        ["thr-rs"] = 0.8,
        ["lr-rs"] = 1.2,
        ["iqr-mu"] = 1.5,
        ["mad-mu"] = 2.5,
        ["iqr-rs"] = 1.5,
        ["mad-rs"] = 2.5,
    };

    /// <summary>True when <paramref name="name"/> is a CloudSim policy name.</summary>
    public static bool IsKnown(string name) => Defaults.ContainsKey(name);

    /// <summary>Creates a policy such as <c>lr-mmt</c> with safety parameter (or THR threshold) <paramref name="parameter"/>.</summary>
    /// <param name="name">Policy name (see <see cref="Defaults"/>).</param>
    /// <param name="parameter">Safety parameter or threshold; the policy's default when null.</param>
    /// <param name="tickIntervalSeconds">Seconds between planning passes (LR's prediction horizon is counted in them).</param>
    /// <param name="migrationBandwidthShare">Share of host bandwidth a migration uses.</param>
    /// <param name="bugCompatible">
    /// Reproduce CloudSim 3.0.3's under-load target-exclusion bug, which can plan one VM twice in a pass (needs a
    /// simulation model with <c>SimulationModel.AllowConcurrentMigrationsOfOneVm</c>).
    /// </param>
    /// <exception cref="ArgumentException">Unknown name or invalid parameter.</exception>
    public static IMigrationPolicy Create(string name, double? parameter = null, double tickIntervalSeconds = 300, double migrationBandwidthShare = 0.5, bool bugCompatible = true)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        if (!Defaults.TryGetValue(name, out double defaultParameter))
        {
            throw new ArgumentException(
                $"Unknown CloudSim policy '{name}'. Known: {string.Join(", ", Defaults.Keys.Order(StringComparer.Ordinal))}.", nameof(name));
        }

        string key = name.ToLowerInvariant();
        if (key == "dvfs")
        {
            return new NoMigrationPolicy("dvfs");
        }

        double p = parameter ?? defaultParameter;
        string[] parts = key.Split('-');
        IOverloadDetector detector = parts[0] switch
        {
            "thr" => new StaticThresholdDetector(p),
            "iqr" => new InterQuartileRangeDetector(p),
            "mad" => new MedianAbsoluteDeviationDetector(p),
            "lr" => new LocalRegressionDetector(p, tickIntervalSeconds, migrationBandwidthShare),
            "lrr" => new LocalRegressionDetector(p, tickIntervalSeconds, migrationBandwidthShare, robust: true),
            _ => throw new ArgumentException($"Unknown detector in '{name}'.", nameof(name)),
        };
        IVmSelector selector = parts[1] switch
        {
            "mmt" => new MinimumMigrationTimeSelector(),
            "mu" => new MinimumUtilizationSelector(),
            "rs" => new RandomSelector(),
            _ => throw new ArgumentException($"Unknown selector in '{name}'.", nameof(name)),
        };
        return Compose($"{key} {p.ToString(CultureInfo.InvariantCulture)}", detector, selector, bugCompatible);
    }

    /// <summary>Composes a CloudSim-style policy from a detector and a selector.</summary>
    /// <param name="name">Policy name.</param>
    /// <param name="detector">Overload detector.</param>
    /// <param name="selector">VM selector.</param>
    /// <param name="bugCompatible">Reproduce CloudSim 3.0.3's under-load target-exclusion bug (see <see cref="UnderloadConsolidationStage"/>).</param>
    public static MigrationPlanner Compose(string name, IOverloadDetector detector, IVmSelector selector, bool bugCompatible = true) =>
        new(
            name,
            [new OverloadMigrationStage(detector, selector), new UnderloadConsolidationStage { CloudSimTargetExclusionBug = bugCompatible }],
            [new HostAcceptsVmsFilter(), new CpuSuitabilityFilter(), new NotOverloadedAfterPlacementFilter(detector)],
            [new PowerIncreaseScorer()]);
}
