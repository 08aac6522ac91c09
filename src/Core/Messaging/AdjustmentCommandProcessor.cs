using System.Collections.Concurrent;
using System.Globalization;
using VmEcosystem.Cluster;
using VmEcosystem.Hypervisor;
using VmEcosystem.Policies;

namespace VmEcosystem.Messaging;

/// <summary>
/// The platform connector's side of the transport: applies each <see cref="AdjustmentCommand"/> through the provider
/// and publishes its <see cref="AdjustmentOutcome"/>. Idempotent twice over: a command id seen before gets its first
/// outcome again without touching the VM, and a command asks for an absolute size, so a VM that already has it is not
/// changed. A malformed command is a poison message (dead-lettered with the reason); a command the provider refuses
/// for good (no such VM, not supported, out of range) gets an outcome saying so; a provider that is unavailable or
/// times out fails the delivery, which the transport repeats.
/// </summary>
public sealed class AdjustmentCommandProcessor(IHypervisor hypervisor, IMessageTransport transport, TimeProvider? time = null)
{
    private const int Remembered = 100_000;
    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private readonly ConcurrentDictionary<string, AdjustmentOutcome> _done = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<string> _order = new();
    private readonly SemaphoreSlim _gate = new(1, 1);

    /// <summary>Commands this processor changed a VM for (repeats and sizes already held are not counted).</summary>
    public long Applied => Interlocked.Read(ref _applied);

    private long _applied, _executed;

    /// <summary>Commands this processor carried out with the provider (a repeat of one is not carried out again).</summary>
    internal long Executed => Interlocked.Read(ref _executed);

    /// <summary>Subscribes to <see cref="MessageTopics.Adjustments"/>; dispose the handle to stop.</summary>
    public Task<IAsyncDisposable> StartAsync(CancellationToken cancellationToken = default) =>
        transport.SubscribeAsync(MessageTopics.Adjustments, HandleAsync, cancellationToken);

    /// <summary>Handles one delivery (what the subscription calls).</summary>
    public async Task HandleAsync(DeliveredMessage message, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        var command = MessageJson.Deserialize<AdjustmentCommand>(message.Body);
        Check(command);
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false); // one command at a time: two commands for one VM must not interleave
        try
        {
            if (!_done.TryGetValue(command.CommandId, out var outcome))
            {
                Interlocked.Increment(ref _executed);
                outcome = await ApplyAsync(command, cancellationToken).ConfigureAwait(false);
                Remember(command.CommandId, outcome);
            }
            else
            {
                outcome = outcome with { Changed = false, Message = $"repeat of {command.CommandId}: {outcome.Message}" };
            }

            await transport.PublishAsync(command.ReplyTo ?? MessageTopics.Outcomes, $"{command.CommandId}/outcome", MessageJson.Serialize(outcome), cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _gate.Release();
        }
    }

    private static void Check(AdjustmentCommand c)
    {
        if (string.IsNullOrWhiteSpace(c.CommandId) || string.IsNullOrEmpty(c.Vm.Value))
        {
            throw new PoisonMessageException("an adjustment command needs a commandId and a vm");
        }

        if (!Enum.IsDefined(c.Resource) || !double.IsFinite(c.To) || c.To <= 0)
        {
            throw new PoisonMessageException(string.Create(CultureInfo.InvariantCulture, $"command {c.CommandId}: resource {c.Resource} to {c.To} is not a size"));
        }
    }

