using VmEcosystem.Runtime;

namespace VmEcosystem.Simulation;

/// <summary>Progress of a simulated run through the runtime.</summary>
/// <param name="Now">Clock time.</param>
/// <param name="Share">Share of the scenario done, 0..1.</param>
/// <param name="Status">The runtime's counters.</param>
public readonly record struct SimulatedRunProgress(DateTimeOffset Now, double Share, RuntimeStatus Status);

/// <summary>
/// Drives a runtime on the simulator with a <see cref="VirtualClock"/>: starts it, advances the clock timer by
/// timer (waiting until the runtime is idle after each, so every tick is observed, planned and executed before
/// time moves on), stops after the scenario's last tick, completes the migrations still running, reports a last time
/// (before stopping the runtime) and returns the simulation's figures. A day runs in seconds and the same way every time.
/// </summary>
public static class SimulatedRuntime
{
    /// <summary>Runs the scenario to its end.</summary>
    /// <param name="runtime">The runtime (not started).</param>
    /// <param name="clock">The virtual clock the runtime and the simulator use.</param>
    /// <param name="simulation">The simulated cluster.</param>
    /// <param name="progress">Called every 30 simulated minutes and once at the end (with the loops still running).</param>
    /// <param name="cancellationToken">Stops the run.</param>
    /// <param name="operatorStep">
    /// Called whenever the runtime is idle, before time moves on: an operator's chance to act (approve pending
    /// plans, put hosts in maintenance). The runtime is waited idle again after it.
    /// </param>
    public static async Task<SimulationSummary> RunAsync(
        EcosystemRuntime runtime,
        VirtualClock clock,
        ISimulatedCluster simulation,
        Action<SimulatedRunProgress>? progress = null,
        CancellationToken cancellationToken = default,
        Func<EcosystemRuntime, CancellationToken, Task>? operatorStep = null)
    {
        ArgumentNullException.ThrowIfNull(runtime);
        ArgumentNullException.ThrowIfNull(clock);
        ArgumentNullException.ThrowIfNull(simulation);
        var start = clock.GetUtcNow();
        var end = simulation.EndsAt;
        await runtime.StartAsync(cancellationToken).ConfigureAwait(false);
        await runtime.WhenIdleAsync(cancellationToken).ConfigureAwait(false);
        var lastReport = start;
        while (clock.NextDue is { } due && due <= end)
        {
            cancellationToken.ThrowIfCancellationRequested();
            clock.AdvanceToNextTimer();
            await runtime.WhenIdleAsync(cancellationToken).ConfigureAwait(false);
            if (operatorStep is not null)
            {
                await operatorStep(runtime, cancellationToken).ConfigureAwait(false);
                await runtime.WhenIdleAsync(cancellationToken).ConfigureAwait(false);
            }
            if (progress is not null && clock.GetUtcNow() - lastReport >= TimeSpan.FromMinutes(30))
            {
                lastReport = clock.GetUtcNow();
                progress(new SimulatedRunProgress(lastReport, Math.Clamp((lastReport - start) / (end - start), 0, 1), runtime.Status));
            }
        }

        // Migrations still running after the last tick complete in the engine; their handlers then record them.
        var summary = simulation.Finish();
        await runtime.WhenIdleAsync(cancellationToken).ConfigureAwait(false);
        progress?.Invoke(new SimulatedRunProgress(clock.GetUtcNow(), 1, runtime.Status)); // the last report, with the loops still running
        await runtime.StopAsync(cancellationToken).ConfigureAwait(false);
        return summary;
    }

    /// <summary>
    /// Moves <paramref name="clock"/> timer by timer up to <paramref name="until"/>, waiting until the runtime is idle
    /// after each, so everything due in that span is observed, planned and executed in order.
    /// </summary>
    public static async Task AdvanceAsync(EcosystemRuntime runtime, VirtualClock clock, DateTimeOffset until, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(runtime);
        ArgumentNullException.ThrowIfNull(clock);
        await runtime.WhenIdleAsync(cancellationToken).ConfigureAwait(false);
        while (clock.NextDue is { } due && due <= until)
        {
            clock.AdvanceToNextTimer();
            await runtime.WhenIdleAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Stops the runtime while keeping <paramref name="clock"/> moving: stopping awaits running migrations and its
    /// deadlines on the clock, which would otherwise never pass.
    /// </summary>
    public static async Task StopAsync(EcosystemRuntime runtime, VirtualClock clock, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(runtime);
        ArgumentNullException.ThrowIfNull(clock);
        var stopping = runtime.StopAsync(cancellationToken);
        while (!stopping.IsCompleted)
        {
            clock.AdvanceToNextTimer();
            await Task.WhenAny(stopping, Task.Delay(1, cancellationToken)).ConfigureAwait(false);
        }

        await stopping.ConfigureAwait(false);
    }
}
