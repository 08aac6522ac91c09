using System.Net;
using System.Text;
using System.Xml.Linq;
using Microsoft.Extensions.Time.Testing;

namespace VmEcosystem.Providers.VSphere.Tests;

/// <summary>
/// Paging of <c>RetrievePropertiesEx</c>. vcsim 0.24.2 ignores <c>maxObjects</c> and never returns a token, so the
/// server here is a scripted one that pages the way vCenter does (a token on every page but the last).
/// </summary>
public sealed class PagingTests
{
    [Fact]
    public async Task Every_page_is_read_through_ContinueRetrievePropertiesEx_and_nothing_is_lost()
    {
        var server = new PagingServer();
        var options = new VSphereOptions { Endpoint = new Uri("https://vc.test/sdk"), UserName = "u", Password = "p", PageSize = 1, WatchInventory = false };
        await using var provider = new VSphereHypervisor(options, new HttpClient(server), new FakeTimeProvider());
        var inventory = await provider.GetInventoryAsync();
        Assert.Equal(3, provider.Reader.LastPageCount);
        Assert.Single(inventory.Hosts);
        Assert.Equal(["vm-1", "vm-2"], inventory.Vms.Select(v => v.Id.Value).Order());
        Assert.Equal("1", server.MaxObjects);
        Assert.Equal(["t1", "t2"], server.Tokens);
        Assert.True(server.ViewDestroyed);
    }

    private sealed class PagingServer : HttpMessageHandler
    {
        private static readonly XNamespace V = "urn:vim25";

        public string? MaxObjects { get; private set; }

        public List<string> Tokens { get; } = [];

        public bool ViewDestroyed { get; private set; }

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var body = XDocument.Parse(await request.Content!.ReadAsStringAsync(cancellationToken)).Descendants()
                .First(e => e.Name.LocalName == "Body").Elements().First();
            string answer = body.Name.LocalName switch
            {
                "RetrieveServiceContent" => """<returnval><rootFolder type="Folder">group-d1</rootFolder><propertyCollector type="PropertyCollector">propertyCollector</propertyCollector><viewManager type="ViewManager">ViewManager</viewManager><sessionManager type="SessionManager">SessionManager</sessionManager><perfManager type="PerformanceManager">PerfMgr</perfManager><about><apiType>VirtualCenter</apiType><apiVersion>8.0</apiVersion></about></returnval>""",
                "Login" => "<returnval><key>s</key></returnval>",
                "CreateContainerView" => """<returnval type="ContainerView">session[1]view</returnval>""",
                "RetrievePropertiesEx" => Page(body),
                "ContinueRetrievePropertiesEx" => Continue(body),
                "DestroyView" => Mark(),
                "Logout" => "",
                _ => throw new InvalidOperationException(body.Name.LocalName),
            };
            var response = new HttpResponseMessage(HttpStatusCode.OK)
            {
                Content = new StringContent($"""<?xml version="1.0"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body><{body.Name.LocalName}Response xmlns="urn:vim25">{answer}</{body.Name.LocalName}Response></soapenv:Body></soapenv:Envelope>""", Encoding.UTF8, "text/xml"),
            };
            if (body.Name.LocalName == "Login")
            {
                response.Headers.Add("Set-Cookie", "vmware_soap_session=abc; Path=/; HttpOnly");
            }

            return response;
        }

        private string Mark()
        {
            ViewDestroyed = true;
            return "";
        }

        private string Page(XElement body)
        {
            MaxObjects = body.Descendants(V + "maxObjects").Single().Value;
            return """<returnval><token>t1</token><objects><obj type="HostSystem">host-1</obj>""" +
                Prop("name", "h1") + Prop("summary.hardware.numCpuCores", "8") + Prop("summary.hardware.cpuMhz", "2000") +
                Prop("summary.hardware.memorySize", "17179869184") + Prop("runtime.connectionState", "connected") + "</objects></returnval>";
        }

        private string Continue(XElement body)
        {
            string token = body.Element(V + "token")!.Value;
            Tokens.Add(token);
            string vm = token == "t1" ? "vm-1" : "vm-2";
            return $"""<returnval>{(token == "t1" ? "<token>t2</token>" : "")}<objects><obj type="VirtualMachine">{vm}</obj>""" +
                Prop("name", vm) + """<propSet><name>runtime.host</name><val type="HostSystem" xsi:type="ManagedObjectReference">host-1</val></propSet>""" +
                Prop("runtime.powerState", "poweredOn") + Prop("config.hardware.numCPU", "2") + Prop("config.hardware.memoryMB", "1024") + "</objects></returnval>";
        }

        private static string Prop(string name, string value) => $"<propSet><name>{name}</name><val>{value}</val></propSet>";
    }
}
