using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using VmEcosystem.Runtime.Tuning;

namespace VmEcosystem.Hosting;

/// <summary>Registers tuning runs and their evaluators.</summary>
public static class TuningBuilderExtensions
{
    /// <summary>
    /// Adds the tuning service: <see cref="ITuningRuns"/> starts genetic tuning runs over a search space (JSON or
    /// YAML), measured by a registered <see cref="ITuningEvaluator"/>, in the background; every run is recorded in the
    /// audit trail, checkpointed after each generation and resumed after a restart. Settings from
    /// <c>VmEcosystem:Tuning</c>, then <paramref name="configure"/>; validated at start.
    /// </summary>
    public static VmEcosystemBuilder AddConfigurationTuning(this VmEcosystemBuilder builder, Action<TuningServiceOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var options = builder.Services.AddOptions<TuningServiceOptions>().ValidateOnStart();
        if (builder.Section("Tuning") is { } section)
        {
            options.Bind(section, o => o.ErrorOnUnknownConfiguration = true);
        }

        if (configure is not null)
        {
            options.Configure(configure);
        }

        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<TuningServiceOptions>, TuningServiceOptionsValidator>());
        builder.Services.TryAddSingleton<TuningRunService>();
        builder.Services.TryAddSingleton<ITuningRuns>(sp => sp.GetRequiredService<TuningRunService>());
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, TuningRunService>(sp => sp.GetRequiredService<TuningRunService>()));
        return builder;
    }

    /// <summary>Registers <typeparamref name="TEvaluator"/> as the tuning evaluator named <paramref name="name"/> (a request's <c>Evaluator</c>).</summary>
    public static VmEcosystemBuilder AddTuningEvaluator<TEvaluator>(this VmEcosystemBuilder builder, string name)
        where TEvaluator : class, ITuningEvaluator
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrEmpty(name);
        builder.Services.AddKeyedSingleton<ITuningEvaluator, TEvaluator>(name);
        return builder;
    }

    /// <summary>Registers <paramref name="factory"/>'s evaluator as the tuning evaluator named <paramref name="name"/>.</summary>
    public static VmEcosystemBuilder AddTuningEvaluator(this VmEcosystemBuilder builder, string name, Func<IServiceProvider, ITuningEvaluator> factory)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(factory);
        builder.Services.AddKeyedSingleton(name, (sp, _) => factory(sp));
        return builder;
    }

    /// <summary>
    /// Registers the simulated application (a documented performance model of a JVM-style web service) as the tuning
    /// evaluator named <paramref name="name"/>: settings <c>vcpus</c>, <c>memoryGiB</c>, <c>threads</c>,
    /// <c>cacheMiB</c>, <c>gc</c>, <c>compression</c>; metrics <c>throughput</c>, <c>latencyMs</c>, <c>cost</c>,
    /// <c>availability</c>.
    /// </summary>
    public static VmEcosystemBuilder AddSimulatedTuningEvaluator(this VmEcosystemBuilder builder, string name = "simulated") =>
        builder.AddTuningEvaluator(name, _ => new SimulatedTuningEvaluator());

    /// <summary>
    /// Registers a benchmark-command evaluator named <paramref name="name"/>: a real program (sysbench by default
    /// format) run with the configuration's settings, after the settings that map onto the test VM are applied to it
    /// through the provider. Settings from <c>VmEcosystem:Tuning:Evaluators:&lt;name&gt;</c>, then
    /// <paramref name="configure"/>; checked when the evaluator is first used, each message naming the setting.
    /// </summary>
    public static VmEcosystemBuilder AddBenchmarkTuningEvaluator(this VmEcosystemBuilder builder, string name, Action<BenchmarkTuningEvaluatorOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrEmpty(name);
        var section = builder.Section($"Tuning:Evaluators:{name}");
        return builder.AddTuningEvaluator(name, sp =>
        {
            var options = new BenchmarkTuningEvaluatorOptions();
            if (section is not null && Microsoft.Extensions.Configuration.ConfigurationExtensions.Exists(section))
            {
                Microsoft.Extensions.Configuration.ConfigurationBinder.Bind(section, options, o => o.ErrorOnUnknownConfiguration = true);
            }

            configure?.Invoke(options);
            if (string.IsNullOrWhiteSpace(options.FileName))
            {
                throw new OptionsValidationException(name, typeof(BenchmarkTuningEvaluatorOptions),
                    [$"VmEcosystem:Tuning:Evaluators:{name}:FileName must name the benchmark program (sysbench, ssh, ...)."]);
            }

            return new BenchmarkTuningEvaluator(sp.GetRequiredService<VmEcosystem.Hypervisor.IHypervisor>(), options);
        });
    }
}

/// <summary>Checks <see cref="TuningServiceOptions"/>; every message names the setting.</summary>
internal sealed class TuningServiceOptionsValidator : IValidateOptions<TuningServiceOptions>
{
    public ValidateOptionsResult Validate(string? name, TuningServiceOptions o)
    {
        var errors = new List<string>();
        if (o.MaxConcurrentRuns is < 1 or > 64)
        {
            errors.Add($"VmEcosystem:Tuning:MaxConcurrentRuns must be between 1 and 64; got {o.MaxConcurrentRuns}.");
        }

        if (o.MaxRuns is < 1 or > 100_000)
        {
            errors.Add($"VmEcosystem:Tuning:MaxRuns must be between 1 and 100000; got {o.MaxRuns}.");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
