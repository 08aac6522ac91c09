using System.Text;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using global::RabbitMQ.Client;
using global::RabbitMQ.Client.Events;
using global::RabbitMQ.Client.Exceptions;

namespace VmEcosystem.Messaging.RabbitMQ;

/// <summary>
/// <see cref="IMessageTransport"/> over RabbitMQ. Each topic is a durable queue (<c>{prefix}.{topic}</c>) with a
/// durable dead-letter queue beside it (<c>{prefix}.{topic}.dead</c>); messages are persistent and every publish waits
/// for the broker's confirm, repeating through reconnections until <see cref="RabbitMqOptions.PublishTimeout"/> (so a
/// message may arrive twice: handlers deduplicate on its id). Subscribers acknowledge after their handler returns; a
/// handler that fails has its message put back with its attempt count, up to <see cref="RabbitMqOptions.MaxAttempts"/>;
/// a poison message, or one out of attempts, goes to the dead-letter queue with the reason in its
/// <c>x-vmeco-reason</c> header. The connection recovers by itself after a broker restart (queues, consumers).
/// </summary>
public sealed partial class RabbitMqTransport : IMessageTransport, IAsyncDisposable
{
    internal const string ReasonHeader = "x-vmeco-reason", AttemptHeader = "x-vmeco-attempt";
    private readonly RabbitMqOptions _options;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _connect = new(1, 1), _publish = new(1, 1);
    private readonly HashSet<string> _declared = new(StringComparer.Ordinal);
    private IConnection? _connection;
    private IChannel? _publisher;

    /// <summary>Creates the transport (it connects on first use).</summary>
    public RabbitMqTransport(RabbitMqOptions options, ILogger<RabbitMqTransport>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.Validate() is { Count: > 0 } errors)
        {
            throw new ArgumentException(string.Join(" ", errors), nameof(options));
        }

