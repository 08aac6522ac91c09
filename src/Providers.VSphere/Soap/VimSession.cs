using System.Xml.Linq;
using Microsoft.Extensions.Logging;
using static VmEcosystem.Providers.VSphere.Soap.Vim;

namespace VmEcosystem.Providers.VSphere.Soap;

/// <summary>The managed objects the provider calls, from <c>RetrieveServiceContent</c>.</summary>
internal sealed record ServiceContent(Mor RootFolder, Mor PropertyCollector, Mor ViewManager, Mor SessionManager, Mor PerfManager, string ApiType, string ApiVersion);

/// <summary>
/// One vSphere session: <c>RetrieveServiceContent</c> and <c>Login</c> on first use, a keep-alive call while idle,
/// one transparent re-login when the server answers <c>NotAuthenticated</c> (an expired or terminated session; the
/// call was not executed, so repeating it is safe even for a task call), and <c>Logout</c> on dispose.
/// </summary>
internal sealed partial class VimSession : IAsyncDisposable
{
    private readonly SoapClient _soap;
    private readonly VSphereOptions _options;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _login = new(1, 1);
    private readonly ITimer _keepAlive;
    private ServiceContent? _content;
    private long _logins;

    public VimSession(SoapClient soap, VSphereOptions options, TimeProvider time, ILogger logger)
    {
        _soap = soap;
        _options = options;
        _logger = logger;
        _keepAlive = time.CreateTimer(_ => _ = KeepAliveAsync(), null, options.KeepAliveInterval, options.KeepAliveInterval);
    }

    /// <summary>How many times this session logged in (1 normally; more after expiries).</summary>
    public long Logins => Interlocked.Read(ref _logins);

    /// <summary>The underlying client (tests use it to reach the server directly).</summary>
    internal SoapClient Soap => _soap;

    /// <summary>The service content, logging in first when needed.</summary>
    public async Task<ServiceContent> ContentAsync(CancellationToken cancellationToken)
    {
        if (_content is { } content && _soap.HasSession)
        {
            return content;
        }

        return await LoginAsync(null, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Runs one call built from the service content. A <c>NotAuthenticated</c> answer logs in again and repeats the
    /// call once; anything else propagates as <see cref="VimFault"/>, <see cref="HttpRequestException"/> or timeout.
    /// </summary>
    public async Task<XElement> CallAsync(Func<ServiceContent, XElement> body, bool idempotent, CancellationToken cancellationToken, TimeSpan? timeout = null)
    {
        var content = await ContentAsync(cancellationToken).ConfigureAwait(false);
        long loginsBefore = Logins;
        try
        {
            return ThrowIfNotAuthenticated(await _soap.CallAsync(body(content), idempotent, cancellationToken, timeout).ConfigureAwait(false));
        }
        catch (VimFault fault) when (fault.IsNotAuthenticated)
        {
            LogSessionLost(_logger, _options.Endpoint?.Host ?? "");
            content = await LoginAsync(loginsBefore, cancellationToken).ConfigureAwait(false);
            return ThrowIfNotAuthenticated(await _soap.CallAsync(body(content), idempotent, cancellationToken, timeout).ConfigureAwait(false));
        }
    }

    /// <summary>Ends the session on the server (best effort).</summary>
    public async ValueTask DisposeAsync()
    {
        await _keepAlive.DisposeAsync().ConfigureAwait(false);
        if (_content is { } content && _soap.HasSession)
        {
            try
            {
                using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(5));
                await _soap.CallAsync(E("Logout", This(content.SessionManager)), idempotent: false, cts.Token).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is VimFault or HttpRequestException or TimeoutException or OperationCanceledException)
            {
                LogLogoutFailed(_logger, ex.GetType().Name);
            }

            _soap.ForgetSession();
        }

        _login.Dispose();
    }

    /// <summary>RetrievePropertiesEx answers a lost session with a <c>missingSet</c> fault instead of a SOAP fault.</summary>
    private static XElement ThrowIfNotAuthenticated(XElement response)
    {
        foreach (var missing in response.Descendants(Ns + "missingSet"))
        {
            if (missing.Element(Ns + "fault")?.Element(Ns + "fault") is { } fault
                && (fault.Attribute(Xsi + "type")?.Value ?? "").EndsWith("NotAuthenticated", StringComparison.Ordinal))
            {
                throw new VimFault("NotAuthenticated", "The session is not authenticated.");
            }
        }

        return response;
    }

    private async Task<ServiceContent> LoginAsync(long? unlessLoginsChangedFrom, CancellationToken cancellationToken)
    {
        await _login.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_content is { } current && _soap.HasSession && (unlessLoginsChangedFrom is null || Logins != unlessLoginsChangedFrom))
            {
                return current; // another caller logged in meanwhile
            }

            _soap.ForgetSession();
            var content = _content ?? await RetrieveContentAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                await _soap.CallAsync(E("Login", This(content.SessionManager),
                    E("userName", _options.UserName), E("password", _options.Password)), idempotent: false, cancellationToken).ConfigureAwait(false);
            }
            catch (VimFault fault) when (fault.FaultType is "InvalidLogin")
            {
                // One clear error naming the settings; the server's text says "Login failure", never the password.
                throw new VimFault("InvalidLogin",
                    $"vSphere refused the login of user '{_options.UserName}' at {_options.Endpoint?.GetLeftPart(UriPartial.Authority)} ({fault.Message}). " +
                    "Check VmEcosystem:VSphere:UserName and VmEcosystem:VSphere:Password.");
            }

