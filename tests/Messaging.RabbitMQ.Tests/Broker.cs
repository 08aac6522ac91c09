using System.Diagnostics;
using VmEcosystem.Cluster;
using VmEcosystem.Simulation;

namespace VmEcosystem.Messaging.RabbitMQ.Tests;

/// <summary>The private broker of setup-rabbitmq.sh: started once for the tests (the script is idempotent), restarted by the restart test.</summary>
public sealed class Broker : IAsyncLifetime
{
    public Uri Uri { get; private set; } = null!;

    private string? _unavailable;

    public async ValueTask InitializeAsync()
    {
        try
        {
            Uri = new Uri((await RunAsync("start")).Trim().Split('\n')[^1]);
        }
        catch (Exception ex) when (ex is InvalidOperationException or System.ComponentModel.Win32Exception or UriFormatException)
        {
            _unavailable = ex.Message;
        }
    }

    /// <summary>Skips the test when no broker could be started, except in CI (VMECO_REQUIRE_RABBITMQ=1), where that fails it.</summary>
    public void Require()
    {
        if (_unavailable is null)
        {
            return;
        }

        Assert.True(Environment.GetEnvironmentVariable("VMECO_REQUIRE_RABBITMQ") != "1", $"RabbitMQ is required here: {_unavailable}");
        Assert.Skip($"no RabbitMQ broker: {_unavailable}");
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask; // .ci/run and the developer stop it (setup-rabbitmq.sh stop)

    /// <summary>Runs the setup script with <paramref name="verb"/> (start, stop) and returns its output.</summary>
    public static async Task<string> RunAsync(string verb)
    {
        var script = Path.Combine(AppContext.BaseDirectory, "setup-rabbitmq.sh");
        using var process = Process.Start(new ProcessStartInfo("bash", [script, verb]) { RedirectStandardOutput = true, RedirectStandardError = true })!;
        string output = await process.StandardOutput.ReadToEndAsync();
        string error = await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        return process.ExitCode == 0 ? output : throw new InvalidOperationException($"setup-rabbitmq.sh {verb} failed ({process.ExitCode}): {error}");
    }

    /// <summary>A transport of its own on the broker, with queues no other test uses.</summary>
    public RabbitMqTransport Transport(string prefix, int maxAttempts = 5) =>
        new(new RabbitMqOptions { Uri = Uri, QueuePrefix = prefix, MaxAttempts = maxAttempts, ReconnectInterval = TimeSpan.FromMilliseconds(500), PublishTimeout = TimeSpan.FromSeconds(90) });

    /// <summary>A simulator with <paramref name="count"/> VMs of 2 vCPUs and 2 GiB on one host.</summary>
    internal static SimulatorHypervisor Simulator(int count)
    {
        var host = new HostInfo(new HostId("h0"), new ResourceVector(64, 64 * 2000, 262144, 10000, 1000)) { PowerModel = SpecPowerModel.HpProLiantMl110G5 };
        var vms = Enumerable.Range(0, count).Select(i => new SimulatedVm(
            new VmInfo(new VmId($"vm-{i}"), new ResourceVector(2, 4000, 2048)) { MaxAllocation = new ResourceVector(8, 16000, 16384) },
            new DemandTrace($"vm-{i}", Enumerable.Repeat(0.2, 12).ToArray(), 300))).ToArray();
        return new SimulatorHypervisor(new SimulatorOptions { Scenario = () => new SimulationScenario("mq", [host], vms, SimulationModel.Realistic with { DurationSeconds = 3600 }) }, new VirtualClock());
    }
}

[CollectionDefinition("broker")]
public sealed class BrokerCollection : ICollectionFixture<Broker>;