    private async Task<AdjustmentOutcome> ApplyAsync(AdjustmentCommand c, CancellationToken cancellationToken)
    {
        try
        {
            var vm = (await hypervisor.GetInventoryAsync(cancellationToken).ConfigureAwait(false)).Vms.FirstOrDefault(v => v.Id == c.Vm)
                ?? throw new HypervisorException(HypervisorErrorKind.NotFound, $"VM {c.Vm} does not exist", hypervisor.Name, "GetInventory");
            var controls = await hypervisor.GetResourceControlsAsync(c.Vm, cancellationToken).ConfigureAwait(false);
            bool changed = c.Resource switch
            {
                PolicyResource.Cpu => await CpuAsync(vm, controls, c.To, cancellationToken).ConfigureAwait(false),
                PolicyResource.Memory => await SetAsync(Math.Abs(vm.Allocation.MemoryMiB - c.To) >= 0.5,
                    ct => hypervisor.HotPlugAsync(c.Vm, new HotPlugRequest(MemoryMiB: c.To), ct), cancellationToken).ConfigureAwait(false),
                PolicyResource.DiskIops => await SetAsync(!Same(controls.DiskIopsLimit, c.To),
                    ct => hypervisor.SetResourceControlsAsync(c.Vm, new ResourceControls { DiskIopsLimit = c.To }, ct), cancellationToken).ConfigureAwait(false),
                _ => await SetAsync(!Same(controls.NetworkBandwidthLimitMbps, c.To),
                    ct => hypervisor.SetResourceControlsAsync(c.Vm, new ResourceControls { NetworkBandwidthLimitMbps = c.To }, ct), cancellationToken).ConfigureAwait(false),
            };
            if (changed)
            {
                Interlocked.Increment(ref _applied);
            }

            string what = string.Create(CultureInfo.InvariantCulture, $"{c.Vm} {c.Resource.ToString().ToLowerInvariant()} {(changed ? "set to" : "already")} {c.To:0.##}");
            return new AdjustmentOutcome(c.CommandId, c.Vm, true, changed, what, _time.GetUtcNow());
        }
        catch (HypervisorException ex) when (ex.Kind is not (HypervisorErrorKind.Unavailable or HypervisorErrorKind.Timeout))
        {
            return new AdjustmentOutcome(c.CommandId, c.Vm, false, false, $"{ex.Kind}: {ex.Message}", _time.GetUtcNow()); // for good: reported, not retried
        }
    }

    // Cores: the vCPUs rounded up (hot-plugged when they change), the rest a quota (none when the cores are whole).
    private async Task<bool> CpuAsync(VmInfo vm, ResourceControls controls, double cores, CancellationToken cancellationToken)
    {
        int vcpus = Math.Max(1, (int)Math.Ceiling(cores - 1e-9)), current = (int)Math.Round(vm.Allocation.CpuCores);
        if (vcpus < current && !hypervisor.Capabilities.HasFlag(HypervisorCapabilities.HotUnplugCpu))
        {
            vcpus = current; // the provider cannot unplug: the quota alone shrinks it
        }

        bool changed = false;
        if (current != vcpus)
        {
            await hypervisor.HotPlugAsync(vm.Id, new HotPlugRequest(Vcpus: vcpus), cancellationToken).ConfigureAwait(false);
            changed = true;
        }

        double share = cores >= vcpus - 1e-9 ? double.PositiveInfinity : cores / vcpus;
        double quota = controls.CpuQuota ?? double.PositiveInfinity;
        if (hypervisor.Capabilities.HasFlag(HypervisorCapabilities.CpuQuota) && !(quota == share || Math.Abs(quota - share) < 1e-6))
        {
            await hypervisor.SetResourceControlsAsync(vm.Id, new ResourceControls { CpuQuota = share }, cancellationToken).ConfigureAwait(false);
            changed = true;
        }

        return changed;
    }

    private static async Task<bool> SetAsync<T>(bool differs, Func<CancellationToken, Task<T>> set, CancellationToken cancellationToken)
    {
        if (differs)
        {
            await set(cancellationToken).ConfigureAwait(false);
        }

        return differs;
    }

    private static bool Same(double? limit, double to) => limit is { } l && Math.Abs(l - to) <= Math.Max(1, 0.01 * to);

    private void Remember(string id, AdjustmentOutcome outcome)
    {
        if (_done.TryAdd(id, outcome))
        {
            _order.Enqueue(id);
            while (_order.Count > Remembered && _order.TryDequeue(out var old))
            {
                _done.TryRemove(old, out _);
            }
        }
    }
}