        _options = options;
        _logger = (ILogger?)logger ?? NullLogger.Instance;
    }

    internal string Queue(string topic) => $"{_options.QueuePrefix}.{topic}";

    internal string DeadQueue(string topic) => $"{_options.QueuePrefix}.{topic}.dead";

    /// <inheritdoc />
    public async Task PublishAsync(string topic, string messageId, ReadOnlyMemory<byte> body, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(topic);
        ArgumentException.ThrowIfNullOrWhiteSpace(messageId);
        await PublishToAsync(topic, Queue(topic), messageId, body, null, cancellationToken).ConfigureAwait(false);
    }

    // Publishes with the broker's confirm, through reconnections, until the publish timeout.
    private async Task PublishToAsync(string topic, string queue, string messageId, ReadOnlyMemory<byte> body, IDictionary<string, object?>? headers, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_options.PublishTimeout);
        var properties = new BasicProperties { Persistent = true, MessageId = messageId, ContentType = "application/json", Headers = headers, Type = topic };
        for (int attempt = 1; ; attempt++)
        {
            try
            {
                await _publish.WaitAsync(timeout.Token).ConfigureAwait(false);
                try
                {
                    var channel = await PublisherAsync(topic, timeout.Token).ConfigureAwait(false);
                    await channel.BasicPublishAsync(string.Empty, queue, mandatory: true, properties, body, timeout.Token).ConfigureAwait(false);
                    return;
                }
                catch (PublishException ex) when (ex.IsReturn)
                {
                    _declared.Clear(); // unroutable: the queue is gone (deleted by hand); declare it again before the next attempt
                    throw;
                }
                finally
                {
                    _publish.Release();
                }
            }
            catch (Exception ex) when (Transient(ex) && !timeout.IsCancellationRequested)
            {
                Log.PublishRetried(_logger, messageId, queue, attempt, ex.Message);
            }
            catch (OperationCanceledException) when (timeout.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
            {
                throw Timeout(messageId, queue);
            }

            try
            {
                await Task.Delay(_options.ReconnectInterval, timeout.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (timeout.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
            {
                throw Timeout(messageId, queue);
            }
        }
    }

    private TimeoutException Timeout(string messageId, string queue) =>
        new($"RabbitMQ did not confirm message {messageId} on {queue} within {_options.PublishTimeout} (VmEcosystem:RabbitMq:PublishTimeout).");

    private static bool Transient(Exception ex) =>
        ex is AlreadyClosedException or OperationInterruptedException or BrokerUnreachableException or ConnectFailureException or PublishException
            or IOException or System.Net.Sockets.SocketException or ObjectDisposedException;

    private async Task<IChannel> PublisherAsync(string topic, CancellationToken cancellationToken)
    {
        var connection = await ConnectionAsync(cancellationToken).ConfigureAwait(false);
        if (_publisher is not { IsOpen: true })
        {
            if (_publisher is { } old)
            {
                await old.DisposeAsync().ConfigureAwait(false);
            }

            _publisher = await connection.CreateChannelAsync(new CreateChannelOptions(publisherConfirmationsEnabled: true, publisherConfirmationTrackingEnabled: true), cancellationToken).ConfigureAwait(false);
            _declared.Clear();
        }

        await DeclareAsync(_publisher, topic, cancellationToken).ConfigureAwait(false);
        return _publisher;
    }

    private async Task DeclareAsync(IChannel channel, string topic, CancellationToken cancellationToken)
    {
        if (_declared.Contains(topic))
        {
            return;
        }

        await channel.QueueDeclareAsync(Queue(topic), durable: true, exclusive: false, autoDelete: false, arguments: null, cancellationToken: cancellationToken).ConfigureAwait(false);
        await channel.QueueDeclareAsync(DeadQueue(topic), durable: true, exclusive: false, autoDelete: false, arguments: null, cancellationToken: cancellationToken).ConfigureAwait(false);
        _declared.Add(topic);
    }

    private async Task<IConnection> ConnectionAsync(CancellationToken cancellationToken)
    {
        if (_connection is { } existing)
        {
            return existing; // recovers by itself; calls fail with AlreadyClosedException meanwhile and are repeated
        }

        await _connect.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_connection is null)
            {
                var factory = new ConnectionFactory
                {
                    Uri = _options.Uri!,
                    AutomaticRecoveryEnabled = true,
                    TopologyRecoveryEnabled = true,
                    NetworkRecoveryInterval = _options.ReconnectInterval,
                    ClientProvidedName = "vmecosystem",
                };
                _connection = await factory.CreateConnectionAsync(cancellationToken).ConfigureAwait(false);
                Log.Connected(_logger, _options.Uri!.Host, _options.Uri.Port);
            }

            return _connection;
        }
        finally
        {
            _connect.Release();
        }
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (_publisher is { } p)
        {
            await p.DisposeAsync().ConfigureAwait(false);
        }

        if (_connection is { } c)
        {
            await c.DisposeAsync().ConfigureAwait(false);
        }

        _connect.Dispose();
        _publish.Dispose();
    }

    private static string? Text(IReadOnlyBasicProperties properties, string header) =>
        properties.Headers?.TryGetValue(header, out var value) == true ? value switch { byte[] b => Encoding.UTF8.GetString(b), string s => s, _ => value?.ToString() } : null;

    private static partial class Log
    {
        [LoggerMessage(EventId = 2101, Level = LogLevel.Information, Message = "RabbitMQ connected to {Host}:{Port}")]
        public static partial void Connected(ILogger logger, string host, int port);

        [LoggerMessage(EventId = 2102, Level = LogLevel.Warning, Message = "RabbitMQ publish of {MessageId} to {Queue} repeated (attempt {Attempt}): {Error}")]
        public static partial void PublishRetried(ILogger logger, string messageId, string queue, int attempt, string error);

        [LoggerMessage(EventId = 2103, Level = LogLevel.Warning, Message = "RabbitMQ message {MessageId} dead-lettered to {Queue}: {Reason}")]
        public static partial void DeadLettered(ILogger logger, string messageId, string queue, string reason);

        [LoggerMessage(EventId = 2104, Level = LogLevel.Warning, Message = "RabbitMQ handler for {MessageId} failed (attempt {Attempt}), put back: {Error}")]
        public static partial void HandlerFailed(ILogger logger, string messageId, int attempt, string error);
    }
}
