using System.CommandLine;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using OpenTelemetry.Metrics;
using VmEcosystem.AspNetCore;
using VmEcosystem.ConsoleHost.Serve;
using VmEcosystem.Experiments;
using VmEcosystem.Hosting;
using VmEcosystem.Providers.Libvirt;
using VmEcosystem.Runtime;
using VmEcosystem.Simulation;

namespace VmEcosystem.ConsoleHost.Commands;

/// <summary>
/// `serve`: the daemon: the runtime, the HTTP API, the dashboard, health checks and Prometheus metrics under
/// Kestrel. On the simulator (the multi-tier ecosystem scenario in accelerated virtual time) unless the
/// configuration has a <c>VmEcosystem:Libvirt</c> section.
/// </summary>
internal static class ServeCommand
{
    public static Command Create()
    {
        var urls = new Option<string>("--urls") { Description = "Where Kestrel listens (port 0: any free port; the address is printed).", DefaultValueFactory = _ => "http://127.0.0.1:5080" };
        var config = new Option<FileInfo?>("--config") { Description = "An appsettings.json: sections VmEcosystem (the library) and Serve (API keys)." };
        var speed = new Option<double>("--speed") { Description = "Simulated seconds per real second.", DefaultValueFactory = _ => 30 };
        var mode = new Option<ExecutionMode?>("--mode") { Description = "Execution mode (default: approve, so the dashboard has plans to approve)." };
        var keys = new Option<string[]>("--api-key") { Description = "An API key as KEY=SCOPES (scopes space or comma separated, e.g. vmecosystem.operate). Repeatable." };
        var hours = new Option<int>("--hours") { Description = "Length of the simulated scenario.", DefaultValueFactory = _ => 24 };
        var command = new Command("serve", "Run the runtime with the HTTP API and the live dashboard (simulator by default).")
        {
            urls, config, speed, mode, keys, hours,
        };
        command.SetAction((parse, ct) => CliErrors.RunAsync(async () =>
        {
            double s = parse.GetValue(speed);
            if (!(s > 0) || s > 100_000)
            {
                throw new ArgumentException($"--speed must be above 0 and at most 100000; got {s}.");
            }

            int h = parse.GetValue(hours);
            if (h is < 1 or > 24 * 14)
            {
                throw new ArgumentException($"--hours must be from 1 to 336; got {h}.");
            }

            var app = Build(parse.GetValue(urls)!, parse.GetValue(config), s, parse.GetValue(mode), parse.GetValue(keys) ?? [], h);
            await app.StartAsync(ct);
            var addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses ?? [];
            foreach (var address in addresses)
            {
                CliOutput.Line($"vmeco serve: listening on {address} (dashboard {address}/vmeco/dashboard, metrics {address}/metrics, health {address}/healthz)");
            }

            await CliOutput.Writer.FlushAsync(ct);
            try
            {
                await app.WaitForShutdownAsync(ct);
            }
            catch (OperationCanceledException)
            {
                // Ctrl+C: the host stops below.
            }

            await app.StopAsync(CancellationToken.None);
            await app.DisposeAsync();
            return 0;
        }));
        return command;
    }

    private static WebApplication Build(string urls, FileInfo? config, double speed, ExecutionMode? mode, string[] keys, int hours)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory, Args = [] });
        builder.WebHost.UseUrls(urls);
        if (config is not null)
        {
            if (!config.Exists)
            {
                throw new ArgumentException($"--config: the file '{config.FullName}' does not exist.");
            }

            builder.Configuration.AddJsonFile(config.FullName, optional: false, reloadOnChange: true);
        }

        builder.Configuration.AddEnvironmentVariables("VMECO_");
        builder.Logging.ClearProviders().AddSimpleConsole(o => o.SingleLine = true).SetMinimumLevel(LogLevel.Warning)
            .AddFilter("Microsoft.AspNetCore.DataProtection", LogLevel.Error); // keys of a sample daemon need no encryption at rest
        var apiKeys = ReadKeys(builder.Configuration, keys);
        var jwt = JwtSettings.Read(builder.Configuration.GetSection("Serve:Jwt"));
        ServeAuthentication.Add(builder.Services, apiKeys, jwt);
        if (apiKeys.Count == 0 && jwt is null)
        {
            CliErrors.Warn("no API key (Serve:ApiKeys or --api-key) and no JWT issuer (Serve:Jwt) configured: every API call will be denied.");
        }

        bool onLibvirt = builder.Configuration.GetSection("VmEcosystem:Libvirt").Exists();
        VirtualClock? clock = null;
        EcosystemScenarioSetup? scenario = null;
        if (!onLibvirt)
        {
            scenario = EcosystemScenario.Create(new EcosystemScenarioOptions { Duration = TimeSpan.FromHours(hours) });
            clock = new VirtualClock();
            builder.Services.AddSingleton<TimeProvider>(clock);
        }

        builder.Services.AddVmEcosystem(builder.Configuration.GetSection("VmEcosystem"), b =>
        {
            if (scenario is not null)
            {
                b.UseSimulator(o => o.Scenario = () => scenario.Simulation);
                b.UseEcosystem(e => { e.Topology = scenario.Simulation.Topology; e.Add(scenario.Declarations); });
            }
            else
            {
                b.UseLibvirt();
            }

            b.ConfigureRuntime(r => r.Mode = mode ?? (builder.Configuration.GetSection("VmEcosystem:Runtime:Mode").Exists() ? r.Mode : ExecutionMode.Approve));
            b.AddHttpApi();
        });
        if (clock is not null)
        {
            builder.Services.AddHostedService(sp => new VirtualTimePacer(clock, sp.GetRequiredService<EcosystemRuntime>(),
                sp.GetRequiredService<ISimulatedCluster>(), speed, sp.GetRequiredService<ILogger<VirtualTimePacer>>()));
        }

        builder.Services.AddOpenTelemetry().WithMetrics(m => m.AddVmEcosystemInstrumentation().AddPrometheusExporter());
        var app = builder.Build();
        app.MapGet("/", () => Results.Redirect("/vmeco/dashboard")).ExcludeFromDescription();
        app.MapVmEcosystemApi("/vmeco");
        app.MapHealthChecks("/healthz");
        app.MapPrometheusScrapingEndpoint("/metrics");
        return app;
    }

    private static List<ApiKeyEntry> ReadKeys(IConfiguration configuration, string[] given)
    {
        var keys = configuration.GetSection("Serve:ApiKeys").Get<List<ApiKeyEntry>>() ?? [];
        for (int i = 0; i < keys.Count; i++)
        {
            if (string.IsNullOrWhiteSpace(keys[i].Key) || keys[i].Key.Length < 8)
            {
                throw new ArgumentException($"Serve:ApiKeys:{i}:Key must have at least 8 characters.");
            }
        }

        foreach (var text in given)
        {
            int eq = text.IndexOf('=', StringComparison.Ordinal);
            if (eq < 8)
            {
                throw new ArgumentException("--api-key must be KEY=SCOPES with a key of at least 8 characters.");
            }

            keys.Add(new ApiKeyEntry { Name = $"cli-key-{keys.Count + 1}", Key = text[..eq], Scopes = text[(eq + 1)..].Replace(',', ' ') });
        }

        return keys;
    }
}
