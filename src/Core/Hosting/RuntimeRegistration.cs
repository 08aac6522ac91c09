using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using VmEcosystem.Ecosystem;
using VmEcosystem.Ecosystem.Declarations;
using VmEcosystem.Ecosystem.Graph;
using VmEcosystem.Hypervisor;
using VmEcosystem.Planning;
using VmEcosystem.Planning.Predictive;
using VmEcosystem.Runtime;
using VmEcosystem.Runtime.Audit;

namespace VmEcosystem.Hosting;

/// <summary>Runtime settings on the builder: policy, audit store, ecosystem declarations, loop and executor options.</summary>
public static class RuntimeBuilderExtensions
{
    /// <summary>Configures the runtime loops and the executor (mode, intervals, limits).</summary>
    public static VmEcosystemBuilder ConfigureRuntime(this VmEcosystemBuilder builder, Action<RuntimeOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configure);
        builder.Services.Configure(configure);
        return builder;
    }

    /// <summary>Plans with <paramref name="factory"/>'s policy instead of the predictive one.</summary>
    public static VmEcosystemBuilder UsePolicy(this VmEcosystemBuilder builder, Func<IServiceProvider, IMigrationPolicy> factory)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(factory);
        builder.Services.RemoveAll<IMigrationPolicy>();
        builder.Services.AddSingleton(factory);
        return builder;
    }

    /// <summary>Writes the audit trail to <paramref name="factory"/>'s store instead of memory.</summary>
    public static VmEcosystemBuilder UseAuditStore(this VmEcosystemBuilder builder, Func<IServiceProvider, IAuditStore> factory)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(factory);
        builder.Services.RemoveAll<IAuditStore>();
        builder.Services.AddSingleton(factory);
        return builder;
    }

    /// <summary>
    /// Uses the ecosystem map: declarations (objects, or files parsed strictly at start) go into a dependency graph
    /// the planner repairs and guards.
    /// </summary>
    public static VmEcosystemBuilder UseEcosystem(this VmEcosystemBuilder builder, Action<EcosystemSetup> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configure);
        var setup = new EcosystemSetup();
        configure(setup);
        setup.Options.Validate();
        builder.Services.RemoveAll<EcosystemSetup>();
        builder.Services.AddSingleton(setup);
        return builder;
    }

    internal static void AddRuntime(VmEcosystemBuilder builder)
    {
        var services = builder.Services;
        services.AddOptions<RuntimeOptions>().BindSection(builder, "Runtime").ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<RuntimeOptions>, RuntimeOptionsValidator>());
        services.AddOptions<PredictiveOptions>().BindSection(builder, "Planning").ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<PredictiveOptions>>(
            new ThrowingValidator<PredictiveOptions>("VmEcosystem:Planning", o => o.Validate())));
        services.AddOptions<PlacementRulesOptions>().BindSection(builder, "PlacementRules").ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<PlacementRulesOptions>>(
            new ThrowingValidator<PlacementRulesOptions>("VmEcosystem:PlacementRules", o =>
            {
                if (o.Validate() is { Count: > 0 } errors)
                {
                    throw new ArgumentException(string.Join(" ", errors));
                }
            })));
        services.AddOptions<PlanningSessionOptions>().BindSection(builder, "Forecasting").ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<PlanningSessionOptions>>(
            new ThrowingValidator<PlanningSessionOptions>("VmEcosystem:Forecasting", o => _ = new PlanningSession(o))));
        if (builder.Section("Ecosystem") is { } ecosystem && ecosystem.Exists())
        {
            // A configured Ecosystem section turns the ecosystem map on, as UseEcosystem(...) does.
            builder.UseEcosystem(setup =>
            {
                ecosystem.Bind(setup.Options);
                foreach (var file in ecosystem.GetSection("DeclarationFiles").Get<string[]>() ?? [])
                {
                    setup.AddFile(file);
                }
            });
        }

        services.TryAddSingleton<IMigrationPolicy>(sp => PredictivePolicy.Create(sp.GetRequiredService<IOptions<PredictiveOptions>>().Value));
        services.TryAddSingleton<IAuditStore>(_ => new InMemoryAuditStore());
        services.TryAddSingleton<VmEcosystem.Messaging.IMessageTransport, VmEcosystem.Messaging.InProcessTransport>(); // the default; UseRabbitMq replaces it
        services.TryAddSingleton<IEcosystemControl>(sp => sp.GetRequiredService<EcosystemRuntime>());
        services.TryAddSingleton(sp =>
        {
            var setup = sp.GetService<EcosystemSetup>();
            return new EcosystemRuntime(
                sp.GetRequiredService<IHypervisor>(),
                sp.GetRequiredService<IMigrationPolicy>(),
                sp.GetRequiredService<IOptions<RuntimeOptions>>(),
                sp.GetRequiredService<TimeProvider>(),
                new RuntimeComponents
                {
                    Audit = sp.GetRequiredService<IAuditStore>(),
                    Random = sp.GetRequiredService<RandomSource>().Create("planner"),
                    Loggers = sp.GetService<ILoggerFactory>(),
                    MeterFactory = sp.GetService<System.Diagnostics.Metrics.IMeterFactory>(),
                    Graph = setup is null ? null : new EcosystemGraph(setup.Options, setup.Topology),
                    Declarations = setup?.Load() ?? [],
                    Constraints = Rules(sp),
                    Session = sp.GetRequiredService<IOptions<PlanningSessionOptions>>().Value,
                    Controllers = [.. sp.GetServices<IRuntimeController>()],
                    ApplicationMetrics = sp.GetRequiredService<ApplicationMetricStore>(),
                    ActionRestorers = [.. sp.GetServices<IPendingActionRestorer>()],
                    LeaderElection = sp.GetService<VmEcosystem.Runtime.Leadership.ILeaderElection>(),
                });
        });
        services.TryAddSingleton(sp => new ApplicationMetricStore(sp.GetRequiredService<TimeProvider>(), sp.GetService<IApplicationMetricsSource>()));
        services.AddHostedService<EcosystemHostedService>();
    }

    // The rules added in code (AddPlacementRules) plus the configured ones; null when there are none.
    private static PlacementConstraints? Rules(IServiceProvider sp)
    {
        var inCode = sp.GetService<PlacementConstraints>();
        var configured = sp.GetRequiredService<IOptions<PlacementRulesOptions>>().Value;
        if (configured.IsEmpty)
        {
            return inCode;
        }

        var rules = inCode ?? new PlacementConstraints();
        configured.ApplyTo(rules);
        return rules;
    }

    /// <summary>Binds the subsection <paramref name="name"/> of the builder's configuration, when there is one; unknown keys are errors.</summary>
    internal static OptionsBuilder<T> BindSection<T>(this OptionsBuilder<T> options, VmEcosystemBuilder builder, string name)
        where T : class
    {
        if (builder.Section(name) is { } section)
        {
            options.Bind(section, o => o.ErrorOnUnknownConfiguration = true);
        }

        return options;
    }
}

