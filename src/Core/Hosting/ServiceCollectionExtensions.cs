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
    public static IServiceCollection AddVmEcosystem(this IServiceCollection services, Action<VmEcosystemBuilder> configure)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configure);
        services.AddOptions<VmEcosystemOptions>().ValidateOnStart();
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<RandomSource>();
        var builder = new VmEcosystemBuilder(services);
        configure(builder);
        RuntimeBuilderExtensions.AddRuntime(services);
        return services;
    }
}
