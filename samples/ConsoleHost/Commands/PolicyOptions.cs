using System.CommandLine;
using System.Globalization;
using VmEcosystem.Planning;
using VmEcosystem.Planning.CloudSim;
using VmEcosystem.Planning.Predictive;

namespace VmEcosystem.ConsoleHost.Commands;

/// <summary>Parsing of `--policy a,b --param x[,y]` into policies.</summary>
internal static class PolicyOptions
{
    public static Option<string> Policy(string defaultValue) => new("--policy")
    {
        Description = $"Policy name(s), comma-separated: {string.Join(", ", KnownNames)}.",
        DefaultValueFactory = _ => defaultValue,
    };

    public static Option<string?> Param() => new("--param")
    {
        Description = "Safety parameter (LR/LRR/IQR/MAD) or threshold (THR); one value for all policies or one per policy, comma-separated.",
    };

    public static IReadOnlyList<string> KnownNames => [.. CloudSimPolicies.Defaults.Keys.Append(PredictivePolicy.Name).Order(StringComparer.Ordinal)];

    /// <summary>Builds the policies; throws <see cref="ArgumentException"/> with a clear message on bad input.</summary>
    public static IReadOnlyList<(IMigrationPolicy Policy, string Name, double? Param)> Build(string policies, string? param, Simulation.SimulationModel model, int explain = 0)
    {
        var names = policies.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (names.Length == 0)
        {
            throw new ArgumentException("--policy needs at least one policy name.");
        }

        var values = (param ?? string.Empty).Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(p => double.TryParse(p, NumberStyles.Float, CultureInfo.InvariantCulture, out double v) && double.IsFinite(v)
                ? v
                : throw new ArgumentException($"--param value '{p}' is not a number."))
            .ToArray();
        if (values.Length > 1 && values.Length != names.Length)
        {
            throw new ArgumentException($"--param has {values.Length} values for {names.Length} policies; give one value or one per policy.");
        }

        var result = new List<(IMigrationPolicy, string, double?)>();
        for (int i = 0; i < names.Length; i++)
        {
            string name = names[i].ToLowerInvariant();
            if (name == PredictivePolicy.Name)
            {
                // The CloudSim model has no RAM constraint after t = 0, so neither does the policy compared on it.
                result.Add((PredictivePolicy.Create(new PredictiveOptions { EnforceMemory = !model.AllowConcurrentMigrationsOfOneVm, AlternativesToExplain = explain }), name, null));
                continue;
            }

            if (!CloudSimPolicies.IsKnown(name))
            {
                throw new ArgumentException($"Unknown policy '{names[i]}'. Known: {string.Join(", ", KnownNames)}.");
            }

            double? p = name == "dvfs" ? null : values.Length == 0 ? CloudSimPolicies.Defaults[name] : values.Length == 1 ? values[0] : values[i];
            result.Add((CloudSimPolicies.Create(name, p, model.TickIntervalSeconds, model.MigrationBandwidthShare, model.AllowConcurrentMigrationsOfOneVm), name, p));
        }

        return result;
    }
}
