using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using VmEcosystem.Borrowing;
using VmEcosystem.Hosting;

namespace VmEcosystem.Providers.Libvirt.Tests;

/// <summary>AddLibvirtScaleOut: bound from VmEcosystem:LibvirtScaleOut beside the strict Libvirt section, checked at start naming each setting.</summary>
public sealed class LibvirtScaleOutRegistrationTests
{
    [Fact]
    public async Task The_handler_binds_from_its_own_section_and_is_the_scale_out_handler()
    {
        TestDriverFixture.RequireLibvirt();
        string overlays = Directory.CreateTempSubdirectory("vmeco-overlays-").FullName;
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["VmEcosystem:Runtime:Mode"] = "DryRun",
            ["VmEcosystem:Libvirt:Hosts:0:Name"] = "host-a",
            ["VmEcosystem:Libvirt:Hosts:0:Uri"] = TestDriverFixture.HostA.Uri,
            ["VmEcosystem:LibvirtScaleOut:OverlayDirectory"] = overlays,
            ["VmEcosystem:LibvirtScaleOut:Templates:web"] = "web-template",
            ["VmEcosystem:LibvirtScaleOut:MaxClones"] = "4",
        });
        builder.Services.AddVmEcosystem(builder.Configuration.GetSection("VmEcosystem"), b => b.UseLibvirt().AddLibvirtScaleOut());
        using var host = builder.Build();
        await host.StartAsync(TestContext.Current.CancellationToken);
        var options = host.Services.GetRequiredService<IOptions<LibvirtScaleOutOptions>>().Value;
        Assert.Equal(overlays, options.OverlayDirectory);
        Assert.Equal("web-template", options.Templates["web"]);
        Assert.Equal(4, options.MaxClones);
        Assert.IsType<LibvirtScaleOutHandler>(host.Services.GetRequiredService<IScaleOutHandler>());
        await host.StopAsync(TestContext.Current.CancellationToken);
    }

    [Fact]
    public async Task Invalid_scale_out_settings_fail_at_start_naming_each()
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Services.AddVmEcosystem(b => b.UseLibvirt(o => o.Hosts.Add(TestDriverFixture.HostA)).AddLibvirtScaleOut(o =>
        {
            o.OverlayDirectory = "/nonexistent/overlays";
            o.MaxClones = 0;
            o.Templates["web"] = " ";
        }));
        using var host = builder.Build();
        var ex = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync(TestContext.Current.CancellationToken));
        foreach (string setting in new[] { "OverlayDirectory", "MaxClones", "Templates:web" })
        {
            Assert.Contains($"VmEcosystem:LibvirtScaleOut:{setting}", ex.Message, StringComparison.Ordinal);
        }
    }
}
