using System.Globalization;
using System.Text;
using global::RabbitMQ.Client;
using global::RabbitMQ.Client.Events;

namespace VmEcosystem.Messaging.RabbitMQ;

/// <summary>Subscriptions: one channel and consumer per topic, acknowledged after the handler.</summary>
public sealed partial class RabbitMqTransport
{
    /// <inheritdoc />
    public async Task<IAsyncDisposable> SubscribeAsync(string topic, MessageHandler handler, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(topic);
        ArgumentNullException.ThrowIfNull(handler);
        for (int attempt = 1; ; attempt++)
        {
            try
            {
                var connection = await ConnectionAsync(cancellationToken).ConfigureAwait(false);
                var channel = await connection.CreateChannelAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
                await channel.QueueDeclareAsync(Queue(topic), durable: true, exclusive: false, autoDelete: false, arguments: null, cancellationToken: cancellationToken).ConfigureAwait(false);
                await channel.QueueDeclareAsync(DeadQueue(topic), durable: true, exclusive: false, autoDelete: false, arguments: null, cancellationToken: cancellationToken).ConfigureAwait(false);
                await channel.BasicQosAsync(0, _options.Prefetch, false, cancellationToken).ConfigureAwait(false);
                var stop = new CancellationTokenSource();
                var consumer = new AsyncEventingBasicConsumer(channel);
                consumer.ReceivedAsync += (_, delivery) => DeliverAsync(topic, channel, handler, delivery, stop.Token);
                string tag = await channel.BasicConsumeAsync(Queue(topic), autoAck: false, consumer, cancellationToken).ConfigureAwait(false);
                return new Subscription(channel, tag, stop);
            }
            catch (Exception ex) when (Transient(ex) && !cancellationToken.IsCancellationRequested && attempt < 60)
            {
                await Task.Delay(_options.ReconnectInterval, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    private async Task DeliverAsync(string topic, IChannel channel, MessageHandler handler, BasicDeliverEventArgs delivery, CancellationToken cancellationToken)
    {
        string id = delivery.BasicProperties.MessageId is { Length: > 0 } m ? m : $"{topic}/no-id/{delivery.DeliveryTag}";
        int attempt = int.TryParse(Text(delivery.BasicProperties, AttemptHeader), NumberStyles.None, CultureInfo.InvariantCulture, out int a) ? a : 1;
        var body = delivery.Body.ToArray(); // the delivery's buffer is reused after this callback returns
        string? deadReason = null;
        try
        {
            await handler(new DeliveredMessage(topic, id, body, attempt, delivery.Redelivered || attempt > 1), cancellationToken).ConfigureAwait(false);
        }
        catch (PoisonMessageException ex)
        {
            deadReason = ex.Message;
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
        {
            if (attempt >= _options.MaxAttempts)
            {
                deadReason = $"failed {attempt} times: {ex.Message}";
            }
            else
            {
                // Put back with its count (a requeue would not count): published before the original is acknowledged, so
                // a broker lost in between delivers the original again instead of losing it.
                Log.HandlerFailed(_logger, id, attempt, ex.Message);
                await PublishToAsync(topic, Queue(topic), id, body, Headers(delivery.BasicProperties, AttemptHeader, (attempt + 1).ToString(CultureInfo.InvariantCulture)), cancellationToken).ConfigureAwait(false);
            }
        }

        if (deadReason is not null)
        {
            Log.DeadLettered(_logger, id, DeadQueue(topic), deadReason);
            await PublishToAsync(topic, DeadQueue(topic), id, body, Headers(delivery.BasicProperties, ReasonHeader, deadReason), cancellationToken).ConfigureAwait(false);
        }

        await channel.BasicAckAsync(delivery.DeliveryTag, multiple: false, cancellationToken).ConfigureAwait(false);
    }

    private static Dictionary<string, object?> Headers(IReadOnlyBasicProperties properties, string key, string value)
    {
        var headers = properties.Headers is { } h ? new Dictionary<string, object?>(h) : [];
        headers[key] = Encoding.UTF8.GetBytes(value);
        return headers;
    }

    /// <summary>Takes the messages of a topic's dead-letter queue (for an operator's inspection, and the tests).</summary>
    public async Task<IReadOnlyList<DeadLetter>> TakeDeadLettersAsync(string topic, CancellationToken cancellationToken = default)
    {
        var connection = await ConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var channel = await connection.CreateChannelAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
        await channel.QueueDeclareAsync(DeadQueue(topic), durable: true, exclusive: false, autoDelete: false, arguments: null, cancellationToken: cancellationToken).ConfigureAwait(false);
        var result = new List<DeadLetter>();
        while (await channel.BasicGetAsync(DeadQueue(topic), autoAck: true, cancellationToken).ConfigureAwait(false) is { } got)
        {
            result.Add(new DeadLetter(topic, got.BasicProperties.MessageId ?? string.Empty, got.Body.ToArray(), Text(got.BasicProperties, ReasonHeader) ?? "unknown"));
        }

        return result;
    }

    private sealed class Subscription(IChannel channel, string tag, CancellationTokenSource stop) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            await stop.CancelAsync().ConfigureAwait(false);
            try
            {
                if (channel.IsOpen)
                {
                    await channel.BasicCancelAsync(tag).ConfigureAwait(false);
                }
            }
            catch (Exception ex) when (Transient(ex))
            {
                // the broker is gone: nothing to cancel
            }

            await channel.DisposeAsync().ConfigureAwait(false);
            stop.Dispose();
        }
    }
}
