using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using VmEcosystem.Hypervisor;
using VmEcosystem.Simulation;

namespace VmEcosystem.Hosting;

/// <summary>Registers the built-in simulator provider.</summary>
public static class SimulatorBuilderExtensions
{
    /// <summary>Uses the built-in simulator: a virtual-time cluster driven by traces or a seeded synthetic workload.</summary>
    public static VmEcosystemBuilder UseSimulator(this VmEcosystemBuilder builder, Action<SimulatorOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var options = builder.Services.AddOptions<SimulatorOptions>().BindSection(builder, "Simulator").ValidateOnStart();
        if (configure is not null)
        {
            options.Configure(configure);
        }

        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<SimulatorOptions>, SimulatorOptionsValidator>());
        builder.Services.TryAddSingleton<ISimulatedCluster>(sp => (ISimulatedCluster)sp.GetRequiredService<IHypervisor>());
        return builder.UseProvider("simulator", sp => new SimulatorHypervisor(
            sp.GetRequiredService<IOptions<SimulatorOptions>>().Value,
            sp.GetRequiredService<TimeProvider>(),
            sp.GetService<ILogger<SimulatorHypervisor>>()));
    }
}

/// <summary>Validates <see cref="SimulatorOptions"/>; every message names the setting.</summary>
internal sealed class SimulatorOptionsValidator : IValidateOptions<SimulatorOptions>
{
    public ValidateOptionsResult Validate(string? name, SimulatorOptions options)
    {
        var errors = new List<string>();
        const string prefix = "VmEcosystem:Simulator:";
        if (options.HostSets < 0 || (options.Scenario is null && options.HostSets > options.HostCount))
        {
            errors.Add($"{prefix}HostSets must be from 0 to the host count ({options.HostCount}); got {options.HostSets}.");
        }

        if (options.Scenario is null)
        {
            if (options.TraceDirectory is { } dir && !Directory.Exists(dir))
            {
                errors.Add($"{prefix}TraceDirectory '{dir}' does not exist.");
            }

            if (options.HostCount < 1)
            {
                errors.Add($"{prefix}HostCount must be at least 1; got {options.HostCount}.");
            }

            if (options.TraceDirectory is null && options.Synthetic is { } s)
            {
                if (s.VmCount < 1)
                {
                    errors.Add($"{prefix}Synthetic:VmCount must be at least 1; got {s.VmCount}.");
                }

                if (s.Samples < 2)
                {
                    errors.Add($"{prefix}Synthetic:Samples must be at least 2; got {s.Samples}.");
                }

                if (!(s.IntervalSeconds > 0))
                {
                    errors.Add($"{prefix}Synthetic:IntervalSeconds must be positive; got {s.IntervalSeconds}.");
                }
            }
            else if (options.TraceDirectory is null)
            {
                errors.Add($"{prefix}Synthetic must be set when no TraceDirectory is given.");
            }
        }

        if (!(options.MigrationFailureProbability >= 0 && options.MigrationFailureProbability <= 1))
        {
            errors.Add($"{prefix}MigrationFailureProbability must be within 0..1; got {options.MigrationFailureProbability}.");
        }

        if (options.HotPlugDelay < TimeSpan.Zero || options.HotPlugDelay > TimeSpan.FromHours(1))
        {
            errors.Add($"{prefix}HotPlugDelay must be within 0 to 1 hour; got {options.HotPlugDelay}.");
        }

        if (options.CloudSimCompatible && (options.DemandBoundByAllocation || options.HotPlugDelay > TimeSpan.Zero))
        {
            errors.Add($"{prefix}DemandBoundByAllocation and HotPlugDelay do not apply with CloudSimCompatible (CloudSim's demand is a share of the VM's current size).");
        }

        if (!Enum.IsDefined(options.TraceOrder))
        {
            errors.Add($"{prefix}TraceOrder has an unknown value {options.TraceOrder}.");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
