using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using VmEcosystem.Hosting;
using VmEcosystem.Providers.Libvirt;

namespace VmEcosystem.Hosting;

/// <summary>Registers the libvirt provider.</summary>
public static class LibvirtBuilderExtensions
{
    /// <summary>
    /// Uses libvirt (KVM/QEMU, or libvirt's test driver) through <c>libvirt.so.0</c>: one connection per configured
    /// host. Options are validated when the host starts.
    /// </summary>
    public static VmEcosystemBuilder UseLibvirt(this VmEcosystemBuilder builder, Action<LibvirtOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var options = builder.Services.AddOptions<LibvirtOptions>().ValidateOnStart();
        if (builder.Section("Libvirt") is { } section)
        {
            // Hosts, keep-alive and migration settings from the VmEcosystem:Libvirt section; code settings apply after.
            options.Bind(section, o => o.ErrorOnUnknownConfiguration = true);
        }

        if (configure is not null)
        {
            options.Configure(configure);
        }

        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<LibvirtOptions>, LibvirtOptionsValidator>());
        return builder.UseProvider("libvirt", sp => new LibvirtHypervisor(
            sp.GetRequiredService<IOptions<LibvirtOptions>>().Value,
            sp.GetRequiredService<TimeProvider>(),
            sp.GetService<ILogger<LibvirtHypervisor>>()));
    }

    /// <summary>
    /// Registers the libvirt scale-out handler (an <c>IScaleOutHandler</c> for <c>UseHostSetBudgets</c>): a host set that
    /// needs more instances gets clones of its template domain (copy-on-write overlays, started on the template's
    /// host); a scale-in removes clones only. Options from <c>VmEcosystem:LibvirtScaleOut</c>, validated at start.
    /// </summary>
    public static VmEcosystemBuilder AddLibvirtScaleOut(this VmEcosystemBuilder builder, Action<LibvirtScaleOutOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var options = builder.Services.AddOptions<LibvirtScaleOutOptions>().ValidateOnStart();
        if (builder.Section("LibvirtScaleOut") is { } section)
        {
            options.Bind(section, o => o.ErrorOnUnknownConfiguration = true);
        }

        if (configure is not null)
        {
            options.Configure(configure);
        }

        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<LibvirtScaleOutOptions>, LibvirtScaleOutOptionsValidator>());
        builder.Services.TryAddSingleton<VmEcosystem.Borrowing.IScaleOutHandler>(sp => new LibvirtScaleOutHandler(
            sp.GetRequiredService<VmEcosystem.Hypervisor.IHypervisor>() as LibvirtHypervisor
                ?? throw new InvalidOperationException("AddLibvirtScaleOut needs the libvirt provider (UseLibvirt)."),
            sp.GetRequiredService<IOptions<LibvirtScaleOutOptions>>().Value));
        return builder;
    }
}

/// <summary>Checks <see cref="LibvirtScaleOutOptions"/> at start, naming each setting.</summary>
internal sealed class LibvirtScaleOutOptionsValidator : IValidateOptions<LibvirtScaleOutOptions>
{
    public ValidateOptionsResult Validate(string? name, LibvirtScaleOutOptions options) =>
        options.Validate() is { Count: > 0 } errors ? ValidateOptionsResult.Fail(errors) : ValidateOptionsResult.Success;
}
