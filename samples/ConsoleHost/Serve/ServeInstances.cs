using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Npgsql;
using OpenTelemetry.Metrics;
using VmEcosystem.AspNetCore;
using VmEcosystem.ConsoleHost.Commands;
using VmEcosystem.Experiments;
using VmEcosystem.Hosting;
using VmEcosystem.Hypervisor;
using VmEcosystem.Providers.Libvirt;
using VmEcosystem.Runtime;
using VmEcosystem.Simulation;

namespace VmEcosystem.ConsoleHost.Serve;

/// <summary>What <c>vmeco serve</c> was asked for.</summary>
internal sealed record ServeSettings(string Urls, FileInfo? Config, double Speed, ExecutionMode? Mode, string[] Keys, int Hours)
{
    public int Instances { get; init; } = 1;

    public string? PostgreSql { get; init; }

    public int HostSets { get; init; }

    public double KillLeaderEveryMinutes { get; init; }
}

/// <summary>
/// The daemon's instances: one, or with <c>--instances N</c> several replicas in one process, each with its own
/// runtime, HTTP API and dashboard on its own port and its own connections to one PostgreSQL database, sharing one
/// simulated cluster and one virtual clock (what N replicas of a control plane on one estate look like). They elect a
/// leader (or, with <c>--host-sets</c>, shard the host sets) through the database.
/// </summary>
internal sealed class ServeInstances : IAsyncDisposable
{
    private readonly List<WebApplication> _apps = [];
    private readonly ServiceProvider? _cluster;
    private readonly VirtualClock? _clock;
    private readonly ServeSettings _settings;
    private CancellationTokenSource? _pacing;
    private NpgsqlDataSource? _chaos;
    private Task? _pacer;

    private ServeInstances(ServeSettings settings, ServiceProvider? cluster, VirtualClock? clock)
    {
        _settings = settings;
        _cluster = cluster;
        _clock = clock;
    }

    public IReadOnlyList<WebApplication> Apps => _apps;

    public static ServeInstances Build(ServeSettings settings)
    {
        var configuration = ReadConfiguration(settings.Config);
        bool onLibvirt = configuration.GetSection("VmEcosystem:Libvirt").Exists();
        string? postgres = settings.PostgreSql ?? configuration["VmEcosystem:PostgreSql:ConnectionString"];
        if (settings.Instances > 1 && (onLibvirt || postgres is null))
        {
            throw new ArgumentException(onLibvirt
                ? "--instances runs replicas on the simulator; on libvirt run one `vmeco serve` per replica with the same VmEcosystem:PostgreSql settings."
                : "--instances above 1 needs --postgres (or VmEcosystem:PostgreSql:ConnectionString): the instances elect their leader there.");
        }

        ServiceProvider? cluster = null;
        VirtualClock? clock = null;
        EcosystemScenarioSetup? scenario = null;
        if (!onLibvirt)
        {
            // One simulated cluster and one clock for every instance, as one estate under several replicas.
            scenario = EcosystemScenario.Create(new EcosystemScenarioOptions { Duration = TimeSpan.FromHours(settings.Hours) });
            clock = new VirtualClock();
            cluster = new ServiceCollection().AddSingleton<TimeProvider>(clock)
                .AddVmEcosystem(b => b.UseSimulator(o => { o.Scenario = () => scenario.Simulation; o.HostSets = settings.HostSets; }))
                .BuildServiceProvider();
        }

        var served = new ServeInstances(settings, cluster, clock);
        for (int i = 0; i < settings.Instances; i++)
        {
            served._apps.Add(served.BuildOne(i, postgres, scenario));
        }

        return served;
    }

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        foreach (var app in _apps)
        {
            await app.StartAsync(cancellationToken);
        }

        if (_clock is not null && _cluster is not null)
        {
            var runtimes = _apps.Select(a => a.Services.GetRequiredService<EcosystemRuntime>()).ToList();
            var logger = _apps[0].Services.GetRequiredService<ILoggerFactory>().CreateLogger<VirtualTimePacer>();
            var pacer = new VirtualTimePacer(_clock, runtimes, _cluster.GetRequiredService<ISimulatedCluster>(), _settings.Speed, logger)
            {
                AfterStep = _settings.KillLeaderEveryMinutes > 0 ? LeaderKiller(_clock.GetUtcNow(), logger) : null,
            };
            _pacing = new CancellationTokenSource();
            _pacer = Task.Run(() => pacer.RunAsync(_pacing.Token), CancellationToken.None);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_pacing is not null)
        {
            await _pacing.CancelAsync();
            try
            {
                await _pacer!;
            }
            catch (OperationCanceledException)
            {
                // stopped
            }

            _pacing.Dispose();
        }

        foreach (var app in _apps)
        {
            await app.StopAsync(CancellationToken.None);
            await app.DisposeAsync();
        }

        if (_cluster is not null)
        {
            await _cluster.DisposeAsync();
        }

