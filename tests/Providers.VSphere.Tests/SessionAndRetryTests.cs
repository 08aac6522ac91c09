using System.Net;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using VmEcosystem.Hosting;
using VmEcosystem.Hypervisor;
using VmEcosystem.Providers.VSphere.Soap;
using static VmEcosystem.Providers.VSphere.Soap.Vim;

namespace VmEcosystem.Providers.VSphere.Tests;

/// <summary>Keep-alive, re-login on a task call, and the HTTP pipeline's retries (reads only), on a scripted server.</summary>
public sealed class SessionAndRetryTests
{
    private static VSphereOptions Options() => new()
    {
        Endpoint = new Uri("https://vc.test/sdk"), UserName = "u", Password = "p", WatchInventory = false,
        RequestTimeout = TimeSpan.FromSeconds(5), EventWait = TimeSpan.FromSeconds(1),
    };

    [Fact]
    public async Task An_idle_session_is_kept_alive_on_the_injected_clock()
    {
        var server = new ScriptedVimServer();
        var time = new FakeTimeProvider();
        var options = Options();
        await using var provider = new VSphereHypervisor(options, new HttpClient(server), time);
        await provider.Session.ContentAsync(default);
        Assert.Equal(0, server.Count("CurrentTime"));
        time.Advance(options.KeepAliveInterval);
        for (int i = 0; i < 100 && server.Count("CurrentTime") == 0; i++)
        {
            await Task.Delay(20);
        }

        Assert.Equal(1, server.Count("CurrentTime"));
        Assert.Equal(1, server.Count("Login"));
    }

    [Fact]
    public async Task A_task_call_refused_as_NotAuthenticated_logs_in_again_and_is_sent_exactly_once_more()
    {
        var server = new ScriptedVimServer
        {
            Answer = (body, n) => body.Name.LocalName == "ReconfigVM_Task" && n == 1
                ? (ScriptedVimServer.Fault("NotAuthenticated", "The session is not authenticated."), HttpStatusCode.InternalServerError)
                : ("""<returnval type="Task">task-1</returnval>""", HttpStatusCode.OK),
        };
        await using var provider = new VSphereHypervisor(Options(), new HttpClient(server), new FakeTimeProvider());
        var r = await provider.Session.CallAsync(_ => E("ReconfigVM_Task", This(new Mor("VirtualMachine", "vm-1")), E("spec")), idempotent: false, default);
        Assert.Equal("task-1", r.Child("returnval")!.Value);
        Assert.Equal(2, server.Count("ReconfigVM_Task"));
        Assert.Equal(2, server.Count("Login"));
    }

    [Fact]
    public async Task The_pipeline_retries_a_read_on_503_but_never_a_task_call_nor_a_SOAP_fault()
    {
        var server = new ScriptedVimServer
        {
            Answer = (body, n) => body.Name.LocalName switch
            {
                "RetrievePropertiesEx" when n == 1 => (null, HttpStatusCode.ServiceUnavailable),
                "RetrievePropertiesEx" => ("<returnval></returnval>", HttpStatusCode.OK),
                "RelocateVM_Task" => (null, HttpStatusCode.ServiceUnavailable),
                _ => (ScriptedVimServer.Fault("InvalidArgument", "A specified parameter was not correct."), HttpStatusCode.InternalServerError),
            },
        };
        var services = new ServiceCollection();
        services.AddVmEcosystem(new ConfigurationBuilder().Build(), b => b.UseVSphere(o =>
        {
            o.Endpoint = new Uri("https://vc.test/sdk");
            o.UserName = "u";
            o.Password = "p";
            o.WatchInventory = false;
        }));
        services.AddHttpClient(VSphereBuilderExtensions.HttpClientName).ConfigurePrimaryHttpMessageHandler(() => server);
        await using var container = services.BuildServiceProvider();
        var provider = (VSphereHypervisor)container.GetRequiredService<IHypervisor>();
        var session = provider.Session;

        await session.CallAsync(c => E("RetrievePropertiesEx", This(c.PropertyCollector), E("specSet")), idempotent: true, default);
        Assert.Equal(2, server.Count("RetrievePropertiesEx")); // the 503 was retried

        await Assert.ThrowsAsync<HttpRequestException>(() => session.CallAsync(_ => E("RelocateVM_Task", This(new Mor("VirtualMachine", "vm-1")), E("spec")), idempotent: false, default));
        Assert.Equal(1, server.Count("RelocateVM_Task")); // a task call is never repeated

        await Assert.ThrowsAsync<VimFault>(() => session.CallAsync(c => E("ContinueRetrievePropertiesEx", This(c.PropertyCollector), E("token", "x")), idempotent: true, default));
        Assert.Equal(1, server.Count("ContinueRetrievePropertiesEx")); // a fault is an answer, not a transient failure
    }
}
