using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using VmEcosystem.Hosting;

// Extension methods for IServiceCollection live in its namespace, as every Microsoft.Extensions.* package does.
namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers VmEcosystem in a service collection.</summary>
public static class VmEcosystemServiceCollectionExtensions
{
    /// <summary>
    /// Adds VmEcosystem and lets <paramref name="configure"/> choose the hypervisor provider and options.
    /// Idempotent: core services are added with <c>TryAdd</c>, so calling it twice adds nothing twice.
    /// </summary>
    /// <example><code>services.AddVmEcosystem(b => b.UseSimulator(o => o.TraceDirectory = "traces/20110303"));</code></example>
    public static IServiceCollection AddVmEcosystem(this IServiceCollection services, Action<VmEcosystemBuilder> configure) =>
        AddVmEcosystem(services, null, configure);

    /// <summary>
    /// Adds VmEcosystem with every option bound from <paramref name="configuration"/> (the <c>VmEcosystem</c>
    /// section: <c>Seed</c>, <c>Runtime</c>, <c>Planning</c>, <c>Forecasting</c>, <c>Simulator</c>, <c>Libvirt</c>,
    /// ...). Options are validated when the host starts, with messages naming the setting's path; settings made in
    /// <paramref name="configure"/> are applied after the bound ones.
    /// </summary>
    /// <example><code>services.AddVmEcosystem(builder.Configuration.GetSection("VmEcosystem"), b => b.UseSimulator());</code></example>
    public static IServiceCollection AddVmEcosystem(this IServiceCollection services, IConfiguration? configuration, Action<VmEcosystemBuilder> configure)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configure);
        var builder = new VmEcosystemBuilder(services, configuration);
        if (!services.Any(d => d.ServiceType == typeof(VmEcosystemMarker)))
        {
            // Core services once; a second call only applies its configuration.
            services.AddSingleton<VmEcosystemMarker>();
            var options = services.AddOptions<VmEcosystemOptions>().ValidateOnStart();
            if (configuration is not null)
            {
                options.Bind(configuration, o => o.ErrorOnUnknownConfiguration = false);
            }

            services.TryAddSingleton(TimeProvider.System);
            services.TryAddSingleton<RandomSource>();
            RuntimeBuilderExtensions.AddRuntime(builder);
        }

        configure(builder);
        return services;
    }
}

/// <summary>Marks a collection that has VmEcosystem's core services.</summary>
internal sealed class VmEcosystemMarker;
