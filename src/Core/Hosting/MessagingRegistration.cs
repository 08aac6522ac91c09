using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using VmEcosystem.Hypervisor;
using VmEcosystem.Messaging;
using VmEcosystem.Runtime;

namespace VmEcosystem.Hosting;

/// <summary>Registers the platform connector's side of the message transport.</summary>
public static class MessagingBuilderExtensions
{
    /// <summary>
    /// Adds the <c>forecasts</c> controller to the runtime: the prediction module, publishing every running VM's
    /// forecasts (each metric, each horizon of <paramref name="configure"/>'s <see cref="Forecasting.WorkloadProfilerOptions"/>,
    /// with intervals) as <see cref="ForecastMessage"/>s on the <see cref="IMessageTransport"/>.
    /// </summary>
    public static VmEcosystemBuilder PublishForecasts(this VmEcosystemBuilder builder, Action<Forecasting.WorkloadProfilerOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var options = new Forecasting.WorkloadProfilerOptions();
        configure?.Invoke(options);
        if (options.Validate().ToList() is { Count: > 0 } errors)
        {
            throw new ArgumentException(string.Join(" ", errors), nameof(configure));
        }

        builder.Services.TryAddSingleton<IMessageTransport, InProcessTransport>();
        builder.Services.TryAddSingleton(sp => new ForecastPublisher(sp.GetRequiredService<IMessageTransport>(), options));
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<Runtime.IRuntimeController, ForecastPublisher>(sp => sp.GetRequiredService<ForecastPublisher>()));
        return builder;
    }

    /// <summary>
    /// Sends the resizing controller's changes (and loans) as <see cref="AdjustmentCommand"/>s over the
    /// <see cref="IMessageTransport"/> instead of calling the provider: a platform connector in another process
    /// (<see cref="AddAdjustmentConnector"/>) applies them and answers; the executor's limits, modes and audit still
    /// apply here, and an outcome not back within <paramref name="timeout"/> (default 2 minutes) is a failed action.
    /// </summary>
    public static VmEcosystemBuilder SendAdjustmentsOverTransport(this VmEcosystemBuilder builder, TimeSpan? timeout = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var wait = timeout ?? TimeSpan.FromMinutes(2);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(wait, TimeSpan.Zero, nameof(timeout));
        builder.Services.TryAddSingleton<IMessageTransport, InProcessTransport>();
        builder.Services.TryAddSingleton(sp => new AdjustmentSender(sp.GetRequiredService<IMessageTransport>(), wait, sp.GetService<TimeProvider>() ?? TimeProvider.System));
        return builder;
    }

    /// <summary>
    /// Runs an <see cref="AdjustmentCommandProcessor"/> for the life of the host: it applies the
    /// <see cref="AdjustmentCommand"/>s arriving on the <see cref="IMessageTransport"/> (in process by default,
    /// RabbitMQ with <c>UseRabbitMq</c>) through this process's provider and publishes their outcomes. For a platform
    /// connector that runs apart from the adjustment engine.
    /// </summary>
    public static VmEcosystemBuilder AddAdjustmentConnector(this VmEcosystemBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.TryAddSingleton<IMessageTransport, InProcessTransport>();
        builder.Services.TryAddSingleton(sp => new AdjustmentCommandProcessor(
            sp.GetRequiredService<IHypervisor>(), sp.GetRequiredService<IMessageTransport>(), sp.GetService<TimeProvider>()));
        builder.Services.AddHostedService<AdjustmentConnectorService>();
        return builder;
    }
}

/// <summary>Subscribes the processor at start, unsubscribes at stop.</summary>
internal sealed class AdjustmentConnectorService(AdjustmentCommandProcessor processor) : IHostedService
{
    private IAsyncDisposable? _subscription;

    public async Task StartAsync(CancellationToken cancellationToken) => _subscription = await processor.StartAsync(cancellationToken).ConfigureAwait(false);

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_subscription is { } s)
        {
            await s.DisposeAsync().ConfigureAwait(false);
        }
    }
}
