using System.Collections.Concurrent;
using System.Threading.Channels;

namespace VmEcosystem.Messaging;

/// <summary>
/// The default transport: one unbounded channel per topic inside the process. A handler's failure delivers the
/// message again (up to <see cref="MaxAttempts"/>, then it is dead-lettered, as a poison message is at once): the
/// same contract as a broker's, so handlers written against it work over RabbitMQ unchanged.
/// </summary>
public sealed class InProcessTransport : IMessageTransport
{
    private readonly ConcurrentDictionary<string, Channel<(string Id, ReadOnlyMemory<byte> Body, int Attempt)>> _topics = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<DeadLetter> _dead = new();

    /// <summary>Deliveries of one message before it is dead-lettered.</summary>
    public int MaxAttempts { get; init; } = 5;

    /// <summary>Messages dead-lettered, with the reason.</summary>
    public IReadOnlyCollection<DeadLetter> DeadLetters => _dead;

    /// <inheritdoc />
    public Task PublishAsync(string topic, string messageId, ReadOnlyMemory<byte> body, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(topic);
        ArgumentException.ThrowIfNullOrWhiteSpace(messageId);
        return Topic(topic).Writer.WriteAsync((messageId, body.ToArray(), 1), cancellationToken).AsTask();
    }

    /// <inheritdoc />
    public Task<IAsyncDisposable> SubscribeAsync(string topic, MessageHandler handler, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(topic);
        ArgumentNullException.ThrowIfNull(handler);
        var channel = Topic(topic);
        var stop = new CancellationTokenSource();
        var loop = Task.Run(async () =>
        {
            try
            {
                await foreach (var (id, body, attempt) in channel.Reader.ReadAllAsync(stop.Token).ConfigureAwait(false))
                {
                    try
                    {
                        await handler(new DeliveredMessage(topic, id, body, attempt, attempt > 1), stop.Token).ConfigureAwait(false);
                    }
                    catch (PoisonMessageException ex)
                    {
                        _dead.Enqueue(new DeadLetter(topic, id, body, ex.Message));
                    }
                    catch (Exception ex) when (ex is not OperationCanceledException || !stop.IsCancellationRequested)
                    {
                        if (attempt >= MaxAttempts)
                        {
                            _dead.Enqueue(new DeadLetter(topic, id, body, $"failed {attempt} times: {ex.Message}"));
                        }
                        else
                        {
                            await channel.Writer.WriteAsync((id, body, attempt + 1), stop.Token).ConfigureAwait(false);
                        }
                    }
                }
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                // unsubscribed
            }
        }, CancellationToken.None);
        return Task.FromResult<IAsyncDisposable>(new Subscription(stop, loop));
    }

    private Channel<(string Id, ReadOnlyMemory<byte> Body, int Attempt)> Topic(string topic) =>
        _topics.GetOrAdd(topic, _ => Channel.CreateUnbounded<(string, ReadOnlyMemory<byte>, int)>(new UnboundedChannelOptions { SingleReader = true }));

    private sealed class Subscription(CancellationTokenSource stop, Task loop) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            await stop.CancelAsync().ConfigureAwait(false);
            await loop.ConfigureAwait(false);
            stop.Dispose();
        }
    }
}

/// <summary>A message that was given up on.</summary>
/// <param name="Topic">Its topic.</param>
/// <param name="MessageId">Its id.</param>
/// <param name="Body">Its body.</param>
/// <param name="Reason">Why.</param>
public sealed record DeadLetter(string Topic, string MessageId, ReadOnlyMemory<byte> Body, string Reason);
