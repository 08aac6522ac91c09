using Microsoft.Extensions.Options;

namespace VmEcosystem.Providers.Libvirt;

/// <summary>Validates <see cref="LibvirtOptions"/>; every message names the setting. URIs are never echoed (they may carry credentials).</summary>
internal sealed class LibvirtOptionsValidator : IValidateOptions<LibvirtOptions>
{
    private const string Prefix = "VmEcosystem:Libvirt:";

    public ValidateOptionsResult Validate(string? name, LibvirtOptions options)
    {
        var errors = new List<string>();
        if (options.Hosts is null || options.Hosts.Count == 0)
        {
            errors.Add($"{Prefix}Hosts must list at least one host (Name and Uri).");
        }
        else
        {
            var names = new HashSet<string>(StringComparer.Ordinal);
            for (int i = 0; i < options.Hosts.Count; i++)
            {
                var h = options.Hosts[i];
                string at = $"{Prefix}Hosts[{i}]";
                if (h is null)
                {
                    errors.Add($"{at} is null.");
                    continue;
                }

                if (string.IsNullOrWhiteSpace(h.Name))
                {
                    errors.Add($"{at}:Name must be set.");
                }
                else if (!names.Add(h.Name))
                {
                    errors.Add($"{at}:Name '{h.Name}' is used by two hosts.");
                }

                if (!LibvirtUris.IsWellFormed(h.Uri))
                {
                    errors.Add($"{at}:Uri must be an absolute libvirt URI such as qemu:///system, qemu+ssh://host/system or test:///path/node.xml.");
                }

                if (h.MigrationUri is { } m && !System.Uri.TryCreate(m, UriKind.Absolute, out _))
                {
                    errors.Add($"{at}:MigrationUri must be an absolute URI such as tcp://10.0.0.12.");
                }

                if (h.HostSet is { } set && string.IsNullOrWhiteSpace(set))
                {
                    errors.Add($"{at}:HostSet must be null or a non-empty name.");
                }

                if (!(h.NetworkMbps > 0) || !double.IsFinite(h.NetworkMbps))
                {
                    errors.Add($"{at}:NetworkMbps must be positive; got {h.NetworkMbps}.");
                }

                if (!(h.DiskIops > 0) || !double.IsFinite(h.DiskIops))
                {
                    errors.Add($"{at}:DiskIops must be positive; got {h.DiskIops}.");
                }
            }
        }

        if (options.KeepAliveInterval < TimeSpan.Zero || options.KeepAliveInterval.TotalSeconds > int.MaxValue)
        {
            errors.Add($"{Prefix}KeepAliveInterval must be zero (off) or positive; got {options.KeepAliveInterval}.");
        }

        if (options.KeepAliveCount < 1)
        {
            errors.Add($"{Prefix}KeepAliveCount must be at least 1; got {options.KeepAliveCount}.");
        }

        for (int i = 0; i < options.VmDefaults.Count; i++)
        {
            var d = options.VmDefaults[i];
            string at = $"{Prefix}VmDefaults:{i}:";
            if (string.IsNullOrWhiteSpace(d.NamePattern))
            {
                errors.Add($"{at}NamePattern must be a name pattern such as 'db-*' (or '*' for every VM).");
            }

            if (!Enum.IsDefined(d.Slo))
            {
                errors.Add($"{at}Slo must be BestEffort, Standard, Premium or Critical; got {d.Slo}.");
            }

            if (Math.Abs((long)d.Priority) > LibvirtVmClassification.MaxPriority)
            {
                errors.Add($"{at}Priority must be between -{LibvirtVmClassification.MaxPriority} and {LibvirtVmClassification.MaxPriority}; got {d.Priority}.");
            }
        }

        if (options.MigrationProgressInterval <= TimeSpan.Zero)
        {
            errors.Add($"{Prefix}MigrationProgressInterval must be positive; got {options.MigrationProgressInterval}.");
        }

        if (options.CallTimeout < TimeSpan.FromSeconds(1) || options.CallTimeout > TimeSpan.FromMinutes(10))
        {
            errors.Add($"{Prefix}CallTimeout must be between 1 second and 10 minutes; got {options.CallTimeout}.");
        }

        if (options.ConnectTimeout < TimeSpan.FromSeconds(1) || options.ConnectTimeout > TimeSpan.FromMinutes(5))
        {
            errors.Add($"{Prefix}ConnectTimeout must be between 1 second and 5 minutes; got {options.ConnectTimeout}.");
        }

        if (options.MaxCallsPerHost is < 1 or > 256)
        {
            errors.Add($"{Prefix}MaxCallsPerHost must be between 1 and 256; got {options.MaxCallsPerHost}.");
        }

        if (options.EventQueueCapacity is < 16 or > 1_000_000)
        {
            errors.Add($"{Prefix}EventQueueCapacity must be between 16 and 1000000; got {options.EventQueueCapacity}.");
        }

        if (options.FirstSampleInterval <= TimeSpan.Zero)
        {
            errors.Add($"{Prefix}FirstSampleInterval must be positive; got {options.FirstSampleInterval}.");
        }

        if (options.DirtyRatePeriod < TimeSpan.FromSeconds(1) || options.DirtyRatePeriod > TimeSpan.FromSeconds(60) || options.DirtyRatePeriod.Ticks % TimeSpan.TicksPerSecond != 0)
        {
            errors.Add($"{Prefix}DirtyRatePeriod must be whole seconds between 1 and 60; got {options.DirtyRatePeriod}.");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}

/// <summary>Helpers for libvirt URIs.</summary>
internal static partial class LibvirtUris
{
    // The user information of every URI a provider in this process was configured with (libvirt's error state is
    // process-wide, and a peer-to-peer migration error names the destination's URI, not the connection's).
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, byte> Secrets = new(StringComparer.Ordinal);

    /// <summary>Remembers the user information of <paramref name="uri"/> (raw and unescaped) so no message carries it.</summary>
    public static void RegisterSecrets(string? uri)
    {
        if (uri is not null && System.Uri.TryCreate(uri, UriKind.Absolute, out var parsed) && parsed.UserInfo.Length > 0)
        {
            Secrets.TryAdd(parsed.UserInfo, 0);
            Secrets.TryAdd(System.Uri.UnescapeDataString(parsed.UserInfo), 0);
            int colon = parsed.UserInfo.IndexOf(':', StringComparison.Ordinal);
            if (colon >= 0 && colon < parsed.UserInfo.Length - 1)
            {
                Secrets.TryAdd(System.Uri.UnescapeDataString(parsed.UserInfo[(colon + 1)..]), 0); // the password alone
            }
        }
    }

    /// <summary>
    /// Removes credentials from a libvirt message: the user information of any URI in it (<c>scheme://user:pw@</c>
    /// becomes <c>scheme://***@</c>) and every registered secret wherever it appears.
    /// </summary>
    public static string RedactAll(string text)
    {
        text = UserInfo().Replace(text, "://***@");
        foreach (var secret in Secrets.Keys.OrderByDescending(k => k.Length))
        {
            text = text.Replace(secret, "***", StringComparison.Ordinal);
        }

        return text;
    }

    [System.Text.RegularExpressions.GeneratedRegex(@"://[^/@\s'""]+@")]
    private static partial System.Text.RegularExpressions.Regex UserInfo();

    public static bool IsWellFormed(string? uri) =>
        !string.IsNullOrWhiteSpace(uri) && uri.Contains("://", StringComparison.Ordinal) && System.Uri.TryCreate(uri, UriKind.Absolute, out _);

    /// <summary>Removes the URI's user information (<c>user:password@</c>) wherever it appears in <paramref name="text"/>.</summary>
    public static string Redact(string text, string uri)
    {
        if (System.Uri.TryCreate(uri, UriKind.Absolute, out var parsed) && parsed.UserInfo.Length > 0)
        {
            text = text.Replace(parsed.UserInfo, "***", StringComparison.Ordinal);
            text = text.Replace(System.Uri.UnescapeDataString(parsed.UserInfo), "***", StringComparison.Ordinal);
        }

        return text;
    }

    /// <summary>True for libvirt's in-process test driver (<c>test:///...</c>).</summary>
    public static bool IsTestDriver(string uri) => uri.StartsWith("test:", StringComparison.OrdinalIgnoreCase);
}
