namespace VmEcosystem.Providers.VSphere;

/// <summary>Where host sets come from in a vSphere inventory.</summary>
public enum VSphereHostSetSource
{
    /// <summary>One host set per cluster (its name); standalone hosts belong to none.</summary>
    Cluster = 0,

    /// <summary>No host sets; every host stands alone.</summary>
    None = 1,
}

/// <summary>
/// Settings of the vSphere provider, bound from <c>VmEcosystem:VSphere</c> and validated at start. Keep the
/// password in the application's secret store (user secrets, environment, a vault-backed configuration source): the
/// provider reads it from here, sends it only in <c>Login</c>, and never logs it or puts it in an error.
/// </summary>
public sealed class VSphereOptions
{
    /// <summary>The SDK endpoint, for example <c>https://vcenter.example/sdk</c>.</summary>
    public Uri? Endpoint { get; set; }

    /// <summary>The vCenter (or ESXi) user.</summary>
    public string? UserName { get; set; }

    /// <summary>The user's password.</summary>
    public string? Password { get; set; }

    /// <summary>Clusters to manage, by name; empty means every host of the inventory.</summary>
    public IList<string> Clusters { get; } = [];

    /// <summary>Where host sets come from (default: clusters).</summary>
    public VSphereHostSetSource HostSets { get; set; } = VSphereHostSetSource.Cluster;

    /// <summary>
    /// SHA-256 thumbprint of the server's certificate (hex, colons allowed). When set, a certificate with this
    /// thumbprint is accepted even if no trusted authority signed it (vcsim, lab vCenters); otherwise normal TLS
    /// validation applies. There is no setting that turns validation off.
    /// </summary>
    public string? CertificateThumbprint { get; set; }

    /// <summary>The vim25 version named in <c>SOAPAction</c> (default 6.5, which vCenter 6.5 to 8 accept).</summary>
    public string ApiVersion { get; set; } = "6.5";

    /// <summary>How long one call may take (default 60 s). Long polls wait <see cref="EventWait"/> plus this.</summary>
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>How long one <c>WaitForUpdatesEx</c> long poll waits on the server (default 20 s).</summary>
    public TimeSpan EventWait { get; set; } = TimeSpan.FromSeconds(20);

    /// <summary>How often an idle session is kept alive (default 10 min; vCenter ends idle sessions after 30).</summary>
    public TimeSpan KeepAliveInterval { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>Objects per <c>RetrievePropertiesEx</c> page (default 500).</summary>
    public int PageSize { get; set; } = 500;

    /// <summary>Whether the provider watches the inventory with <c>WaitForUpdatesEx</c> and publishes changes (default true).</summary>
    public bool WatchInventory { get; set; } = true;

    /// <summary>Network capacity assumed per host, Mbit/s, when the inventory does not give one (default 10,000).</summary>
    public double HostNetworkMbps { get; set; } = 10_000;
}
