using VmEcosystem.Cluster;
using VmEcosystem.Hypervisor;

namespace VmEcosystem.Runtime;

/// <summary>Requested actions: the runtime is the application's <see cref="IEcosystemControl"/>.</summary>
public sealed partial class EcosystemRuntime : IEcosystemControl
{
    /// <inheritdoc />
    public Task<ActionRequest> RequestMigrationAsync(VmId vm, HostId? target = null, string? reason = null, CancellationToken cancellationToken = default) =>
        _requests.MigrateAsync(vm, target, reason, cancellationToken);

    /// <inheritdoc />
    public Task<ActionRequest> RequestHotPlugAsync(VmId vm, HotPlugRequest request, string? reason = null, CancellationToken cancellationToken = default) =>
        _requests.HotPlugAsync(vm, request, reason, cancellationToken);

    /// <inheritdoc />
    public Task<ActionRequest?> GetRequestAsync(string requestId, CancellationToken cancellationToken = default) =>
        _requests.GetAsync(requestId, cancellationToken);

    /// <inheritdoc />
    public Task<bool> CancelRequestAsync(string requestId, CancellationToken cancellationToken = default) =>
        _requests.CancelAsync(requestId, cancellationToken);
}
