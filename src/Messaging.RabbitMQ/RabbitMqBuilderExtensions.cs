using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using VmEcosystem.Hosting;

namespace VmEcosystem.Messaging.RabbitMQ;

/// <summary>Registers the RabbitMQ transport.</summary>
public static class RabbitMqBuilderExtensions
{
    /// <summary>
    /// Carries VmEcosystem's messages (forecasts, adjustment commands, outcomes) over RabbitMQ instead of in process:
    /// <see cref="RabbitMqOptions"/> bound from <c>VmEcosystem:RabbitMq</c>, then <paramref name="configure"/>;
    /// validated at start, every message naming the setting.
    /// </summary>
    public static VmEcosystemBuilder UseRabbitMq(this VmEcosystemBuilder builder, Action<RabbitMqOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var options = builder.Services.AddOptions<RabbitMqOptions>().ValidateOnStart();
        if (builder.Section("RabbitMq") is { } section)
        {
            options.Bind(section, b => b.ErrorOnUnknownConfiguration = true);
        }

        if (configure is not null)
        {
            options.Configure(configure);
        }

        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<RabbitMqOptions>, RabbitMqOptionsValidator>());
        builder.Services.TryAddSingleton(sp => new RabbitMqTransport(sp.GetRequiredService<IOptions<RabbitMqOptions>>().Value, sp.GetService<ILogger<RabbitMqTransport>>()));
        builder.Services.Replace(ServiceDescriptor.Singleton<IMessageTransport>(sp => sp.GetRequiredService<RabbitMqTransport>()));
        return builder;
    }

}

/// <summary>Checks <see cref="RabbitMqOptions"/> at start.</summary>
internal sealed class RabbitMqOptionsValidator : IValidateOptions<RabbitMqOptions>
{
    public ValidateOptionsResult Validate(string? name, RabbitMqOptions options) =>
        options.Validate() is { Count: > 0 } errors ? ValidateOptionsResult.Fail(errors) : ValidateOptionsResult.Success;
}
