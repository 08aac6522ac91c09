using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using VmEcosystem.Ecosystem;
using VmEcosystem.Forecasting;
using VmEcosystem.Hosting;
using VmEcosystem.Hypervisor;
using VmEcosystem.Planning;
using VmEcosystem.Planning.Predictive;
using VmEcosystem.Runtime;
using VmEcosystem.Simulation;

namespace VmEcosystem.Tests.Hosting;

/// <summary>Every option binds from an appsettings.json section under a Generic Host; bad values stop the start naming their path.</summary>
public sealed class ConfigurationBindingTests
{
    private static readonly string ConfigFolder = Path.Combine(AppContext.BaseDirectory, "Hosting", "Config");

    private static IHost BuildHost(string file)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { ContentRootPath = ConfigFolder, DisableDefaults = true });
        builder.Configuration.AddJsonFile(Path.Combine(ConfigFolder, file), optional: false);
        builder.Services.AddVmEcosystem(builder.Configuration.GetSection("VmEcosystem"), b => b.UseSimulator());
        return builder.Build();
    }

    [Fact]
    public async Task A_generic_host_starts_from_an_appsettings_file_holding_every_section()
    {
        using var host = BuildHost("appsettings.json");
        await host.StartAsync(TestContext.Current.CancellationToken);
        var sp = host.Services;

        Assert.Equal(7, sp.GetRequiredService<IOptions<VmEcosystemOptions>>().Value.Seed);
        var runtime = sp.GetRequiredService<IOptions<RuntimeOptions>>().Value;
        Assert.Equal(ExecutionMode.Approve, runtime.Mode);
        Assert.Equal(ExecutionMode.Automatic, runtime.ModeOf("hot-plug"));
        Assert.Equal(ExecutionMode.Approve, runtime.ModeOf("migrate"));
        Assert.Equal(TimeSpan.FromMinutes(1), runtime.MetricsInterval);
        Assert.Equal(TimeSpan.FromMinutes(2), runtime.PlanningInterval);
        Assert.False(runtime.PlanOnInventoryChange);
        Assert.Equal(0.9, runtime.PlanOnForecastAbove);
        Assert.Equal(BackPressureMode.DropOldest, runtime.ObservationBackPressure);
        Assert.Equal(8, runtime.ObservationQueueCapacity);
        Assert.Equal(2, runtime.MaxConcurrentMigrationsPerHost);
        Assert.Equal(16, runtime.MaxConcurrentMigrationsInCluster);
        Assert.Equal(TimeSpan.FromMinutes(30), runtime.RateWindow);
        Assert.Equal(3, runtime.CallRetries);
        Assert.Equal(TimeSpan.FromMinutes(2), runtime.MaxIterationBackoff);
        Assert.Equal(new DirtyRateEstimateOptions { IdleMiBps = 1, SteadyShare = 0.002, BurstyShare = 0.02 }, runtime.DirtyRateEstimate);
        Assert.Equal(VmEcosystem.Reservations.ReservationMode.Static, runtime.Reservations.Mode);
        Assert.Equal((0.9, TimeSpan.FromMinutes(2), 0.4, 0.18), (runtime.Reservations.Confidence, runtime.Reservations.HoldAfterSwitchOver, runtime.Reservations.Pid.Kp, runtime.Reservations.Pid.Ki));
        Assert.Equal(VmEcosystem.Reservations.SloPriority.Critical, runtime.Reservations.PriorityOf("steady"));
        Assert.Equal(VmEcosystem.Reservations.SloPriority.Critical, runtime.Reservations.PriorityOf("bursty"));

        var planning = sp.GetRequiredService<IOptions<PredictiveOptions>>().Value;
        Assert.Equal(0.95, planning.TargetUtilization);
        Assert.Equal(3, planning.MaxMigrationsPerHost);
        Assert.Equal(TimeSpan.FromHours(3), planning.Hysteresis);
        Assert.Equal(new PredictiveWeights { Energy = 2, Fit = 0.25, Contention = 1.5, Migration = 0.1 }, planning.Weights);
        var forecasting = sp.GetRequiredService<IOptions<PlanningSessionOptions>>().Value;
        Assert.Equal("holt_damped", forecasting.ForecastMethod);
        Assert.Equal(("naive", "ma12"), (forecasting.ForecastMethodByClass["idle"], forecasting.ForecastMethodByClass["bursty"]));
        Assert.Equal(6, forecasting.HorizonTicks);
        Assert.Equal(0.9, forecasting.Confidence);

        var simulator = sp.GetRequiredService<IOptions<SimulatorOptions>>().Value;
        Assert.Equal(30, simulator.HostCount);
        Assert.Equal(InitialPlacementStrategy.FirstFit, simulator.InitialPlacement);
        Assert.Equal(25, simulator.Synthetic.VmCount);
        Assert.Equal(96, simulator.Synthetic.Samples);
        var inventory = await sp.GetRequiredService<IHypervisor>().GetInventoryAsync(TestContext.Current.CancellationToken);
        Assert.Equal(30, inventory.Hosts.Count);
        Assert.Equal(25, inventory.Vms.Count);

        var ecosystem = sp.GetRequiredService<EcosystemSetup>().Options;
        Assert.Equal(2, ecosystem.RequiredWeight);
        Assert.Equal(0.6, ecosystem.FuzzyThreshold);

        // The runtime that started uses them: the configured planner limits and the ecosystem graph.
        var started = sp.GetRequiredService<EcosystemRuntime>();
        Assert.NotNull(started.Ecosystem);
        Assert.Equal(ExecutionMode.Approve, started.Status.Mode);
        var planner = Assert.IsType<MigrationPlanner>(started.Policy);
        Assert.Contains(planner.Limits, l => l.Name == "concurrency(host 3, cluster 500)");
        await host.StopAsync(TestContext.Current.CancellationToken);
    }

    [Fact]
    public async Task A_misconfigured_value_fails_at_start_naming_its_path()
    {
        using var host = BuildHost("misconfigured.json");
        var ex = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync(TestContext.Current.CancellationToken));
        Assert.Contains("VmEcosystem:Runtime:MetricsInterval must be at least 00:00:01 and at most 01:00:00; got 00:00:00.5000000.", ex.Message, StringComparison.Ordinal);
        Assert.Contains("VmEcosystem:Runtime:CallRetries", ex.Message, StringComparison.Ordinal);
        Assert.Contains("VmEcosystem:Runtime:DirtyRateEstimate:SteadyShare must be within [0, 1] (was 2).", ex.Message, StringComparison.Ordinal);
        Assert.Contains("VmEcosystem:Runtime:Reservations:Confidence must be within [0.5, 0.999] (was 1.5).", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_misspelled_setting_fails_at_start_instead_of_being_ignored()
    {
        using var host = BuildHost("misspelled.json");
        var ex = await Assert.ThrowsAnyAsync<InvalidOperationException>(() => host.StartAsync(TestContext.Current.CancellationToken));
        Assert.Contains("MetricInterval", ex.Message, StringComparison.Ordinal);
    }
}
