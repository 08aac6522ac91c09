using Microsoft.Extensions.Logging;
using VmEcosystem.Cluster;

namespace VmEcosystem.Hypervisor;

/// <summary>Migrations: idempotent starts, timeouts, and moves found running in the hypervisor.</summary>
public abstract partial class HypervisorProvider
{
    /// <inheritdoc />
    public Task<IMigrationOperation?> FindRunningMigrationAsync(VmId vm, CancellationToken cancellationToken = default)
    {
        RequireId(vm.Value, nameof(vm), "FindRunningMigration");
        ThrowIfDisposed();
        return _inFlight.TryGetValue(vm, out var running)
            ? Task.FromResult<IMigrationOperation?>(running)
            : InvokeAsync("FindRunningMigration", HypervisorCapabilities.None, cancellationToken, ct => FindRunningMigrationCoreAsync(vm, ct));
    }

    /// <summary>
    /// A migration of <paramref name="vm"/> that this provider instance did not start but the hypervisor runs (a
    /// previous process's); null by default. Providers whose hypervisor keeps migration jobs override it.
    /// </summary>
    protected virtual Task<IMigrationOperation?> FindRunningMigrationCoreAsync(VmId vm, CancellationToken cancellationToken) =>
        Task.FromResult<IMigrationOperation?>(null);

    /// <summary>
    /// Takes over a migration the hypervisor runs that this instance did not start (one found by
    /// <see cref="FindRunningMigrationCoreAsync"/>): it counts in <see cref="MigrationsInFlight"/>, a start request for
    /// the same move returns it, and <paramref name="follow"/> is called once with the execution to report its
    /// progress and end to. When the VM already has a registered migration, that one is returned and
    /// <paramref name="follow"/> is not called.
    /// </summary>
    /// <param name="vm">The migrating VM.</param>
    /// <param name="source">The host it leaves.</param>
    /// <param name="target">The host it goes to.</param>
    /// <param name="startedAt">When the hypervisor started it (as well as known).</param>
    /// <param name="follow">Starts following the job; it must not block.</param>
    protected IMigrationOperation AdoptRunningMigration(VmId vm, HostId source, HostId target, DateTimeOffset startedAt, Action<MigrationExecution> follow)
    {
        ArgumentNullException.ThrowIfNull(follow);
        long seq = Interlocked.Increment(ref _migrationSequence);
        var operation = new MigrationOperation($"{Name}-found-{seq}", vm, source, target, startedAt);
        AllowTuning(operation);
        if (!_inFlight.TryAdd(vm, operation))
        {
            return _inFlight.TryGetValue(vm, out var existing) ? existing : AdoptRunningMigration(vm, source, target, startedAt, follow);
        }

        operation.WhenEnding(() => _inFlight.TryRemove(new KeyValuePair<VmId, MigrationOperation>(vm, operation)));
        var execution = new MigrationExecution(operation);
        try
        {
            follow(execution);
        }
        catch (Exception ex)
        {
            execution.Fail(TimeProvider.GetUtcNow(), ex as HypervisorException
                ?? new HypervisorException(HypervisorErrorKind.ProviderFault, $"Following the migration of VM '{vm}' failed: {ex.Message}", Name, "FindRunningMigration", null, ex));
            throw;
        }

        LogMigrationFound(Logger, Name, vm.Value, source.Value, target.Value, operation.Id);
        return operation;
    }

