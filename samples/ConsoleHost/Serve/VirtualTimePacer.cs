using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using VmEcosystem.Runtime;
using VmEcosystem.Simulation;

namespace VmEcosystem.ConsoleHost.Serve;

/// <summary>
/// Moves the simulator's virtual clock at <c>speed</c> times real time, one timer at a time and waiting until the
/// runtime is idle after each (as <see cref="SimulatedRuntime"/> does), so the served simulation behaves like the
/// batch one, only watchable. Stops at the scenario's end.
/// </summary>
internal sealed partial class VirtualTimePacer(VirtualClock clock, EcosystemRuntime runtime, ISimulatedCluster simulation, double speed, ILogger<VirtualTimePacer> logger)
    : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var started = clock.GetUtcNow();
        var real = System.Diagnostics.Stopwatch.StartNew();
        var end = simulation.EndsAt;
        while (!stoppingToken.IsCancellationRequested)
        {
            await Task.Delay(50, stoppingToken).ConfigureAwait(false);
            if (!runtime.Status.Running)
            {
                real.Restart(); // the runtime is starting: virtual time waits for it
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
                await runtime.WhenIdleAsync(stoppingToken).ConfigureAwait(false);
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
