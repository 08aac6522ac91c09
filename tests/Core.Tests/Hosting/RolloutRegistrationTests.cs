using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using VmEcosystem.Cluster;
using VmEcosystem.Hosting;
using VmEcosystem.Runtime;
using VmEcosystem.Runtime.Rollout;

namespace VmEcosystem.Tests.Hosting;

/// <summary>AddConfigurationRollout: one controller, the rollouts service, options checked at start.</summary>
public sealed class RolloutRegistrationTests
{
    [Fact]
    public void The_rollout_controller_and_the_rollouts_service_are_one_object_registered_once()
    {
        var services = new ServiceCollection();
        services.AddVmEcosystem(b => b.UseSimulator().AddConfigurationRollout<NoopApplier>());
        services.AddVmEcosystem(b => b.UseSimulator().AddConfigurationRollout<NoopApplier>());
        using var sp = services.BuildServiceProvider();
        var controllers = sp.GetServices<IRuntimeController>().Where(c => c.Name == "rollout").ToArray();
        Assert.Single(controllers);
        Assert.Same(controllers[0], sp.GetRequiredService<IConfigurationRollouts>());
        Assert.Empty(sp.GetRequiredService<IConfigurationRollouts>().Versions(new VmId("vm-1")));
        Assert.Throws<ArgumentException>(() => sp.GetRequiredService<IConfigurationRollouts>().Revert(new VmId("vm-1"), 3));
    }

    [Fact]
    public async Task Invalid_rollout_options_fail_at_start_naming_each_setting()
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Services.AddVmEcosystem(b => b.UseSimulator().AddConfigurationRollout<NoopApplier>(o =>
        {
            o.Steps.Clear();
            o.Steps.Add(0.5);
            o.Steps.Add(0.25);
            o.Window = TimeSpan.FromMinutes(1);
            o.Alpha = 1.5;
            o.SloLatencyMs = -1;
        }));
        using var host = builder.Build();
        var ex = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());
        foreach (string setting in new[] { "Steps", "Window", "Alpha", "SloLatencyMs" })
        {
            Assert.Contains($"VmEcosystem:Rollout:{setting}", ex.Message, StringComparison.Ordinal);
        }
    }

    private sealed class NoopApplier : IConfigurationApplier
    {
        public Task<IReadOnlyDictionary<string, string>> ReadAsync(VmId vm, CancellationToken cancellationToken) =>
            Task.FromResult<IReadOnlyDictionary<string, string>>(new Dictionary<string, string>());

        public Task ApplyAsync(VmId vm, IReadOnlyDictionary<string, string> settings, CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
