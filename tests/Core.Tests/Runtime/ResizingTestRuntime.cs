using System.Text;
using Microsoft.Extensions.Options;
using VmEcosystem.Adjustment;
using VmEcosystem.Hypervisor;
using VmEcosystem.Planning.Predictive;
using VmEcosystem.Policies;
using VmEcosystem.Runtime;
using VmEcosystem.Runtime.Audit;
using VmEcosystem.Simulation;

namespace VmEcosystem.Tests.Runtime;

/// <summary>A started runtime with only the resizing controller deciding (moves are dry runs), for the resizing tests.</summary>
internal sealed record ResizingTestRuntime(EcosystemRuntime Runtime, ResizingController Controller, ResizePolicyStore Store, InMemoryAuditStore Audit)
{
    /// <summary>Starts a runtime on <paramref name="provider"/> whose resizing controller runs under <paramref name="policy"/> every 5 minutes.</summary>
    public static async Task<ResizingTestRuntime> StartAsync(IHypervisor provider, string policy, VirtualClock clock, IServiceProvider? services = null)
    {
        var store = new ResizePolicyStore(clock);
        Assert.True(store.Load(Encoding.UTF8.GetBytes(policy), "test").Success);
        var controller = new ResizingController(store, Options.Create(new ResizingOptions { PolicyFile = "test", Interval = TimeSpan.FromMinutes(5) }), services ?? new NoServices());
        var audit = new InMemoryAuditStore();
        var options = new RuntimeOptions { Mode = ExecutionMode.Automatic, PlanOnForecastAbove = null };
        options.Modes["migrate"] = ExecutionMode.DryRun;
        var runtime = new EcosystemRuntime(provider, PredictivePolicy.Create(), Options.Create(options), clock,
            new RuntimeComponents { Audit = audit, Controllers = [controller] });
        await runtime.StartAsync(TestContext.Current.CancellationToken);
        return new ResizingTestRuntime(runtime, controller, store, audit);
    }

    private sealed class NoServices : IServiceProvider
    {
        public object? GetService(Type serviceType) => null;
    }
}
