using System.Net.Security;
using System.Security.Cryptography;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Http.Resilience;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Polly;
using VmEcosystem.Providers.VSphere;
using VmEcosystem.Providers.VSphere.Soap;

namespace VmEcosystem.Hosting;

/// <summary>Registers the vSphere provider.</summary>
public static class VSphereBuilderExtensions
{
    /// <summary>The name of the <see cref="HttpClient"/> the provider asks <see cref="IHttpClientFactory"/> for.</summary>
    public const string HttpClientName = "VmEcosystem.VSphere";

    /// <summary>
    /// Uses vCenter or ESXi through the vSphere Web Services API (SOAP, <c>urn:vim25</c>). Settings come from the
    /// <c>VmEcosystem:VSphere</c> section and then <paramref name="configure"/>; they are validated when the host
    /// starts. The HTTP client comes from <see cref="IHttpClientFactory"/> with the standard resilience handler,
    /// whose retries apply to read calls only: a call that starts a task (reconfigure, relocate) is never repeated.
    /// </summary>
    public static VmEcosystemBuilder UseVSphere(this VmEcosystemBuilder builder, Action<VSphereOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var options = builder.Services.AddOptions<VSphereOptions>().ValidateOnStart();
        if (builder.Section("VSphere") is { } section)
        {
            options.Bind(section, o => o.ErrorOnUnknownConfiguration = true);
        }

        if (configure is not null)
        {
            options.Configure(configure);
        }

        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<VSphereOptions>, VSphereOptionsValidator>());
        builder.Services.AddHttpClient(HttpClientName, c => c.Timeout = Timeout.InfiniteTimeSpan)
            .ConfigurePrimaryHttpMessageHandler(sp => CreateHandler(sp.GetRequiredService<IOptions<VSphereOptions>>().Value))
            .AddStandardResilienceHandler()
            .Configure((r, sp) => ConfigureResilience(r, sp.GetRequiredService<IOptions<VSphereOptions>>().Value));
        return builder.UseProvider("vsphere", sp => new VSphereHypervisor(
            sp.GetRequiredService<IOptions<VSphereOptions>>().Value,
            sp.GetRequiredService<IHttpClientFactory>().CreateClient(HttpClientName),
            sp.GetRequiredService<TimeProvider>(),
            sp.GetService<ILogger<VSphereHypervisor>>()));
    }

    /// <summary>
    /// The socket handler: no cookie container (the session cookie is kept by the provider, never shared), and
    /// TLS validation as usual unless the certificate matches the pinned SHA-256 thumbprint.
    /// </summary>
    internal static SocketsHttpHandler CreateHandler(VSphereOptions options)
    {
        string? pinned = options.CertificateThumbprint is { } t ? VSphereOptionsValidator.NormaliseThumbprint(t) : null;
        var handler = new SocketsHttpHandler { UseCookies = false, PooledConnectionLifetime = TimeSpan.FromMinutes(5) };
        if (pinned is not null)
        {
            handler.SslOptions.RemoteCertificateValidationCallback = (_, certificate, _, errors) =>
                errors == SslPolicyErrors.None
                || (certificate is not null && Convert.ToHexString(SHA256.HashData(certificate.GetRawCertData())) == pinned);
        }

        return handler;
    }

    private static void ConfigureResilience(HttpStandardResilienceOptions r, VSphereOptions options)
    {
        // A long poll waits EventWait on the server; an attempt may last that plus the request timeout.
        var attempt = options.RequestTimeout + options.EventWait;
        r.AttemptTimeout.Timeout = attempt;
        r.TotalRequestTimeout.Timeout = attempt * 3;
        r.CircuitBreaker.SamplingDuration = attempt * 2.5;
        r.Retry.ShouldHandle = args => ValueTask.FromResult(
            args.Context.GetRequestMessage() is { } request && request.Options.TryGetValue(SoapClient.Idempotent, out bool idempotent) && idempotent
            && IsTransient(args.Outcome));
        r.CircuitBreaker.ShouldHandle = args => ValueTask.FromResult(IsTransient(args.Outcome));
    }

    /// <summary>
    /// Connection failures, attempt timeouts and 408/429/502/503/504. Not HTTP 500: vSphere answers every fault
    /// (an unknown object, a bad argument) with 500 and a SOAP body, and repeating those only delays the error.
    /// </summary>
    private static bool IsTransient(Outcome<HttpResponseMessage> outcome) =>
        outcome.Exception is HttpRequestException or Polly.Timeout.TimeoutRejectedException
        || (int?)outcome.Result?.StatusCode is 408 or 429 or 502 or 503 or 504;
}

