using System.Net;
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
        string? maxObjects = null;
        var tokens = new List<string>();
        var server = new ScriptedVimServer();
        server.Answer = (body, _) => (body.Name.LocalName switch
        {
            "CreateContainerView" => """<returnval type="ContainerView">session[1]view</returnval>""",
            "RetrievePropertiesEx" => FirstPage(body, out maxObjects),
            "ContinueRetrievePropertiesEx" => NextPage(body, tokens),
            "DestroyView" => "",
            _ => throw new InvalidOperationException(body.Name.LocalName),
        }, HttpStatusCode.OK);
        var options = new VSphereOptions { Endpoint = new Uri("https://vc.test/sdk"), UserName = "u", Password = "p", PageSize = 1, WatchInventory = false };
        await using var provider = new VSphereHypervisor(options, new HttpClient(server), new FakeTimeProvider());
        var inventory = await provider.GetInventoryAsync();
        Assert.Equal(3, provider.Reader.LastPageCount);
        Assert.Single(inventory.Hosts);
        Assert.Equal(["vm-1", "vm-2"], inventory.Vms.Select(v => v.Id.Value).Order());
        Assert.Equal("1", maxObjects);
        Assert.Equal(["t1", "t2"], tokens);
        Assert.Equal(1, server.Count("DestroyView"));
    }

    private static string FirstPage(XElement body, out string? maxObjects)
    {
        maxObjects = body.Descendants(ScriptedVimServer.V + "maxObjects").Single().Value;
        return """<returnval><token>t1</token><objects><obj type="HostSystem">host-1</obj>""" +
            Prop("name", "h1") + Prop("summary.hardware.numCpuCores", "8") + Prop("summary.hardware.cpuMhz", "2000") +
            Prop("summary.hardware.memorySize", "17179869184") + Prop("runtime.connectionState", "connected") + "</objects></returnval>";
    }

    private static string NextPage(XElement body, List<string> tokens)
    {
        string token = body.Element(ScriptedVimServer.V + "token")!.Value;
        tokens.Add(token);
        string vm = token == "t1" ? "vm-1" : "vm-2";
        return $"""<returnval>{(token == "t1" ? "<token>t2</token>" : "")}<objects><obj type="VirtualMachine">{vm}</obj>""" +
            Prop("name", vm) + """<propSet><name>runtime.host</name><val type="HostSystem" xsi:type="ManagedObjectReference">host-1</val></propSet>""" +
            Prop("runtime.powerState", "poweredOn") + Prop("config.hardware.numCPU", "2") + Prop("config.hardware.memoryMB", "1024") + "</objects></returnval>";
    }

    private static string Prop(string name, string value) => $"<propSet><name>{name}</name><val>{value}</val></propSet>";
}
