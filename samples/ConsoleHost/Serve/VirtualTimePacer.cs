using Microsoft.Extensions.Logging;
using VmEcosystem.Runtime;
using VmEcosystem.Simulation;

namespace VmEcosystem.ConsoleHost.Serve;

/// <summary>
/// Moves the simulator's virtual clock at <c>speed</c> times real time, one timer at a time and waiting until every
/// runtime on it is idle after each (as <see cref="SimulatedRuntime"/> does), so the served simulation behaves like the
/// batch one, only watchable. Stops at the scenario's end. Several runtimes (<c>serve --instances</c>) share one
/// simulated cluster and one clock.
/// </summary>
internal sealed partial class VirtualTimePacer(VirtualClock clock, IReadOnlyList<EcosystemRuntime> runtimes, ISimulatedCluster simulation, double speed, ILogger logger)
{
    /// <summary>Called after every step with the virtual time (for the demo's chaos, for example).</summary>
    public Func<DateTimeOffset, CancellationToken, Task>? AfterStep { get; init; }

    public async Task RunAsync(CancellationToken stoppingToken)
    {
        var started = clock.GetUtcNow();
        var real = System.Diagnostics.Stopwatch.StartNew();
        var end = simulation.EndsAt;
        while (!stoppingToken.IsCancellationRequested)
        {
            await Task.Delay(50, stoppingToken).ConfigureAwait(false);
            if (!runtimes.All(r => r.Status.Running))
            {
                real.Restart(); // a runtime is starting: virtual time waits for it
                started = clock.GetUtcNow();
                continue;
            }

            var target = started + real.Elapsed * speed;
            if (target > end)
            {
                target = end;
            }

            while (clock.NextDue is { } due && due <= target && !stoppingToken.IsCancellationRequested)
            {
                clock.AdvanceToNextTimer();
                foreach (var runtime in runtimes)
                {
                    await runtime.WhenIdleAsync(stoppingToken).ConfigureAwait(false);
                }

                if (AfterStep is { } after)
                {
                    await after(clock.GetUtcNow(), stoppingToken).ConfigureAwait(false);
                }
            }

            if (clock.GetUtcNow() < target && (clock.NextDue is not { } next || next > target))
            {
                clock.AdvanceTo(target); // no timer is due before the target: only the time of day moves
            }

            if (target >= end)
            {
                Log.Ended(logger, end);
                return;
            }
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 1, Level = LogLevel.Information, Message = "The simulated scenario ended at {End}; the API keeps serving its last state")]
        public static partial void Ended(ILogger logger, DateTimeOffset end);
    }
}
