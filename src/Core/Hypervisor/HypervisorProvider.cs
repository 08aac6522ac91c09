using System.Collections.Concurrent;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using VmEcosystem.Cluster;

namespace VmEcosystem.Hypervisor;

/// <summary>
/// Base class of every provider. The public methods are sealed: they check arguments and capabilities, keep
/// migration starts idempotent, log, and translate any failure into a <see cref="HypervisorException"/> that
/// names the provider and operation. Implementations override the <c>protected ...CoreAsync</c> hooks only,
/// and stay <c>internal</c> behind a <c>builder.UseX(...)</c> extension.
/// </summary>
public abstract partial class HypervisorProvider : IHypervisor, IAsyncDisposable
{
    private readonly ConcurrentDictionary<VmId, MigrationOperation> _inFlight = new();
    private readonly ChangeFeed _changes;
    private long _migrationSequence;
    private int _disposed;

    /// <summary>Initialises the base.</summary>
    /// <param name="name">Provider name (<c>simulator</c>, <c>libvirt</c>, ...).</param>
    /// <param name="timeProvider">Clock used for timestamps and timeouts.</param>
    /// <param name="logger">Logger; nothing is logged when null.</param>
    /// <param name="eventBufferCapacity">Inventory events buffered per subscriber before it is told to resync.</param>
    protected HypervisorProvider(string name, TimeProvider timeProvider, ILogger? logger = null, int eventBufferCapacity = 4096)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(timeProvider);
        ArgumentOutOfRangeException.ThrowIfLessThan(eventBufferCapacity, 1);
        Name = name;
        TimeProvider = timeProvider;
        Logger = logger ?? NullLogger.Instance;
        _changes = new ChangeFeed(eventBufferCapacity, timeProvider);
    }

    /// <inheritdoc />
    public string Name { get; }

    /// <inheritdoc />
    public abstract HypervisorCapabilities Capabilities { get; }

    /// <summary>The clock.</summary>
    protected TimeProvider TimeProvider { get; }

    /// <summary>The logger.</summary>
    protected ILogger Logger { get; }

    /// <summary>Number of migrations this instance currently runs.</summary>
    public int MigrationsInFlight => _inFlight.Count;

    /// <inheritdoc />
    public Task<InventorySnapshot> GetInventoryAsync(CancellationToken cancellationToken = default) =>
        InvokeAsync("GetInventory", HypervisorCapabilities.Inventory, cancellationToken, GetInventoryCoreAsync);

    /// <inheritdoc />
    public IAsyncEnumerable<InventoryChange> WatchInventoryAsync(CancellationToken cancellationToken = default)
    {
        ThrowIfDisposed();
        Require(HypervisorCapabilities.InventoryEvents, "WatchInventory");
        return _changes.Subscribe(cancellationToken);
    }

    /// <inheritdoc />
    public Task<IReadOnlyList<VmMetricSample>> GetVmMetricsAsync(
        IReadOnlyCollection<VmId>? vms = null, CancellationToken cancellationToken = default) =>
        InvokeAsync("GetVmMetrics", HypervisorCapabilities.VmMetrics, cancellationToken, ct => GetVmMetricsCoreAsync(vms, ct));

    /// <inheritdoc />
    public Task<IReadOnlyList<HostMetricSample>> GetHostMetricsAsync(CancellationToken cancellationToken = default) =>
        InvokeAsync("GetHostMetrics", HypervisorCapabilities.HostMetrics, cancellationToken, GetHostMetricsCoreAsync);

    /// <inheritdoc />
    public Task<VmInfo> HotPlugAsync(VmId vm, HotPlugRequest request, CancellationToken cancellationToken = default)
    {
        const string op = "HotPlug";
        RequireId(vm.Value, nameof(vm), op);
        ArgumentNullException.ThrowIfNull(request);
        if (request.Vcpus is null && request.MemoryMiB is null)
        {
            throw Invalid(op, "A hot-plug request must set Vcpus, MemoryMiB or both.");
        }

        if (request.Vcpus is { } vcpus && vcpus < 1)
        {
            throw Invalid(op, $"Vcpus must be at least 1; got {vcpus}.");
        }

        if (request.MemoryMiB is { } mem && (!double.IsFinite(mem) || mem <= 0))
        {
            throw Invalid(op, $"MemoryMiB must be a positive finite number; got {mem}.");
        }

        var needed = HypervisorCapabilities.None;
        if (request.Vcpus is not null)
        {
            needed |= HypervisorCapabilities.HotPlugCpu;
        }

        if (request.MemoryMiB is not null)
        {
            needed |= HypervisorCapabilities.HotPlugMemory;
        }

        return InvokeAsync(op, needed, cancellationToken, ct => HotPlugCoreAsync(vm, request, ct));
    }

    /// <inheritdoc />
    public Task<ResourceControls> GetResourceControlsAsync(VmId vm, CancellationToken cancellationToken = default)
    {
        RequireId(vm.Value, nameof(vm), "GetResourceControls");
        return InvokeAsync("GetResourceControls", HypervisorCapabilities.Inventory, cancellationToken,
            ct => GetResourceControlsCoreAsync(vm, ct));
    }

    /// <inheritdoc />
    public Task<ResourceControls> SetResourceControlsAsync(
        VmId vm, ResourceControls controls, CancellationToken cancellationToken = default)
    {
        const string op = "SetResourceControls";
        RequireId(vm.Value, nameof(vm), op);
        ArgumentNullException.ThrowIfNull(controls);
        var needed = HypervisorCapabilities.None;
        if (controls.CpuShares is { } shares)
        {
            if (shares < 1)
            {
                throw Invalid(op, $"CpuShares must be at least 1; got {shares}.");
            }

            needed |= HypervisorCapabilities.CpuShares;
        }

        needed |= CheckLimit(op, controls.CpuQuota, nameof(controls.CpuQuota), HypervisorCapabilities.CpuQuota);
        needed |= CheckLimit(op, controls.MemoryReservationMiB, nameof(controls.MemoryReservationMiB), HypervisorCapabilities.MemoryReservation);
        needed |= CheckLimit(op, controls.MemoryLimitMiB, nameof(controls.MemoryLimitMiB), HypervisorCapabilities.MemoryLimit);
        needed |= CheckLimit(op, controls.DiskIopsLimit, nameof(controls.DiskIopsLimit), HypervisorCapabilities.DiskIopsLimit);
        needed |= CheckLimit(op, controls.NetworkBandwidthLimitMbps, nameof(controls.NetworkBandwidthLimitMbps), HypervisorCapabilities.NetworkBandwidthLimit);
        if (controls.DiskWeight is { } weight)
        {
            if (weight is < 100 or > 1000)
            {
                throw Invalid(op, $"DiskWeight must be within [100, 1000]; got {weight}.");
            }

            needed |= HypervisorCapabilities.DiskWeight;
        }
        if (controls.MemoryReservationMiB is { } reservation && controls.MemoryLimitMiB is { } limit && reservation > limit)
        {
            throw Invalid(op, $"MemoryReservationMiB ({reservation}) cannot exceed MemoryLimitMiB ({limit}).");
        }

        return InvokeAsync(op, needed, cancellationToken, ct => SetResourceControlsCoreAsync(vm, controls, ct));
    }

    /// <summary>Stops event streams and releases resources. In-flight migrations are not aborted.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        _changes.Complete();
        await DisposeCoreAsync().ConfigureAwait(false);
        GC.SuppressFinalize(this);
    }

    /// <summary>Publishes an inventory change to every watcher.</summary>
    protected void PublishInventoryChange(InventoryChange change)
    {
        ArgumentNullException.ThrowIfNull(change);
        _changes.Publish(change);
    }

    /// <summary>Lists the inventory.</summary>
    protected abstract Task<InventorySnapshot> GetInventoryCoreAsync(CancellationToken cancellationToken);

    /// <summary>Samples VMs (all running VMs when <paramref name="vms"/> is null). Unknown VMs are an error.</summary>
    protected virtual Task<IReadOnlyList<VmMetricSample>> GetVmMetricsCoreAsync(
        IReadOnlyCollection<VmId>? vms, CancellationToken cancellationToken) =>
        throw NotSupported("GetVmMetrics");

    /// <summary>Samples hosts.</summary>
    protected virtual Task<IReadOnlyList<HostMetricSample>> GetHostMetricsCoreAsync(CancellationToken cancellationToken) =>
        throw NotSupported("GetHostMetrics");

    /// <summary>Hot-plugs vCPUs/memory. Arguments are already validated.</summary>
    protected virtual Task<VmInfo> HotPlugCoreAsync(VmId vm, HotPlugRequest request, CancellationToken cancellationToken) =>
        throw NotSupported("HotPlug");

    /// <summary>Reads resource controls.</summary>
    protected virtual Task<ResourceControls> GetResourceControlsCoreAsync(VmId vm, CancellationToken cancellationToken) =>
        throw NotSupported("GetResourceControls");

    /// <summary>Applies resource controls. Arguments and capabilities are already checked.</summary>
    protected virtual Task<ResourceControls> SetResourceControlsCoreAsync(
        VmId vm, ResourceControls controls, CancellationToken cancellationToken) =>
        throw NotSupported("SetResourceControls");

    /// <summary>Finds the host the VM runs on now (a <see cref="HypervisorErrorKind.NotFound"/> error when the VM or target is unknown).</summary>
    protected abstract Task<HostId> ResolveMigrationSourceAsync(MigrationRequest request, CancellationToken cancellationToken);

    /// <summary>
    /// Starts moving the VM and returns once the migration is under way; report progress and exactly one final
    /// result through <paramref name="execution"/>. A throw here fails the migration before it started.
    /// </summary>
    protected abstract Task StartMigrationCoreAsync(
        MigrationRequest request, HostId source, MigrationExecution execution, CancellationToken cancellationToken);

    /// <summary>Releases provider resources.</summary>
    protected virtual ValueTask DisposeCoreAsync() => ValueTask.CompletedTask;

    /// <summary>Builds a <see cref="HypervisorErrorKind.NotFound"/> error naming the VM.</summary>
    protected HypervisorException VmNotFound(VmId vm, string operation) =>
        new(HypervisorErrorKind.NotFound, $"VM '{vm}' does not exist on provider '{Name}'.", Name, operation);

    /// <summary>Builds a <see cref="HypervisorErrorKind.NotFound"/> error naming the host.</summary>
    protected HypervisorException HostNotFound(HostId host, string operation) =>
        new(HypervisorErrorKind.NotFound, $"Host '{host}' does not exist on provider '{Name}'.", Name, operation);

    private async Task<T> InvokeAsync<T>(
        string operation, HypervisorCapabilities required, CancellationToken cancellationToken, Func<CancellationToken, Task<T>> call)
    {
        ThrowIfDisposed();
        Require(required, operation);
        cancellationToken.ThrowIfCancellationRequested();
        try
        {
            return await call(cancellationToken).ConfigureAwait(false);
        }
        catch (HypervisorException ex)
        {
            LogCallFailed(Logger, Name, operation, ex.Kind, ex.Message);
            throw ex.WithContext(Name, operation);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception ex)
        {
            var translated = Translate(ex, operation);
            LogCallFailed(Logger, Name, operation, translated.Kind, ex.Message);
            throw translated;
        }
    }

    private HypervisorException Translate(Exception ex, string operation)
    {
        var kind = ex switch
        {
            OperationCanceledException or TimeoutException => HypervisorErrorKind.Timeout,
            KeyNotFoundException => HypervisorErrorKind.NotFound,
            NotSupportedException or NotImplementedException => HypervisorErrorKind.NotSupported,
            ArgumentException => HypervisorErrorKind.InvalidArgument,
            InvalidOperationException => HypervisorErrorKind.Conflict,
            IOException or SocketException or HttpRequestException or ObjectDisposedException => HypervisorErrorKind.Unavailable,
            _ => HypervisorErrorKind.ProviderFault,
        };
        return new HypervisorException(kind, $"{operation} failed on provider '{Name}': {ex.Message}", Name, operation, null, ex);
    }

    private static HypervisorCapabilities CheckLimit(string op, double? value, string name, HypervisorCapabilities capability)
    {
        if (value is not { } v)
        {
            return HypervisorCapabilities.None;
        }

        if (double.IsNaN(v) || v < 0)
        {
            throw new HypervisorException(HypervisorErrorKind.InvalidArgument,
                $"{name} must be non-negative (or +Infinity to remove the limit); got {v}.", null, op);
        }

        return capability;
    }

    private void Require(HypervisorCapabilities required, string operation)
    {
        var missing = required & ~Capabilities;
        if (missing != HypervisorCapabilities.None)
        {
            throw new HypervisorException(HypervisorErrorKind.NotSupported,
                $"Provider '{Name}' does not support {missing} (needed by {operation}).", Name, operation);
        }
    }

    private HypervisorException NotSupported(string operation) =>
        new(HypervisorErrorKind.NotSupported, $"Provider '{Name}' does not implement {operation}.", Name, operation);

    private HypervisorException Invalid(string operation, string message) =>
        new(HypervisorErrorKind.InvalidArgument, message, Name, operation);

    private void RequireId(string? value, string parameter, string operation)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            throw Invalid(operation, $"{parameter} must be a non-empty identifier.");
        }
    }

    private void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);

    [LoggerMessage(EventId = 1000, Level = LogLevel.Warning, Message = "Provider {Provider}: {Operation} failed ({Kind}): {Reason}")]
    private static partial void LogCallFailed(ILogger logger, string provider, string operation, HypervisorErrorKind kind, string reason);

    [LoggerMessage(EventId = 1001, Level = LogLevel.Information, Message = "Provider {Provider}: migration {MigrationId} of VM {Vm} from {Source} to {Target} started")]
    private static partial void LogMigrationStarted(ILogger logger, string provider, string vm, string source, string target, string migrationId);
}