/// <summary>Adapts an options type's own <c>Validate()</c> (which throws <see cref="ArgumentException"/>) to start-time validation naming the section.</summary>
internal sealed class ThrowingValidator<T>(string section, Action<T> validate) : IValidateOptions<T>
    where T : class
{
    public ValidateOptionsResult Validate(string? name, T options)
    {
        try
        {
            validate(options);
            return ValidateOptionsResult.Success;
        }
        catch (ArgumentException ex)
        {
            return ValidateOptionsResult.Fail($"{section}: {ex.Message}");
        }
    }
}

/// <summary>Ecosystem settings for the runtime: options, topology and where the declarations come from.</summary>
public sealed class EcosystemSetup
{
    private readonly List<VmDeclaration> _declarations = [];
    private readonly List<string> _files = [];

    /// <summary>Score weights, thresholds, matching.</summary>
    public EcosystemOptions Options { get; } = new();

    /// <summary>Latencies and bandwidths between hosts (null: the default data-centre figures).</summary>
    public Cluster.NetworkTopology? Topology { get; set; }

    /// <summary>Adds declarations.</summary>
    public EcosystemSetup Add(IEnumerable<VmDeclaration> declarations)
    {
        ArgumentNullException.ThrowIfNull(declarations);
        _declarations.AddRange(declarations);
        return this;
    }

    /// <summary>Adds a declaration file (JSON, parsed strictly when the runtime is created; errors stop the start with their JSON paths).</summary>
    public EcosystemSetup AddFile(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        _files.Add(path);
        return this;
    }

    internal IReadOnlyList<VmDeclaration> Load()
    {
        var all = new List<VmDeclaration>(_declarations);
        var parser = new DeclarationParser(Options.Parser, Options.Profiles);
        foreach (var file in _files)
        {
            var result = parser.ParseFile(file);
            if (!result.Success)
            {
                throw new DeclarationException(result.Errors.Select(e => e with { Message = $"{file}: {e.Message}" }).ToList());
            }

            all.AddRange(result.Declarations);
        }

        return all;
    }
}

/// <summary>Runs the <see cref="EcosystemRuntime"/> under a generic host.</summary>
internal sealed class EcosystemHostedService(EcosystemRuntime runtime) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await runtime.StartAsync(stoppingToken).ConfigureAwait(false);
        try
        {
            await Task.Delay(Timeout.Infinite, stoppingToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // Host stopping.
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken).ConfigureAwait(false);
        await runtime.StopAsync(cancellationToken).ConfigureAwait(false);
    }
}
