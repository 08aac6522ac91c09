using System.Text;
using VmEcosystem.Policies;
using VmEcosystem.Runtime;
using VmEcosystem.Runtime.Audit;

namespace VmEcosystem.Tests.Policies;

/// <summary>
/// Resizing policy versions kept in the audit trail (issue 22: policies and their versions in the shared store): a
/// version set at run time comes back after a restart or a takeover, unless the configuration changed since.
/// </summary>
public sealed class PolicyTrailTests
{
    private static string Doc(double growAbove) => $$"""
        { "policies": [ { "name": "web", "select": { "names": ["web-*"] },
            "cpu": { "growAbove": {{growAbove.ToString(System.Globalization.CultureInfo.InvariantCulture)}}, "shrinkBelow": 0.3, "min": 1, "max": 8, "step": 1 } } ] }
        """;

    private static ResizePolicyStore Configured(string document)
    {
        var store = new ResizePolicyStore();
        Assert.True(store.Load(Encoding.UTF8.GetBytes(document), "policies.json").Success);
        return store;
    }

    // The in-use record the resizing controller writes for the store's current version.
    private static async Task InUseAsync(IAuditStore trail, ResizePolicyStore store) =>
        await trail.AppendAsync(new AuditRecord(0, DateTimeOffset.UnixEpoch, AuditKind.PolicyVersionInUse, null, null, null, null, $"version {store.Current.Version} in use",
            PolicyTrail.Detail(store.Find(store.Current.Version)!)) { Controller = ResizingController.ControllerName });

    [Fact]
    public async Task A_version_set_at_run_time_wins_over_the_configured_one_it_replaced()
    {
        var trail = new InMemoryAuditStore();
        var leader = Configured(Doc(0.8));
        await InUseAsync(trail, leader);
        Assert.True(leader.Load(Encoding.UTF8.GetBytes(Doc(0.7)), "api:ops").Success);
        await InUseAsync(trail, leader);

        // Another replica, or this one restarted, on the same configuration.
        var next = Configured(Doc(0.8));
        string? restored = await PolicyTrail.RestoreAsync(next, trail, TestContext.Current.CancellationToken);
        Assert.Equal(leader.Current.Version, next.Current.Version);
        Assert.Contains("set by api:ops", restored, StringComparison.Ordinal);
        Assert.Equal("the audit trail (set by api:ops)", next.Find(next.Current.Version)!.Source);

        // Once restored (and recorded in use), nothing more to do.
        await InUseAsync(trail, next);
        Assert.Null(await PolicyTrail.RestoreAsync(next, trail, TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task A_changed_configuration_wins_over_the_trail()
    {
        var trail = new InMemoryAuditStore();
        var leader = Configured(Doc(0.8));
        await InUseAsync(trail, leader);
        Assert.True(leader.Load(Encoding.UTF8.GetBytes(Doc(0.7)), "api:ops").Success);
        await InUseAsync(trail, leader);

        var changed = Configured(Doc(0.9)); // never in use before: the file was edited since
        Assert.Null(await PolicyTrail.RestoreAsync(changed, trail, TestContext.Current.CancellationToken));
        Assert.Equal(Configured(Doc(0.9)).Current.Version, changed.Current.Version);

        // Records without a document (from before they were kept) are ignored.
        var old = new InMemoryAuditStore();
        await old.AppendAsync(new AuditRecord(0, DateTimeOffset.UnixEpoch, AuditKind.PolicyVersionInUse, null, null, null, null, "version x in use") { Controller = ResizingController.ControllerName });
        Assert.Null(await PolicyTrail.RestoreAsync(changed, old, TestContext.Current.CancellationToken));
    }
}
