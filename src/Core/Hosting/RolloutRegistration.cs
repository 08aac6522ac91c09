using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using VmEcosystem.Runtime;
using VmEcosystem.Runtime.Audit;
using VmEcosystem.Runtime.Rollout;

namespace VmEcosystem.Hosting;

/// <summary>Registers configuration rollouts.</summary>
public static class RolloutBuilderExtensions
{
    /// <summary>
    /// Adds the runtime's <c>rollout</c> controller: A/B rollouts of configurations in steps, compared on latency with
    /// a Mann–Whitney U test, rolled back when worse or when the SLO breaks, through the shared executor; and
    /// configuration versions kept in the audit store. <typeparamref name="TApplier"/> applies configurations to VMs;
    /// latency comes from the registered <see cref="IApplicationMetricsSource"/>. Settings from
    /// <c>VmEcosystem:Rollout</c>, then <paramref name="configure"/>; validated at start. Resolve
    /// <see cref="IConfigurationRollouts"/> to start rollouts and to list, compare and revert versions.
    /// </summary>
    public static VmEcosystemBuilder AddConfigurationRollout<TApplier>(this VmEcosystemBuilder builder, Action<RolloutOptions>? configure = null)
        where TApplier : class, IConfigurationApplier
    {
        ArgumentNullException.ThrowIfNull(builder);
        var options = builder.Services.AddOptions<RolloutOptions>().ValidateOnStart();
        if (builder.Section("Rollout") is { } section)
        {
            options.Bind(section, o => o.ErrorOnUnknownConfiguration = true);
        }

        if (configure is not null)
        {
            options.Configure(configure);
        }

        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<RolloutOptions>, RolloutOptionsValidator>());
        builder.Services.TryAddSingleton<IConfigurationApplier, TApplier>();
        builder.Services.TryAddSingleton<ConfigurationVersionStore>();
        builder.Services.TryAddSingleton(sp => new RolloutController(
            sp.GetRequiredService<IConfigurationApplier>(),
            sp.GetRequiredService<ConfigurationVersionStore>(),
            sp.GetRequiredService<IOptions<RolloutOptions>>().Value,
            sp.GetService<IAuditStore>()));
        builder.Services.TryAddSingleton<IConfigurationRollouts>(sp => sp.GetRequiredService<RolloutController>());
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IRuntimeController, RolloutController>(sp => sp.GetRequiredService<RolloutController>()));
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IPendingActionRestorer, RolloutController>(sp => sp.GetRequiredService<RolloutController>()));
        return builder;
    }
}

/// <summary>Checks <see cref="RolloutOptions"/>; every message names the setting.</summary>
internal sealed class RolloutOptionsValidator : IValidateOptions<RolloutOptions>
{
    private const string Prefix = "VmEcosystem:Rollout:";

    public ValidateOptionsResult Validate(string? name, RolloutOptions o)
    {
        var errors = new List<string>();
        if (o.Steps.Count == 0 || o.Steps.Any(s => !(s > 0 && s <= 1)) || o.Steps.Zip(o.Steps.Skip(1)).Any(p => p.Second <= p.First) || o.Steps[^1] != 1)
        {
            errors.Add($"{Prefix}Steps must be ascending shares in (0, 1] ending with 1; got [{string.Join(", ", o.Steps)}].");
        }

        if (o.SampleInterval < TimeSpan.FromSeconds(1))
        {
            errors.Add($"{Prefix}SampleInterval must be at least 1 s; got {o.SampleInterval}.");
        }

        if (o.Window < o.SampleInterval * 3)
        {
            errors.Add($"{Prefix}Window must hold at least 3 samples (3 x SampleInterval = {o.SampleInterval * 3}); got {o.Window}.");
        }

        if (!(o.Alpha > 0 && o.Alpha < 1))
        {
            errors.Add($"{Prefix}Alpha must be between 0 and 1; got {o.Alpha}.");
        }

        if (!(o.MinEffect >= 0 && o.MinEffect < 1))
        {
            errors.Add($"{Prefix}MinEffect must be at least 0 and below 1; got {o.MinEffect}.");
        }

        if (o.SloLatencyMs is { } slo && !(slo > 0 && double.IsFinite(slo)))
        {
            errors.Add($"{Prefix}SloLatencyMs must be a positive number of milliseconds; got {slo}.");
        }

        if (o.MaxInconclusiveWindows < 1)
        {
            errors.Add($"{Prefix}MaxInconclusiveWindows must be at least 1; got {o.MaxInconclusiveWindows}.");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
