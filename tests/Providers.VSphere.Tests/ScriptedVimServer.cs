using System.Collections.Concurrent;
using System.Net;
using System.Text;
using System.Xml.Linq;

namespace VmEcosystem.Providers.VSphere.Tests;

/// <summary>
/// A scripted vim25 endpoint for what vcsim cannot show (paging, keep-alive, HTTP-level failures): answers the
/// session calls itself and each other call from <see cref="Answer"/>, counting calls by name.
/// </summary>
internal sealed class ScriptedVimServer : HttpMessageHandler
{
    public static readonly XNamespace V = "urn:vim25";

    public ConcurrentDictionary<string, int> Calls { get; } = new();

    /// <summary>Answers a call: the inner XML of its response, or a status code to fail with (no SOAP body).</summary>
    public Func<XElement, int, (string? Body, HttpStatusCode Status)> Answer { get; set; } = (_, _) => ("", HttpStatusCode.OK);

    public int Count(string call) => Calls.TryGetValue(call, out int n) ? n : 0;

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var body = XDocument.Parse(await request.Content!.ReadAsStringAsync(cancellationToken)).Descendants()
            .First(e => e.Name.LocalName == "Body").Elements().First();
        string name = body.Name.LocalName;
        int n = Calls.AddOrUpdate(name, 1, (_, c) => c + 1);
        var (answer, status) = name switch
        {
            "RetrieveServiceContent" => ("""<returnval><rootFolder type="Folder">group-d1</rootFolder><propertyCollector type="PropertyCollector">propertyCollector</propertyCollector><viewManager type="ViewManager">ViewManager</viewManager><sessionManager type="SessionManager">SessionManager</sessionManager><perfManager type="PerformanceManager">PerfMgr</perfManager><about><apiType>VirtualCenter</apiType><apiVersion>8.0</apiVersion></about></returnval>""", HttpStatusCode.OK),
            "Login" => ("<returnval><key>s</key></returnval>", HttpStatusCode.OK),
            "Logout" => ("", HttpStatusCode.OK),
            "CurrentTime" => ("<returnval>2026-12-03T10:00:00Z</returnval>", HttpStatusCode.OK),
            _ => Answer(body, n),
        };
        if (answer is null)
        {
            return new HttpResponseMessage(status);
        }

        var response = new HttpResponseMessage(status)
        {
            Content = new StringContent($"""<?xml version="1.0"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body>{(answer.StartsWith("<soapenv:Fault", StringComparison.Ordinal) ? answer : $"<{name}Response xmlns=\"urn:vim25\">{answer}</{name}Response>")}</soapenv:Body></soapenv:Envelope>""", Encoding.UTF8, "text/xml"),
        };
        if (name == "Login")
        {
            response.Headers.Add("Set-Cookie", $"vmware_soap_session=cookie{Count("Login")}; Path=/; HttpOnly");
        }

        return response;
    }

    /// <summary>A SOAP fault of the given vim25 type.</summary>
    public static string Fault(string type, string message) =>
        $"""<soapenv:Fault><faultcode>ServerFaultCode</faultcode><faultstring>{message}</faultstring><detail><{type}Fault xmlns="urn:vim25" xsi:type="{type}"></{type}Fault></detail></soapenv:Fault>""";
}
