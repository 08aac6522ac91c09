namespace VmEcosystem.Messaging.RabbitMQ;

/// <summary>The RabbitMQ transport's settings (bound from <c>VmEcosystem:RabbitMq</c>).</summary>
public sealed class RabbitMqOptions
{
    /// <summary>The broker, e.g. <c>amqp://user:password@broker:5672/vhost</c> (<c>amqps://</c> for TLS). Required.</summary>
    public Uri? Uri { get; set; }

    /// <summary>Prefix of every queue name: a topic <c>adjustments</c> is the queue <c>vmeco.adjustments</c>, its dead letters <c>vmeco.adjustments.dead</c>.</summary>
    public string QueuePrefix { get; set; } = "vmeco";

    /// <summary>Unacknowledged messages a subscriber holds at once.</summary>
    public ushort Prefetch { get; set; } = 32;

    /// <summary>Deliveries of one message before it is dead-lettered (a poison message is at once).</summary>
    public int MaxAttempts { get; set; } = 5;

    /// <summary>How long a publish waits for the broker's confirm, reconnections included, before it fails.</summary>
    public TimeSpan PublishTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>Time between reconnection attempts after the broker went away.</summary>
    public TimeSpan ReconnectInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>The errors of these options, each naming its setting (empty: valid).</summary>
    public IReadOnlyList<string> Validate()
    {
        const string prefix = "VmEcosystem:RabbitMq:";
        var errors = new List<string>();
        if (Uri is null || Uri.Scheme is not ("amqp" or "amqps"))
        {
            errors.Add($"{prefix}Uri must be an amqp:// or amqps:// address of the broker; got '{Uri}'.");
        }

        if (string.IsNullOrWhiteSpace(QueuePrefix) || QueuePrefix.Length > 200)
        {
            errors.Add($"{prefix}QueuePrefix must be 1 to 200 characters; got '{QueuePrefix}'.");
        }

        if (Prefetch == 0)
        {
            errors.Add($"{prefix}Prefetch must be at least 1.");
        }

        if (MaxAttempts is < 1 or > 1000)
        {
            errors.Add($"{prefix}MaxAttempts must be within [1, 1000]; got {MaxAttempts}.");
        }

        if (PublishTimeout <= TimeSpan.Zero)
        {
            errors.Add($"{prefix}PublishTimeout must be positive; got {PublishTimeout}.");
        }

        if (ReconnectInterval <= TimeSpan.Zero || ReconnectInterval > TimeSpan.FromMinutes(5))
        {
            errors.Add($"{prefix}ReconnectInterval must be within (0, 5 min]; got {ReconnectInterval}.");
        }

        return errors;
    }
}
