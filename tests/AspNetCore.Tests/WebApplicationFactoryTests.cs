using System.Net;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using VmEcosystem.Hosting;
using VmEcosystem.Runtime;
using VmEcosystem.Simulation;

namespace VmEcosystem.AspNetCore.Tests;

/// <summary>
/// The API in an application with the classic pipeline (Generic Host, <c>UseRouting</c>/<c>UseAuthentication</c>/
/// <c>UseAuthorization</c>/<c>UseEndpoints</c>), served by <see cref="WebApplicationFactory{TEntryPoint}"/>: the
/// package does not depend on minimal hosting.
/// </summary>
public sealed class WebApplicationFactoryTests : IClassFixture<WebApplicationFactoryTests.ClassicApp>
{
    private readonly ClassicApp _app;

    public WebApplicationFactoryTests(ClassicApp app) => _app = app;

    [Fact]
    public async Task Reads_approvals_and_denials_work_in_a_classic_pipeline()
    {
        var ct = TestContext.Current.CancellationToken;
        var runtime = _app.Services.GetRequiredService<EcosystemRuntime>();
        var clock = (VirtualClock)_app.Services.GetRequiredService<TimeProvider>();
        using var anonymous = _app.CreateClient();
        using var reader = _app.CreateClient();
        reader.DefaultRequestHeaders.Add(ApiHost.ScopesHeader, VmEcosystemPolicies.ReadScope);
        using var operator_ = _app.CreateClient();
        operator_.DefaultRequestHeaders.Add(ApiHost.ScopesHeader, VmEcosystemPolicies.OperateScope);

        while (!runtime.Status.Running)
        {
            await Task.Delay(10, ct);
        }

        await SimulatedRuntime.AdvanceAsync(runtime, clock, clock.GetUtcNow() + TimeSpan.FromMinutes(10), ct);
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync("/api/vm/status", ct)).StatusCode);
        var status = await ApiAssert.JsonAsync(await reader.GetAsync("/api/vm/status", ct));
        Assert.True(status.GetProperty("planningPasses").GetInt64() > 0);
        var plans = await ApiAssert.JsonAsync(await reader.GetAsync("/api/vm/plans", ct));
        string id = plans[0].GetProperty("planId").GetString()!;
        Assert.Equal(HttpStatusCode.Forbidden, (await reader.PostAsync($"/api/vm/decisions/{id}/approve", null, ct)).StatusCode);
        var approved = await ApiAssert.JsonAsync(await operator_.PostAsync($"/api/vm/decisions/{id}/approve", null, ct));
        Assert.True(approved.GetProperty("started").GetInt32() > 0);
        await ApiAssert.ValidationAsync(await operator_.PostAsync("/api/vm/dependencies", ApiHost.Json("""{"vm_name": 1}"""), ct), "$.vm_name");
    }

    /// <summary>The application: Startup-style configuration on the Generic Host, the API under <c>/api/vm</c>.</summary>
    public sealed class ClassicApp : WebApplicationFactory<ClassicApp>
    {
        protected override IHostBuilder CreateHostBuilder() =>
            Host.CreateDefaultBuilder().ConfigureWebHostDefaults(web => web
                .ConfigureServices(services =>
                {
                    var scenario = Experiments.EcosystemScenario.Create(new Experiments.EcosystemScenarioOptions { Duration = TimeSpan.FromHours(2) });
                    services.AddSingleton<TimeProvider>(new VirtualClock());
                    services.AddRouting();
                    services.AddAuthentication(ApiHost.TestScopesScheme).AddScheme<AuthenticationSchemeOptions, ApiHost.TestScopes>(ApiHost.TestScopesScheme, null);
                    services.AddVmEcosystem(b => b
                        .UseSimulator(o => o.Scenario = () => scenario.Simulation)
                        .UseEcosystem(e => { e.Topology = scenario.Simulation.Topology; e.Add(scenario.Declarations); })
                        .ConfigureRuntime(r => r.Mode = ExecutionMode.Approve)
                        .AddHttpApi());
                })
                .Configure(app => app
                    .UseRouting()
                    .UseAuthentication()
                    .UseAuthorization()
                    .UseEndpoints(e => e.MapVmEcosystemApi("/api/vm"))));

        protected override void ConfigureWebHost(IWebHostBuilder builder) => builder.UseContentRoot(AppContext.BaseDirectory);

        public override async ValueTask DisposeAsync()
        {
            // Stopping waits for migrations on the virtual clock: keep it moving.
            var clock = (VirtualClock)Services.GetRequiredService<TimeProvider>();
            var disposing = base.DisposeAsync().AsTask();
            while (!disposing.IsCompleted)
            {
                clock.AdvanceToNextTimer();
                await Task.WhenAny(disposing, Task.Delay(1));
            }

            await disposing;
        }
    }
}
