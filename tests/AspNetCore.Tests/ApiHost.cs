using System.Net.Http.Headers;
using System.Security.Claims;
using System.Text;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using VmEcosystem.Experiments;
using VmEcosystem.Hosting;
using VmEcosystem.Runtime;
using VmEcosystem.Simulation;

namespace VmEcosystem.AspNetCore.Tests;

/// <summary>
/// An application that maps the API the way an embedding control plane would: the simulator with the multi-tier
/// ecosystem scenario on a virtual clock the test moves, approval mode, and a test authentication scheme whose
/// scopes come from the <c>X-Test-Scopes</c> header (absent: anonymous). In memory (TestServer) or on loopback (Kestrel).
/// </summary>
internal sealed class ApiHost : IAsyncDisposable
{
    public const string ScopesHeader = "X-Test-Scopes";

    public const string TestScopesScheme = TestScopes.SchemeName;

    private ApiHost(WebApplication app, VirtualClock clock)
    {
        App = app;
        Clock = clock;
    }

    public WebApplication App { get; }

    public VirtualClock Clock { get; }

    public EcosystemRuntime Runtime => App.Services.GetRequiredService<EcosystemRuntime>();

    public static async Task<ApiHost> StartAsync(
        Action<VmEcosystemApiOptions>? api = null, bool authentication = true, string? policyFile = null, bool kestrel = false, bool observe = true,
        CancellationToken cancellationToken = default, bool rollouts = false, bool budgets = false, bool tuning = false)
    {
        var builder = WebApplication.CreateSlimBuilder();
        if (kestrel)
        {
            builder.WebHost.UseUrls("http://127.0.0.1:0");
        }
        else
        {
            builder.WebHost.UseTestServer();
        }

        builder.Logging.ClearProviders();
        var scenario = EcosystemScenario.Create(new EcosystemScenarioOptions { Duration = TimeSpan.FromHours(6) });
        var clock = new VirtualClock();
        builder.Services.AddSingleton<TimeProvider>(clock);
        if (authentication)
        {
            builder.Services.AddAuthentication(TestScopes.SchemeName).AddScheme<AuthenticationSchemeOptions, TestScopes>(TestScopes.SchemeName, null);
        }

        builder.Services.AddVmEcosystem(b =>
        {
            b.UseSimulator(o => o.Scenario = () => scenario.Simulation);
            b.UseEcosystem(e => { e.Topology = scenario.Simulation.Topology; e.Add(scenario.Declarations); });
            b.ConfigureRuntime(r =>
            {
                r.Mode = ExecutionMode.Approve;
                if (rollouts)
                {
                    r.Modes["configure"] = ExecutionMode.Automatic;
                }
            });
            if (rollouts)
            {
                b.AddConfigurationRollout<InMemoryApplier>();
            }

            if (tuning)
            {
                b.AddConfigurationTuning().AddSimulatedTuningEvaluator();
            }

            if (budgets)
            {
                b.UseHostSetBudgets(o => o.Budgets["shop"] = new VmEcosystem.Borrowing.HostSetBudget { Cores = 64 });
            }

            if (policyFile is not null)
            {
                b.UseResizingPolicies(o => o.PolicyFile = policyFile);
            }

            b.AddHttpApi(o =>
            {
                o.RequestsPerSecond = 0;
                api?.Invoke(o);
            });
        });
        var app = builder.Build();
        app.MapVmEcosystemApi("/vmeco");
        app.MapHealthChecks("/healthz");
        await app.StartAsync(cancellationToken);
        var host = new ApiHost(app, clock);
        // The hosted service starts the runtime in the background: wait for it (its start loads the declarations).
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (!host.Runtime.Status.Running || host.Runtime.Status.LoopsAlive.Count == 0)
        {
            Assert.True(DateTime.UtcNow < deadline, "the runtime did not start");
            await Task.Delay(10, cancellationToken);
        }

        await host.Runtime.WhenIdleAsync(cancellationToken);
        if (observe)
        {
            // The first tick: the cluster is observed and the first plan waits for approval.
            await SimulatedRuntime.AdvanceAsync(host.Runtime, clock, clock.GetUtcNow() + TimeSpan.FromMinutes(5), cancellationToken);
        }

        return host;
    }

    /// <summary>A client with the given scopes (null: anonymous).</summary>
    public HttpClient Client(string? scopes)
    {
        var client = App.Urls.Count > 0 && App.Services.GetService<Microsoft.AspNetCore.Hosting.Server.IServer>() is not TestServer
            ? new HttpClient { BaseAddress = new Uri(App.Urls.First()) }
            : App.GetTestClient();
        if (scopes is not null)
        {
            client.DefaultRequestHeaders.Add(ScopesHeader, scopes);
        }

        return client;
    }

    public static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    public static ByteArrayContent Bytes(byte[] body, string contentType = "application/json")
    {
        var content = new ByteArrayContent(body);
        content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
        return content;
    }

    public async ValueTask DisposeAsync()
    {
        var stopping = App.StopAsync();
        while (!stopping.IsCompleted)
        {
            Clock.AdvanceToNextTimer(); // stopping waits for migrations on the virtual clock
            await Task.WhenAny(stopping, Task.Delay(1));
        }

        await stopping;
        await App.DisposeAsync();
    }

    /// <summary>Keeps each VM's settings in memory (every VM starts with threads=8, gc=serial).</summary>
    internal sealed class InMemoryApplier : VmEcosystem.Runtime.Rollout.IConfigurationApplier
    {
        private readonly System.Collections.Concurrent.ConcurrentDictionary<VmEcosystem.Cluster.VmId, IReadOnlyDictionary<string, string>> _settings = new();

        public Task<IReadOnlyDictionary<string, string>> ReadAsync(VmEcosystem.Cluster.VmId vm, CancellationToken cancellationToken) =>
            Task.FromResult(_settings.GetValueOrDefault(vm, new Dictionary<string, string> { ["threads"] = "8", ["gc"] = "serial" }));

        public Task ApplyAsync(VmEcosystem.Cluster.VmId vm, IReadOnlyDictionary<string, string> settings, CancellationToken cancellationToken)
        {
            _settings[vm] = settings;
            return Task.CompletedTask;
        }
    }

    /// <summary>Authenticates whoever sends <see cref="ScopesHeader"/>, with those scopes.</summary>
    internal sealed class TestScopes(IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder)
        : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
    {
        public const string SchemeName = "TestScopes";

        protected override Task<AuthenticateResult> HandleAuthenticateAsync()
        {
            if (!Request.Headers.TryGetValue(ScopesHeader, out var scopes))
            {
                return Task.FromResult(AuthenticateResult.NoResult());
            }

            var identity = new ClaimsIdentity([new Claim(ClaimTypes.Name, "user:" + scopes), new Claim("scope", scopes.ToString())], SchemeName);
            return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), SchemeName)));
        }
    }
}
