using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Primitives;
using VmEcosystem.Adjustment;
using VmEcosystem.Policies;
using VmEcosystem.Runtime;

namespace VmEcosystem.Hosting;

/// <summary>Registers resizing policies.</summary>
public static class ResizingBuilderExtensions
{
    /// <summary>
    /// Loads resizing policies into a <see cref="ResizePolicyStore"/> (a singleton) from the file named by
    /// <see cref="ResizingOptions.PolicyFile"/> or, without one, from the policies written inline in configuration
    /// under <c>VmEcosystem:Resizing:Policies</c> (the same objects as the document's <c>policies</c> array); validated
    /// at start (every error with its JSON path or configuration key) and reloaded when the file or the configuration
    /// changes (<see cref="ResizingOptions.Watch"/>); every version is kept in the store. Adds the runtime's
    /// <c>resizing</c> controller, which resizes VMs under the policies through the shared executor.
    /// </summary>
    public static VmEcosystemBuilder UseResizingPolicies(this VmEcosystemBuilder builder, Action<ResizingOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var options = builder.Services.AddOptions<ResizingOptions>().ValidateOnStart();
        if (builder.Section("Resizing") is { } section)
        {
            // strict like every other section, except for the inline policies, which the policy parser reads
            options.Configure(o => new ConfigurationBuilder()
                .AddInMemoryCollection(section.AsEnumerable(makePathsRelative: true)
                    .Where(kv => kv.Value is not null && !kv.Key.Split(':')[0].Equals("Policies", StringComparison.OrdinalIgnoreCase)))
                .Build()
                .Bind(o, b => b.ErrorOnUnknownConfiguration = true));
        }

        if (configure is not null)
        {
            options.Configure(configure);
        }

        var inline = builder.Section("Resizing:Policies");
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<ResizingOptions>>(new ResizingOptionsValidator(inline)));
        builder.Services.TryAddSingleton(sp => new PolicySource(
            sp.GetRequiredService<IOptions<ResizingOptions>>().Value,
            inline,
            sp.GetRequiredService<TimeProvider>(),
            sp.GetService<ILogger<PolicySource>>() ?? NullLogger<PolicySource>.Instance));
        builder.Services.TryAddSingleton(sp => sp.GetRequiredService<PolicySource>().Store);
        return builder.AddController<ResizingController>();
    }
}

/// <summary>Checks the policies at start: a file or inline policies, which must parse; the message names the setting and every error.</summary>
internal sealed class ResizingOptionsValidator(IConfigurationSection? inline) : IValidateOptions<ResizingOptions>
{
    public ValidateOptionsResult Validate(string? name, ResizingOptions options)
    {
        if (options.Validate() is { Count: > 0 } errors)
        {
            return ValidateOptionsResult.Fail(errors);
        }

        bool hasInline = inline?.Exists() == true;
        if (string.IsNullOrWhiteSpace(options.PolicyFile) && !hasInline)
        {
            return ValidateOptionsResult.Fail(
                $"VmEcosystem:Resizing:PolicyFile (the path of a policy document) or {PolicyConfiguration.SectionPath} (policies inline) is required.");
        }

        if (!string.IsNullOrWhiteSpace(options.PolicyFile) && hasInline)
        {
            return ValidateOptionsResult.Fail(
                $"VmEcosystem:Resizing:PolicyFile and {PolicyConfiguration.SectionPath} are both set: keep one source of policies.");
        }

        var result = PolicySource.LoadInto(new ResizePolicyStore(), options, inline);
        return result.Success
            ? ValidateOptionsResult.Success
            : ValidateOptionsResult.Fail(hasInline
                ? string.Join("; ", result.Errors.Take(10))
                : $"VmEcosystem:Resizing:PolicyFile '{options.PolicyFile}': {string.Join("; ", result.Errors.Take(10))}");
    }
}

/// <summary>
/// Loads the policies (the file, or the inline configuration) into a store and, when asked, reloads them on every
/// change of the file or of the configuration.
/// </summary>
internal sealed partial class PolicySource : IDisposable
{
    private readonly ResizingOptions _options;
    private readonly IConfigurationSection? _inline;
    private readonly string _source;
    private readonly ILogger _logger;
    private readonly FileSystemWatcher? _watcher;
    private readonly IDisposable? _configurationWatch;

    public PolicySource(ResizingOptions options, IConfigurationSection? inline, TimeProvider time, ILogger logger)
    {
        _options = options;
        _logger = logger;
        bool fromFile = !string.IsNullOrWhiteSpace(options.PolicyFile);
        _inline = fromFile || inline?.Exists() != true ? null : inline;
        if (!fromFile && _inline is null)
        {
            throw new ArgumentException($"VmEcosystem:Resizing:PolicyFile or {PolicyConfiguration.SectionPath} is required.", nameof(options));
        }

        _source = fromFile ? Path.GetFullPath(options.PolicyFile!) : PolicyConfiguration.SectionPath;
        Store = new ResizePolicyStore(time);
        Reload();
        if (!options.Watch)
        {
            return;
        }

        if (_inline is not null)
        {
            _configurationWatch = ChangeToken.OnChange(_inline.GetReloadToken, Reload);
            return;
        }

        _watcher = new FileSystemWatcher(Path.GetDirectoryName(_source)!, Path.GetFileName(_source))
        {
            NotifyFilter = NotifyFilters.LastWrite | NotifyFilters.FileName | NotifyFilters.Size | NotifyFilters.CreationTime,
        };
        _watcher.Changed += (_, _) => Reload();
        _watcher.Created += (_, _) => Reload();
        _watcher.Renamed += (_, _) => Reload(); // editors that save by renaming a temporary file over it
        _watcher.EnableRaisingEvents = true;
    }

    public ResizePolicyStore Store { get; }

    /// <summary>The errors of the last load that failed (empty after a good one).</summary>
    public IReadOnlyList<PolicyError> LastErrors { get; private set; } = [];

    /// <summary>Loads the file, or else the inline policies, into <paramref name="store"/>; inline errors carry configuration keys.</summary>
    public static PolicyParseResult LoadInto(ResizePolicyStore store, ResizingOptions options, IConfigurationSection? inline)
    {
        if (!string.IsNullOrWhiteSpace(options.PolicyFile) || inline is null)
        {
            return store.LoadFile(Path.GetFullPath(options.PolicyFile!));
        }

        var result = store.Load(PolicyConfiguration.ToDocument(inline), PolicyConfiguration.SectionPath);
        return result.Success ? result : result with { Errors = result.Errors.Select(PolicyConfiguration.ToConfigurationKey).ToList() };
    }

    public void Reload()
    {
        string before = Store.Current.Version;
        var result = LoadInto(Store, _options, _inline);
        LastErrors = result.Errors;
        if (!result.Success)
        {
            Log.Rejected(_logger, _source, Store.Current.Version, string.Join("; ", result.Errors.Take(10)));
        }
        else if (Store.Current.Version != before)
        {
            Log.Loaded(_logger, _source, Store.Current.Version, Store.Current.Policies.Count);
        }
    }

    public void Dispose()
    {
        _watcher?.Dispose();
        _configurationWatch?.Dispose();
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 1301, Level = LogLevel.Information, Message = "Resizing policies {Source} loaded: version {Version}, {Count} policies")]
        public static partial void Loaded(ILogger logger, string source, string version, int count);

        [LoggerMessage(EventId = 1302, Level = LogLevel.Error, Message = "Resizing policies {Source} rejected, version {Version} stays: {Errors}")]
        public static partial void Rejected(ILogger logger, string source, string version, string errors);
    }
}
