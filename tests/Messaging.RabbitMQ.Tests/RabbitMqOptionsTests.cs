using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using VmEcosystem.Hosting;

namespace VmEcosystem.Messaging.RabbitMQ.Tests;

/// <summary>Settings checked at start naming each one; a broker that never answers is a timeout naming the setting, not a hang.</summary>
public sealed class RabbitMqOptionsTests
{
    [Fact]
    public async Task Invalid_settings_fail_at_start_naming_each()
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Services.AddVmEcosystem(b => b.UseSimulator().UseRabbitMq(o =>
        {
            o.Uri = new Uri("http://broker/");
            o.Prefetch = 0;
            o.MaxAttempts = 0;
            o.PublishTimeout = TimeSpan.Zero;
        }));
        using var host = builder.Build();
        var ex = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync(TestContext.Current.CancellationToken));
        foreach (string setting in new[] { "Uri", "Prefetch", "MaxAttempts", "PublishTimeout" })
        {
            Assert.Contains($"VmEcosystem:RabbitMq:{setting}", ex.Message, StringComparison.Ordinal);
        }

        Assert.IsType<RabbitMqTransport>(new ServiceCollection().AddVmEcosystem(b => b.UseSimulator().UseRabbitMq(o => o.Uri = new Uri("amqp://127.0.0.1:1/")))
            .BuildServiceProvider().GetRequiredService<IMessageTransport>());
    }

    [Fact]
    public async Task A_broker_that_never_answers_is_a_timeout_naming_the_setting()
    {
        await using var transport = new RabbitMqTransport(new RabbitMqOptions
        {
            Uri = new Uri("amqp://guest:guest@127.0.0.1:1/"), // nothing listens on port 1
            PublishTimeout = TimeSpan.FromSeconds(2),
            ReconnectInterval = TimeSpan.FromMilliseconds(200),
        });
        var started = DateTime.UtcNow;
        var ex = await Assert.ThrowsAsync<TimeoutException>(() => transport.PublishAsync("adjustments", "m1", new byte[] { 1 }, TestContext.Current.CancellationToken));
        Assert.Contains("VmEcosystem:RabbitMq:PublishTimeout", ex.Message, StringComparison.Ordinal);
        Assert.True(DateTime.UtcNow - started < TimeSpan.FromSeconds(30));
    }
}
