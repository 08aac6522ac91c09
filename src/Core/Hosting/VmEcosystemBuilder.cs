using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using VmEcosystem.Hypervisor;
using VmEcosystem.Runtime;

namespace VmEcosystem.Hosting;

/// <summary>
/// Configures the library inside <c>services.AddVmEcosystem(...)</c>: choose one hypervisor provider
/// (<c>UseSimulator</c>, <c>UseLibvirt</c>, ...), add controllers and adjust options.
/// </summary>
public sealed class VmEcosystemBuilder
{
    internal VmEcosystemBuilder(IServiceCollection services, IConfiguration? configuration)
    {
        Services = services;
        Configuration = configuration;
    }

    /// <summary>The service collection being configured.</summary>
    public IServiceCollection Services { get; }

    /// <summary>
    /// The <c>VmEcosystem</c> configuration section, when <c>AddVmEcosystem(configuration, ...)</c> was used: each
    /// <c>UseX</c> binds its own subsection (<c>Runtime</c>, <c>Simulator</c>, <c>Libvirt</c>, ...) before applying
    /// the code's settings, so code overrides configuration.
    /// </summary>
    public IConfiguration? Configuration { get; }

    /// <summary>The configuration subsection <paramref name="name"/>, or null when none was given.</summary>
    public IConfigurationSection? Section(string name) => Configuration?.GetSection(name);

    /// <summary>Adjusts library-wide options.</summary>
    public VmEcosystemBuilder Configure(Action<VmEcosystemOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(configure);
        Services.Configure(configure);
        return this;
    }

    /// <summary>
    /// Hosts <typeparamref name="TController"/> in the runtime beside the built-in controllers (resolved from the
    /// container, so it can take any registered service). Its actions go through the runtime's executor with the
    /// shared limits, modes and audit.
    /// </summary>
    public VmEcosystemBuilder AddController<TController>()
        where TController : class, IRuntimeController
    {
        Services.TryAddEnumerable(ServiceDescriptor.Singleton<IRuntimeController, TController>());
        return this;
    }

    /// <summary>
    /// Adds hard placement rules (anti-affinity, proximity): the planner never plans a move that breaks one and the
    /// executor re-checks them, with moves in flight on both hosts, right before it starts a move. Called more than
    /// once, the rules add up.
    /// </summary>
    public VmEcosystemBuilder AddPlacementRules(Action<Planning.PlacementConstraints> configure)
    {
        ArgumentNullException.ThrowIfNull(configure);
        var existing = Services.FirstOrDefault(d => d.ServiceType == typeof(Planning.PlacementConstraints))?.ImplementationInstance as Planning.PlacementConstraints;
        if (existing is null)
        {
            existing = new Planning.PlacementConstraints();
            Services.AddSingleton(existing);
        }

        configure(existing);
        return this;
    }

    /// <summary>
    /// Registers the hypervisor provider. Provider packages call this from their <c>UseX</c> extension. Only one
    /// provider can be used per container; registering the same one twice is a no-op.
    /// </summary>
    /// <param name="name">Provider name.</param>
    /// <param name="factory">Creates the provider.</param>
    /// <exception cref="InvalidOperationException">Another provider is already registered.</exception>
    public VmEcosystemBuilder UseProvider(string name, Func<IServiceProvider, IHypervisor> factory)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(factory);
        var existing = Services.FirstOrDefault(d => d.ServiceType == typeof(HypervisorRegistration))?.ImplementationInstance as HypervisorRegistration;
        if (existing is not null)
        {
            if (!string.Equals(existing.Name, name, StringComparison.Ordinal))
            {
                throw new InvalidOperationException(
                    $"VmEcosystem already uses the '{existing.Name}' provider; it cannot also use '{name}'. Call one UseX(...) method.");
            }

            return this;
        }

        Services.AddSingleton(new HypervisorRegistration(name));
        Services.TryAddSingleton(factory);
        return this;
    }
}

/// <summary>Records which provider a container uses.</summary>
/// <param name="Name">Provider name.</param>
public sealed record HypervisorRegistration(string Name);
