using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using VmEcosystem.Adjustment;
using VmEcosystem.Policies;
using VmEcosystem.Runtime;

namespace VmEcosystem.Hosting;

/// <summary>Registers resizing policies.</summary>
public static class ResizingBuilderExtensions
{
    /// <summary>
    /// Loads resizing policies from <see cref="ResizingOptions.PolicyFile"/> into a <see cref="ResizePolicyStore"/>
    /// (a singleton), validated at start (every error with its JSON path, under the setting's name) and reloaded
    /// when the file changes (<see cref="ResizingOptions.Watch"/>); every version is kept in the store. Adds the
    /// runtime's <c>resizing</c> controller, which resizes VMs under the policies through the shared executor.
    /// </summary>
    public static VmEcosystemBuilder UseResizingPolicies(this VmEcosystemBuilder builder, Action<ResizingOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var options = builder.Services.AddOptions<ResizingOptions>().BindSection(builder, "Resizing").ValidateOnStart();
        if (configure is not null)
        {
            options.Configure(configure);
        }

        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<ResizingOptions>, ResizingOptionsValidator>());
        builder.Services.TryAddSingleton(sp => new PolicyFileSource(
            sp.GetRequiredService<IOptions<ResizingOptions>>().Value,
            sp.GetRequiredService<TimeProvider>(),
            sp.GetService<ILogger<PolicyFileSource>>() ?? NullLogger<PolicyFileSource>.Instance));
        builder.Services.TryAddSingleton(sp => sp.GetRequiredService<PolicyFileSource>().Store);
        return builder.AddController<ResizingController>();
    }
}

/// <summary>Checks the policy file at start: it must exist and parse; the message names the setting and every error.</summary>
internal sealed class ResizingOptionsValidator : IValidateOptions<ResizingOptions>
{
    public ValidateOptionsResult Validate(string? name, ResizingOptions options)
    {
        const string setting = "VmEcosystem:Resizing:PolicyFile";
        if (options.Validate() is { Count: > 0 } errors)
        {
            return ValidateOptionsResult.Fail(errors);
        }

        var result = new ResizePolicyStore().LoadFile(options.PolicyFile!);
        return result.Success
            ? ValidateOptionsResult.Success
            : ValidateOptionsResult.Fail($"{setting} '{options.PolicyFile}': {string.Join("; ", result.Errors.Take(10))}");
    }
}

/// <summary>Loads the policy file into a store and, when asked, reloads it on every change of the file.</summary>
internal sealed partial class PolicyFileSource : IDisposable
{
    private readonly string _path;
    private readonly ILogger _logger;
    private readonly FileSystemWatcher? _watcher;

    public PolicyFileSource(ResizingOptions options, TimeProvider time, ILogger logger)
    {
        _path = Path.GetFullPath(options.PolicyFile ?? throw new ArgumentException("VmEcosystem:Resizing:PolicyFile is required.", nameof(options)));
        _logger = logger;
        Store = new ResizePolicyStore(time);
        Reload();
        if (options.Watch)
        {
            _watcher = new FileSystemWatcher(Path.GetDirectoryName(_path)!, Path.GetFileName(_path))
            {
                NotifyFilter = NotifyFilters.LastWrite | NotifyFilters.FileName | NotifyFilters.Size | NotifyFilters.CreationTime,
            };
            _watcher.Changed += (_, _) => Reload();
            _watcher.Created += (_, _) => Reload();
            _watcher.Renamed += (_, _) => Reload(); // editors that save by renaming a temporary file over it
            _watcher.EnableRaisingEvents = true;
        }
    }

    public ResizePolicyStore Store { get; }

    /// <summary>The errors of the last load that failed (empty after a good one).</summary>
    public IReadOnlyList<PolicyError> LastErrors { get; private set; } = [];

    public void Reload()
    {
        string before = Store.Current.Version;
        var result = Store.LoadFile(_path);
        LastErrors = result.Errors;
        if (!result.Success)
        {
            Log.Rejected(_logger, _path, Store.Current.Version, string.Join("; ", result.Errors.Take(10)));
        }
        else if (Store.Current.Version != before)
        {
            Log.Loaded(_logger, _path, Store.Current.Version, Store.Current.Policies.Count);
        }
    }

    public void Dispose() => _watcher?.Dispose();

    private static partial class Log
    {
        [LoggerMessage(EventId = 1301, Level = LogLevel.Information, Message = "Resizing policies {Path} loaded: version {Version}, {Count} policies")]
        public static partial void Loaded(ILogger logger, string path, string version, int count);

        [LoggerMessage(EventId = 1302, Level = LogLevel.Error, Message = "Resizing policies {Path} rejected, version {Version} stays: {Errors}")]
        public static partial void Rejected(ILogger logger, string path, string version, string errors);
    }
}
