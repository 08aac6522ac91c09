using VmEcosystem.Hypervisor;
using VmEcosystem.Providers.Libvirt.Native;

namespace VmEcosystem.Providers.Libvirt;

/// <summary>Native calls: bounded in time and in threads per host, on reopened connections, with lost connections detected.</summary>
internal sealed partial class LibvirtHypervisor
{
    /// <summary>
    /// Runs a blocking libvirt call on a worker, waiting at most <see cref="LibvirtOptions.CallTimeout"/>. A native call
    /// cannot be interrupted, so each holds one of the host's <see cref="LibvirtOptions.MaxCallsPerHost"/> slots until
    /// it really returns: calls that hang never tie up more threads than that, and a retry after a timeout waits for a
    /// slot instead of blocking one more thread.
    /// </summary>
    internal async Task<T> OnHostAsync<T>(LibvirtConnection c, CancellationToken ct, Func<ConnectionHandle, T> call)
    {
        var timeout = _options.CallTimeout;
        if (!await c.Calls.WaitAsync(timeout, ct).ConfigureAwait(false))
        {
            throw new HypervisorException(HypervisorErrorKind.Timeout,
                $"libvirt host '{c.Host}' has {_options.MaxCallsPerHost} calls still running (MaxCallsPerHost); none finished within {timeout} (CallTimeout).");
        }

        var work = Task.Run(() =>
        {
            try
            {
                ct.ThrowIfCancellationRequested();
                return OnHost(c, call);
            }
            finally
            {
                c.Calls.Release();
            }
        }, CancellationToken.None);
        try
        {
            return await work.WaitAsync(timeout, ct).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            _ = work.ContinueWith(t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
            throw new HypervisorException(HypervisorErrorKind.Timeout, $"libvirt host '{c.Host}' did not answer within {timeout} (CallTimeout).");
        }
    }

    private T OnHost<T>(LibvirtConnection c, Func<ConnectionHandle, T> call)
    {
        var h = c.Acquire();
        int generation = c.Generation;
        if (_seenGeneration.TryGetValue(c.Host, out int seen) && seen != generation)
        {
            PublishInventoryChange(new InventoryResyncRequired($"The connection to libvirt host '{c.Host}' was reopened; events may have been missed.")
            {
                Timestamp = TimeProvider.GetUtcNow(),
            });
        }

        _seenGeneration[c.Host] = generation;
        try
        {
            return call(h);
        }
        catch (HypervisorException ex) when (ex.InnerException is LibvirtException le && LibvirtErrors.MeansConnectionLost(le.Code) && !c.IsAlive(h))
        {
            c.Invalidate(h);
            throw new HypervisorException(HypervisorErrorKind.Unavailable,
                $"The connection to libvirt host '{c.Host}' was lost: {le.Message} ({le.CodeName})", nativeCode: le.CodeName, innerException: le);
        }
    }
}
