using VmEcosystem.Hypervisor;

namespace VmEcosystem.Runtime;

/// <summary>Provider calls with a timeout on the injected clock and retries of transient failures.</summary>
internal sealed class ProviderCalls(Quiescence quiet, TimeProvider time, RuntimeOptions options)
{
    public async Task<T> CallAsync<T>(string operation, Func<CancellationToken, Task<T>> call, CancellationToken cancellationToken)
    {
        for (int attempt = 1; ; attempt++)
        {
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            var timeout = new CallTimeout(quiet, linked);
            try
            {
                using (time.CreateTimer(static t => ((CallTimeout)t!).Fire(), timeout, options.CallTimeout, Timeout.InfiniteTimeSpan))
                {
                    return await quiet.Waiting(call(linked.Token).WaitAsync(linked.Token)).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException) when (timeout.Fired && !cancellationToken.IsCancellationRequested)
            {
                if (attempt > options.CallRetries)
                {
                    throw new TimeoutException($"{operation} did not answer within {options.CallTimeout} ({attempt} attempts).");
                }
            }
            catch (HypervisorException ex) when (ex.IsTransient && attempt <= options.CallRetries)
            {
                // Retried after a pause.
            }
            finally
            {
                timeout.Done();
            }

            await quiet.DelayAsync(Backoff.Delay(attempt, options.IterationBackoff, options.MaxIterationBackoff), time, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// The timeout of one call. Firing counts the runtime busy until the caller has handled it, so a virtual-clock
    /// driver never sees the runtime idle between a timeout and its handling.
    /// </summary>
    private sealed class CallTimeout(Quiescence quiet, CancellationTokenSource call)
    {
        private readonly Lock _gate = new();
        private bool _done;

        public bool Fired { get; private set; }

        public void Fire()
        {
            lock (_gate)
            {
                if (_done)
                {
                    return;
                }

                Fired = true;
                quiet.Enter();
            }

            try
            {
                call.Cancel();
            }
            catch (ObjectDisposedException)
            {
                // the call finished (and its token source was disposed) between the check above and here: nothing to cancel
            }
        }

        public void Done()
        {
            lock (_gate)
            {
                _done = true;
                if (Fired)
                {
                    quiet.Exit();
                }
            }
        }
    }
}