        if (_chaos is not null)
        {
            await _chaos.DisposeAsync();
        }
    }

    private static IConfiguration ReadConfiguration(FileInfo? config)
    {
        var builder = new ConfigurationBuilder();
        if (config is not null)
        {
            if (!config.Exists)
            {
                throw new ArgumentException($"--config: the file '{config.FullName}' does not exist.");
            }

            builder.AddJsonFile(config.FullName, optional: false, reloadOnChange: false);
        }

        return builder.AddEnvironmentVariables("VMECO_").Build();
    }

    private WebApplication BuildOne(int index, string? postgres, EcosystemScenarioSetup? scenario)
    {
        var s = _settings;
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory, Args = [] });
        builder.WebHost.UseUrls(UrlOf(s.Urls, index));
        if (s.Config is not null)
        {
            builder.Configuration.AddJsonFile(s.Config.FullName, optional: false, reloadOnChange: true);
        }

        builder.Configuration.AddEnvironmentVariables("VMECO_");
        builder.Logging.ClearProviders().AddSimpleConsole(o => o.SingleLine = true).SetMinimumLevel(LogLevel.Warning)
            .AddFilter("Microsoft.AspNetCore.DataProtection", LogLevel.Error); // keys of a sample daemon need no encryption at rest
        var apiKeys = ServeCommand.ReadKeys(builder.Configuration, s.Keys);
        var jwt = JwtSettings.Read(builder.Configuration.GetSection("Serve:Jwt"));
        ServeAuthentication.Add(builder.Services, apiKeys, jwt);
        if (index == 0 && apiKeys.Count == 0 && jwt is null)
        {
            CliErrors.Warn("no API key (Serve:ApiKeys or --api-key) and no JWT issuer (Serve:Jwt) configured: every API call will be denied.");
        }

        if (_clock is not null)
        {
            builder.Services.AddSingleton<TimeProvider>(_clock);
        }

        builder.Services.AddVmEcosystem(builder.Configuration.GetSection("VmEcosystem"), b =>
        {
            if (scenario is not null)
            {
                var simulator = _cluster!.GetRequiredService<IHypervisor>();
                b.UseProvider("simulator", _ => simulator);
                b.UseEcosystem(e => { e.Topology = scenario.Simulation.Topology; e.Add(scenario.Declarations); });
            }
            else
            {
                b.UseLibvirt();
            }

            if (postgres is not null)
            {
                b.UsePostgreSql(postgres, o => o.LeaderElection |= s.Instances > 1);
            }

            b.ConfigureRuntime(r =>
            {
                r.Mode = s.Mode ?? (builder.Configuration.GetSection("VmEcosystem:Runtime:Mode").Exists() ? r.Mode : ExecutionMode.Approve);
                if (s.Instances > 1)
                {
                    r.Leadership.Instance = $"serve-{index + 1}";
                    r.Leadership.ShardByHostSet |= s.HostSets > 0;
                }
            });
            b.AddHttpApi();
        });
        builder.Services.AddOpenTelemetry().WithMetrics(m => m.AddVmEcosystemInstrumentation().AddPrometheusExporter());
        var app = builder.Build();
        app.MapGet("/", () => Results.Redirect("/vmeco/dashboard")).ExcludeFromDescription();
        app.MapVmEcosystemApi("/vmeco");
        app.MapHealthChecks("/healthz");
        app.MapPrometheusScrapingEndpoint("/metrics");
        return app;
    }

    // Instance i listens on the given port + i (port 0: any free port each).
    private static string UrlOf(string urls, int index)
    {
        if (index == 0)
        {
            return urls;
        }

        var uri = new Uri(urls.Split(';')[0]);
        return new UriBuilder(uri) { Port = uri.Port == 0 ? 0 : uri.Port + index }.Uri.ToString().TrimEnd('/');
    }

    // The demo's chaos: every so many simulated minutes, the lock connections of the instance leading the first scope are
    // killed in the database (as a crash or a network cut would), and another instance takes over.
    private Func<DateTimeOffset, CancellationToken, Task> LeaderKiller(DateTimeOffset start, ILogger logger)
    {
        var every = TimeSpan.FromMinutes(_settings.KillLeaderEveryMinutes);
        var next = start + every;
        string schema = _apps[0].Services.GetRequiredService<IConfiguration>()["VmEcosystem:PostgreSql:Schema"] ?? "vmeco";
        var source = _chaos = NpgsqlDataSource.Create(_settings.PostgreSql ?? _apps[0].Services.GetRequiredService<IConfiguration>()["VmEcosystem:PostgreSql:ConnectionString"]!);
        return async (now, ct) =>
        {
            if (now < next)
            {
                return;
            }

            next = now + every;
            await using var command = source.CreateCommand($"""
                SELECT holder, count(pg_terminate_backend(holder_pid)) FROM {schema}.lease
                WHERE holder = (SELECT holder FROM {schema}.lease WHERE scope NOT LIKE '%#members/%' AND expires > @now ORDER BY scope LIMIT 1)
                GROUP BY holder
                """);
            command.Parameters.AddWithValue("now", now.UtcTicks);
            await using var reader = await command.ExecuteReaderAsync(ct);
            if (await reader.ReadAsync(ct))
            {
                logger.LogWarning("Chaos at {Now:O}: killed the {Count} lock connections of {Holder}; another instance takes over", now, reader.GetInt64(1), reader.GetString(0));
            }
        };
    }
}
