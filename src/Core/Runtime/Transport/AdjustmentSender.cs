using System.Collections.Concurrent;
using VmEcosystem.Cluster;
using VmEcosystem.Hypervisor;
using VmEcosystem.Messaging;
using VmEcosystem.Policies;

namespace VmEcosystem.Runtime;

/// <summary>
/// The adjustment engine's side of the transport: sends an <see cref="AdjustmentCommand"/> and waits for its outcome on
/// this instance's own reply topic (so replicas never take each other's outcomes). A refusal becomes a
/// <see cref="HypervisorException"/> and no answer in time a <see cref="TimeoutException"/>: to the executor, the same
/// failures as a provider call's.
/// </summary>
internal sealed class AdjustmentSender(IMessageTransport transport, TimeSpan timeout, TimeProvider time) : IAsyncDisposable
{
    private readonly ConcurrentDictionary<string, TaskCompletionSource<AdjustmentOutcome>> _waiting = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _start = new(1, 1);
    private readonly string _replyTopic = $"{MessageTopics.Outcomes}.{Guid.NewGuid():N}";
    private IAsyncDisposable? _subscription;

    public async Task<AdjustmentOutcome> SendAsync(VmId vm, PolicyResource resource, double to, string reason, CancellationToken cancellationToken)
    {
        await EnsureSubscribedAsync(cancellationToken).ConfigureAwait(false);
        var command = new AdjustmentCommand($"adj-{Guid.NewGuid():N}", vm, resource, to, reason, time.GetUtcNow()) { ReplyTo = _replyTopic };
        var waiter = new TaskCompletionSource<AdjustmentOutcome>(TaskCreationOptions.RunContinuationsAsynchronously);
        _waiting[command.CommandId] = waiter;
        try
        {
            await transport.PublishAsync(MessageTopics.Adjustments, command.CommandId, MessageJson.Serialize(command), cancellationToken).ConfigureAwait(false);
            AdjustmentOutcome outcome;
            try
            {
                outcome = await waiter.Task.WaitAsync(timeout, time, cancellationToken).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                throw new TimeoutException($"No outcome for {command.CommandId} ({vm} {resource} to {to}) within {timeout}: is a platform connector (AddAdjustmentConnector) running on the transport?");
            }

            return outcome.Succeeded ? outcome : throw new HypervisorException(HypervisorErrorKind.ProviderFault, $"the platform connector refused {command.CommandId}: {outcome.Message}", "transport", "Adjust");
        }
        finally
        {
            _waiting.TryRemove(command.CommandId, out _);
        }
    }

    private async Task EnsureSubscribedAsync(CancellationToken cancellationToken)
    {
        if (_subscription is not null)
        {
            return;
        }

        await _start.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            _subscription ??= await transport.SubscribeAsync(_replyTopic, (m, _) =>
            {
                var outcome = MessageJson.Deserialize<AdjustmentOutcome>(m.Body);
                if (_waiting.TryGetValue(outcome.CommandId, out var waiter))
                {
                    waiter.TrySetResult(outcome); // a repeat of an outcome already taken finds no waiter: dropped
                }

                return Task.CompletedTask;
            }, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _start.Release();
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_subscription is { } s)
        {
            await s.DisposeAsync().ConfigureAwait(false);
        }

        _start.Dispose();
    }
}

/// <summary>Sets one resource of a VM through the transport's platform connector (what the resizing controller proposes when adjustments go over the transport).</summary>
/// <param name="Vm">The VM.</param>
/// <param name="Host">Where it runs.</param>
/// <param name="Resource">The resource.</param>
/// <param name="To">Its new size.</param>
/// <param name="Reason">Why.</param>
internal sealed record AdjustAction(VmId Vm, HostId Host, PolicyResource Resource, double To, string Reason) : ClusterAction(Vm, Host, Reason)
{
    public const string KindName = "adjust";

    public override string Kind => KindName;

    public required AdjustmentSender Sender { get; init; }

    internal async Task<string> ExecuteAsync(CancellationToken cancellationToken) =>
        (await Sender.SendAsync(Vm, Resource, To, Reason, cancellationToken).ConfigureAwait(false)).Message;
}