    /// <inheritdoc />
    public async Task<IMigrationOperation> StartMigrationAsync(MigrationRequest request, CancellationToken cancellationToken = default)
    {
        const string op = "StartMigration";
        ArgumentNullException.ThrowIfNull(request);
        RequireId(request.Vm.Value, "request.Vm", op);
        RequireId(request.Target.Value, "request.Target", op);
        var options = request.Options ?? MigrationOptions.Default;
        if (options.BandwidthMbps is { } bw && (!double.IsFinite(bw) || bw <= 0))
        {
            throw Invalid(op, $"BandwidthMbps must be positive; got {bw}.");
        }

        if (options.MaxDowntime is { } downtime && downtime <= TimeSpan.Zero)
        {
            throw Invalid(op, $"MaxDowntime must be positive; got {downtime}.");
        }

        if (options.Timeout is { } timeout && timeout <= TimeSpan.Zero)
        {
            throw Invalid(op, $"Timeout must be positive; got {timeout}.");
        }

        ThrowIfDisposed();
        Require(HypervisorCapabilities.LiveMigration, op);
        if ((options.BandwidthMbps is not null || options.MaxDowntime is not null)
            && (Capabilities & HypervisorCapabilities.MigrationTuning) == 0)
        {
            throw new HypervisorException(HypervisorErrorKind.NotSupported,
                $"Provider '{Name}' cannot tune migration bandwidth or downtime.", Name, op);
        }

        if (_inFlight.TryGetValue(request.Vm, out var running))
        {
            if (running.Target == request.Target && (request.ExpectedSource is null || request.ExpectedSource == running.Source))
            {
                return running; // idempotent: the same request while it runs returns the same operation
            }

            throw new HypervisorException(HypervisorErrorKind.Conflict,
                $"VM '{request.Vm}' is already migrating to '{running.Target}'; it cannot also go to '{request.Target}'.",
                Name, op);
        }

        HostId source = await InvokeAsync(op, HypervisorCapabilities.None, cancellationToken,
            ct => ResolveMigrationSourceAsync(request, ct)).ConfigureAwait(false);
        if (request.ExpectedSource is { } expected && expected != source)
        {
            throw new HypervisorException(HypervisorErrorKind.Conflict,
                $"VM '{request.Vm}' is on '{source}', not on '{expected}' as the request expected; nothing was started.", Name, op);
        }

        if (source == request.Target)
        {
            throw new HypervisorException(HypervisorErrorKind.InvalidArgument,
                $"VM '{request.Vm}' already runs on '{request.Target}'.", Name, op);
        }

        long seq = Interlocked.Increment(ref _migrationSequence);
        var operation = new MigrationOperation($"{Name}-migration-{seq}", request.Vm, source, request.Target, TimeProvider.GetUtcNow());
        AllowTuning(operation);
        if (!_inFlight.TryAdd(request.Vm, operation))
        {
            throw new HypervisorException(HypervisorErrorKind.Conflict,
                $"VM '{request.Vm}' started migrating concurrently with this request.", Name, op);
        }

        operation.WhenEnding(() => _inFlight.TryRemove(new KeyValuePair<VmId, MigrationOperation>(request.Vm, operation)));
        var execution = new MigrationExecution(operation);
        if (options.Timeout is { } limit2)
        {
            ArmTimeout(execution, operation, limit2);
        }

        try
        {
            await InvokeAsync(op, HypervisorCapabilities.None, cancellationToken, async ct =>
            {
                await StartMigrationCoreAsync(request with { Options = options }, source, execution, ct).ConfigureAwait(false);
                return true;
            }).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            var error = ex as HypervisorException ?? new HypervisorException(HypervisorErrorKind.ProviderFault, ex.Message, Name, op, null, ex);
            execution.Fail(TimeProvider.GetUtcNow(), error);
            throw;
        }

        LogMigrationStarted(Logger, Name, request.Vm.Value, source.Value, request.Target.Value, operation.Id);
        return operation;
    }

    private void ArmTimeout(MigrationExecution execution, MigrationOperation operation, TimeSpan limit)
    {
        ITimer? timer = null;
        timer = TimeProvider.CreateTimer(_ =>
        {
            // Ask the provider to abort; it reports the final result itself (the VM stays on the source).
            _ = operation.CancelAsync();
            timer?.Dispose();
        }, null, limit, Timeout.InfiniteTimeSpan);
        _ = operation.Completion.ContinueWith(_ => timer.Dispose(), TaskScheduler.Default);
        _ = execution;
    }

    [LoggerMessage(EventId = 1002, Level = LogLevel.Information, Message = "Provider {Provider}: migration of VM {Vm} from {Source} to {Target}, started elsewhere, is followed as {MigrationId}")]
    private static partial void LogMigrationFound(ILogger logger, string provider, string vm, string source, string target, string migrationId);
}
