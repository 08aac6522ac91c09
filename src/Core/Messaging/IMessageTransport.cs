namespace VmEcosystem.Messaging;

/// <summary>
/// Carries messages between VmEcosystem's modules when they run as separate processes (the prediction module, the
/// adjustment engine, the platform connector). Delivery is at least once: a handler may see a message again after a
/// failure or a reconnection, so handlers are idempotent (<see cref="AdjustmentCommandProcessor"/> is). A handler that
/// throws <see cref="PoisonMessageException"/>, or keeps failing, has its message dead-lettered with the reason.
/// The in-process transport (<see cref="InProcessTransport"/>) is the default; <c>VmEcosystem.Messaging.RabbitMQ</c>
/// carries the same messages over a broker.
/// </summary>
public interface IMessageTransport
{
    /// <summary>Publishes <paramref name="body"/> on <paramref name="topic"/>; returns once the transport has it durably (a broker's confirm).</summary>
    /// <param name="topic">One of <see cref="MessageTopics"/>, or an application's own.</param>
    /// <param name="messageId">Unique per message: what handlers deduplicate on.</param>
    /// <param name="body">The message, UTF-8 JSON for the library's own messages.</param>
    /// <param name="cancellationToken">Stops waiting; the message may or may not have been taken.</param>
    Task PublishAsync(string topic, string messageId, ReadOnlyMemory<byte> body, CancellationToken cancellationToken = default);

    /// <summary>Delivers <paramref name="topic"/>'s messages to <paramref name="handler"/> until the returned handle is disposed.</summary>
    Task<IAsyncDisposable> SubscribeAsync(string topic, MessageHandler handler, CancellationToken cancellationToken = default);
}

/// <summary>Handles one delivered message; returns normally when it is done with it (the transport acknowledges it then).</summary>
public delegate Task MessageHandler(DeliveredMessage message, CancellationToken cancellationToken);

/// <summary>A message as delivered.</summary>
/// <param name="Topic">Its topic.</param>
/// <param name="MessageId">Its id (the same on every delivery of it).</param>
/// <param name="Body">Its body.</param>
/// <param name="Attempt">1 on the first delivery to this process, more after failures.</param>
/// <param name="Redelivered">True when the transport says it may have been delivered before (a reconnection, a handler that died).</param>
public sealed record DeliveredMessage(string Topic, string MessageId, ReadOnlyMemory<byte> Body, int Attempt, bool Redelivered);

/// <summary>Thrown by a handler for a message that can never succeed (malformed, contradictory): it is dead-lettered with <see cref="Exception.Message"/> as the reason, not retried.</summary>
public sealed class PoisonMessageException : Exception
{
    /// <summary>Creates the exception.</summary>
    public PoisonMessageException()
    {
    }

    /// <summary>Creates the exception with the reason.</summary>
    public PoisonMessageException(string reason)
        : base(reason)
    {
    }

    /// <summary>Creates the exception with the reason and its cause.</summary>
    public PoisonMessageException(string reason, Exception inner)
        : base(reason, inner)
    {
    }
}

/// <summary>The library's topics.</summary>
public static class MessageTopics
{
    /// <summary>Forecasts from the prediction module (<see cref="ForecastMessage"/>).</summary>
    public const string Forecasts = "forecasts";

    /// <summary>Adjustment commands from the adjustment engine (<see cref="AdjustmentCommand"/>).</summary>
    public const string Adjustments = "adjustments";

    /// <summary>What the platform connector did with each command (<see cref="AdjustmentOutcome"/>).</summary>
    public const string Outcomes = "outcomes";
}