            _content = content;
            Interlocked.Increment(ref _logins);
            LogLoggedIn(_logger, _options.UserName ?? "", _options.Endpoint?.Host ?? "", content.ApiType, content.ApiVersion);
            return content;
        }
        finally
        {
            _login.Release();
        }
    }

    private async Task<ServiceContent> RetrieveContentAsync(CancellationToken cancellationToken)
    {
        var r = await _soap.CallAsync(E("RetrieveServiceContent", This(new Mor("ServiceInstance", "ServiceInstance"))), idempotent: true, cancellationToken).ConfigureAwait(false);
        var v = r.Child("returnval") ?? throw new VimFault("InvalidResponse", "RetrieveServiceContent returned no content.");
        Mor Get(string name) => v.Child(name) is { } e ? Mor.From(e) : throw new VimFault("InvalidResponse", $"The service content has no {name}.");
        return new ServiceContent(Get("rootFolder"), Get("propertyCollector"), Get("viewManager"), Get("sessionManager"), Get("perfManager"),
            v.Path("about/apiType") ?? "", v.Path("about/apiVersion") ?? "");
    }

    private async Task KeepAliveAsync()
    {
        if (_content is null || !_soap.HasSession)
        {
            return;
        }

        try
        {
            using var cts = new CancellationTokenSource(_options.RequestTimeout);
            await CallAsync(_ => E("CurrentTime", This(new Mor("ServiceInstance", "ServiceInstance"))), idempotent: true, cts.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is VimFault or HttpRequestException or TimeoutException or OperationCanceledException or ObjectDisposedException)
        {
            LogKeepAliveFailed(_logger, ex.GetType().Name, ex.Message);
        }
    }

    [LoggerMessage(EventId = 4100, Level = LogLevel.Information, Message = "vSphere: logged in as {User} at {Endpoint} ({ApiType} {ApiVersion})")]
    private static partial void LogLoggedIn(ILogger logger, string user, string endpoint, string apiType, string apiVersion);

    [LoggerMessage(EventId = 4101, Level = LogLevel.Information, Message = "vSphere: the session at {Endpoint} is no longer authenticated; logging in again")]
    private static partial void LogSessionLost(ILogger logger, string endpoint);

    [LoggerMessage(EventId = 4102, Level = LogLevel.Debug, Message = "vSphere: keep-alive failed ({Error}: {Reason})")]
    private static partial void LogKeepAliveFailed(ILogger logger, string error, string reason);

    [LoggerMessage(EventId = 4103, Level = LogLevel.Debug, Message = "vSphere: logout failed ({Error})")]
    private static partial void LogLogoutFailed(ILogger logger, string error);
}
