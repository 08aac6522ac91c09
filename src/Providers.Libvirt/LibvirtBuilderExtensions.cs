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
}
