using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Xml;
using System.Xml.Linq;

namespace VmEcosystem.Providers.VSphere.Soap;

/// <summary>
/// Posts urn:vim25 request bodies to the SDK endpoint and returns the response's <c>returnval</c> holder. Keeps the
/// session cookie itself (the handler's cookie container is off, so the cookie never leaves this class except in
/// the <c>Cookie</c> header), marks read-only calls as safe to retry for the resilience handler, and turns SOAP
/// faults into <see cref="VimFault"/>. Request bodies are never logged or put into exceptions: they hold the password.
/// </summary>
internal sealed class SoapClient(HttpClient http, Uri endpoint, string apiVersion, TimeSpan requestTimeout)
{
    /// <summary>Request option the resilience handler reads: only calls marked with it are retried.</summary>
    public static readonly HttpRequestOptionsKey<bool> Idempotent = new("VmEcosystem.VSphere.Idempotent");

    private const string CookieName = "vmware_soap_session";
    private volatile string? _cookie;

    /// <summary>True while a session cookie is held.</summary>
    public bool HasSession => _cookie is not null;

    /// <summary>The server's session cookie value, for the tests that check it never leaks.</summary>
    internal string? SessionCookieForTests => _cookie;

    /// <summary>Forgets the session cookie (after logout, or when the server says the session is gone).</summary>
    public void ForgetSession() => _cookie = null;

    /// <summary>
    /// Sends one call and returns its response element (<c>&lt;XResponse&gt;</c>). <paramref name="idempotent"/> calls
    /// (reads) may be retried on transient failures; task-starting calls never are.
    /// </summary>
    public async Task<XElement> CallAsync(XElement body, bool idempotent, CancellationToken cancellationToken, TimeSpan? timeout = null)
    {
        var envelope = new XElement(Vim.SoapEnv + "Envelope",
            new XAttribute(XNamespace.Xmlns + "soapenv", Vim.SoapEnv.NamespaceName),
            new XAttribute(XNamespace.Xmlns + "xsi", Vim.Xsi.NamespaceName),
            new XAttribute(XNamespace.Xmlns + "xsd", "http://www.w3.org/2001/XMLSchema"),
            new XElement(Vim.SoapEnv + "Body", body));
        using var request = new HttpRequestMessage(HttpMethod.Post, endpoint)
        {
            Content = new StringContent(envelope.ToString(SaveOptions.DisableFormatting), Encoding.UTF8, "text/xml"),
        };
        request.Headers.TryAddWithoutValidation("SOAPAction", $"\"urn:vim25/{apiVersion}\"");
        request.Options.Set(Idempotent, idempotent);
        if (_cookie is { } cookie)
        {
            request.Headers.TryAddWithoutValidation("Cookie", $"{CookieName}={cookie}");
        }

        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout ?? requestTimeout);
        HttpResponseMessage response;
        try
        {
            response = await http.SendAsync(request, HttpCompletionOption.ResponseContentRead, deadline.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException($"{body.Name.LocalName}: the vSphere server did not answer within {(timeout ?? requestTimeout).TotalSeconds:0.#} s.");
        }

        using (response)
        {
            CaptureCookie(response.Headers);
            string text = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
            if (text.Length == 0)
            {
                throw new HttpRequestException($"{body.Name.LocalName}: the vSphere server closed the connection without an answer (HTTP {(int)response.StatusCode}).");
            }

            XElement responseBody = ParseBody(text, body.Name.LocalName, response.StatusCode);
            if (responseBody.Element(Vim.SoapEnv + "Fault") is { } fault)
            {
                throw ReadFault(fault);
            }

            if (!response.IsSuccessStatusCode)
            {
                throw new HttpRequestException($"{body.Name.LocalName}: HTTP {(int)response.StatusCode} from the vSphere server.", null, response.StatusCode);
            }

            return responseBody.Elements().FirstOrDefault()
                ?? throw new VimFault("InvalidResponse", $"{body.Name.LocalName} returned an empty body.");
        }
    }

    private static XElement ParseBody(string text, string call, HttpStatusCode status)
    {
        try
        {
            var doc = XDocument.Parse(text);
            return doc.Root?.Element(Vim.SoapEnv + "Body")
                ?? throw new VimFault("InvalidResponse", $"{call}: HTTP {(int)status} without a SOAP body.");
        }
        catch (XmlException ex)
        {
            throw new HttpRequestException($"{call}: HTTP {(int)status} with a body that is not SOAP ({ex.Message}).", ex, status);
        }
    }

    /// <summary>The fault's type comes from the detail's <c>xsi:type</c> (or its element name); the message is <c>faultstring</c>.</summary>
    internal static VimFault ReadFault(XElement fault)
    {
        string message = fault.Element("faultstring")?.Value ?? "";
        var detail = fault.Element("detail")?.Elements().FirstOrDefault();
        string type = detail?.Attribute(Vim.Xsi + "type")?.Value ?? detail?.Name.LocalName ?? "ProviderFault";
        int colon = type.IndexOf(':', StringComparison.Ordinal);
        return new VimFault(colon >= 0 ? type[(colon + 1)..] : type, message.Length > 0 ? message : type);
    }

    private void CaptureCookie(HttpResponseHeaders headers)
    {
        if (!headers.TryGetValues("Set-Cookie", out var values))
        {
            return;
        }

        foreach (string value in values)
        {
            if (!value.StartsWith(CookieName + "=", StringComparison.Ordinal))
            {
                continue;
            }

            int end = value.IndexOf(';', StringComparison.Ordinal);
            string cookie = value[(CookieName.Length + 1)..(end < 0 ? value.Length : end)];
            _cookie = cookie.Length == 0 ? null : cookie;
        }
    }
}
