using Microsoft.Extensions.Time.Testing;
using VmEcosystem.Cluster;
using VmEcosystem.Hypervisor;
using VmEcosystem.Runtime;

namespace VmEcosystem.Tests.Runtime;

/// <summary>The one set of limits every action kind shares, on a fake clock.</summary>
public sealed class ExecutionLimitsTests
{
    private static readonly HostId H1 = new("h1"), H2 = new("h2"), H3 = new("h3");
    private static readonly HashSet<HostId> NoMaintenance = [];

    private static HotPlugAction Resize(string vm, HostId host) => new(new VmId(vm), host, new HotPlugRequest(Vcpus: 2), "test");

    private static MigrateAction Move(string vm, HostId from, HostId to) => new(new VmEcosystem.Planning.MigrationDecision
    {
        Vm = new VmId(vm), Source = from, Target = to, VmIndex = 0, TargetIndex = 0, Stage = "test", Rule = "test",
        Trigger = new VmEcosystem.Planning.TriggerEvidence("test", "test"),
    });

    [Fact]
    public void Per_host_limits_count_every_kind_on_source_and_target()
    {
        var time = new FakeTimeProvider();
        var limits = new ExecutionLimits(new RuntimeOptions { MaxConcurrentMigrationsPerHost = 2 });
        var move = Move("a", H1, H2);
        Assert.Null(limits.SkipReason(move, NoMaintenance, time.GetUtcNow()));
        limits.Reserve(move, time.GetUtcNow());
        var resize = Resize("b", H2);
        Assert.Null(limits.SkipReason(resize, NoMaintenance, time.GetUtcNow()));
        limits.Reserve(resize, time.GetUtcNow());

        Assert.Contains("already touch host h2 (limit 2)", limits.SkipReason(Move("c", H3, H2), NoMaintenance, time.GetUtcNow()));
        Assert.Contains("already touch host h2 (limit 2)", limits.SkipReason(Resize("d", H2), NoMaintenance, time.GetUtcNow()));
        Assert.Null(limits.SkipReason(Resize("d", H1), NoMaintenance, time.GetUtcNow()));
        Assert.Equal((2, 2), limits.Peak);

        limits.Release(resize, failed: false, time.GetUtcNow());
        Assert.Null(limits.SkipReason(Move("c", H3, H2), NoMaintenance, time.GetUtcNow()));
    }

    [Fact]
    public void Cooldown_window_and_backoff_follow_the_clock()
    {
        var time = new FakeTimeProvider();
        var limits = new ExecutionLimits(new RuntimeOptions
        {
            VmCooldown = TimeSpan.FromMinutes(10),
            MaxMigrationsPerWindow = 2,
            RateWindow = TimeSpan.FromHours(1),
            FailureBackoff = TimeSpan.FromMinutes(30),
        });
        var first = Resize("a", H1);
        limits.Reserve(first, time.GetUtcNow());
        limits.Release(first, failed: false, time.GetUtcNow());
        Assert.Contains("cooldown", limits.SkipReason(Move("a", H1, H2), NoMaintenance, time.GetUtcNow()));
        time.Advance(TimeSpan.FromMinutes(10));
        Assert.Null(limits.SkipReason(Move("a", H1, H2), NoMaintenance, time.GetUtcNow()));

        var second = Move("b", H1, H2);
        limits.Reserve(second, time.GetUtcNow());
        limits.Release(second, failed: true, time.GetUtcNow());
        Assert.Contains("2 actions started in the last 01:00:00 (limit 2)", limits.SkipReason(Resize("c", H3), NoMaintenance, time.GetUtcNow()));
        Assert.Contains("last action failed", limits.SkipReason(Move("b", H1, H2), NoMaintenance, time.GetUtcNow()));
        time.Advance(TimeSpan.FromMinutes(50));
        Assert.Null(limits.SkipReason(Resize("c", H3), NoMaintenance, time.GetUtcNow()));    // the first start left the window
        Assert.Null(limits.SkipReason(Move("b", H1, H2), NoMaintenance, time.GetUtcNow())); // backoff over
    }

    [Fact]
    public void Stale_actions_and_maintenance_targets_are_refused()
    {
        var time = new FakeTimeProvider();
        var limits = new ExecutionLimits(new RuntimeOptions());
        limits.NoteHost(new VmId("a"), H3);
        Assert.Contains("stale: the VM is on h3 now, not h1", limits.SkipReason(Move("a", H1, H2), NoMaintenance, time.GetUtcNow()));
        Assert.Contains("stale", limits.SkipReason(Resize("a", H1), NoMaintenance, time.GetUtcNow()));
        Assert.Contains("target h2 is in maintenance", limits.SkipReason(Move("b", H1, H2), new HashSet<HostId> { H2 }, time.GetUtcNow()));
        limits.NoteHost(new VmId("a"), null);
        Assert.Null(limits.SkipReason(Move("a", H1, H2), NoMaintenance, time.GetUtcNow()));
    }

    [Fact]
    public void A_start_counts_in_the_rate_window_from_its_answer_not_from_its_request()
    {
        // A call retried after a hang reaches the provider late: the window must hold for when the provider really
        // started the move, so an unanswered start counts in every window and is stamped when it answers.
        var time = new FakeTimeProvider();
        var limits = new ExecutionLimits(new RuntimeOptions { MaxMigrationsPerWindow = 1, RateWindow = TimeSpan.FromHours(1) });
        var late = Move("a", H1, H2);
        limits.Reserve(late, time.GetUtcNow());
        time.Advance(TimeSpan.FromHours(2));
        Assert.Contains("1 actions started", limits.SkipReason(Move("b", H1, H3), NoMaintenance, time.GetUtcNow()));

        limits.Answered(late.Vm, time.GetUtcNow());
        time.Advance(TimeSpan.FromMinutes(59));
        Assert.Contains("1 actions started", limits.SkipReason(Move("b", H1, H3), NoMaintenance, time.GetUtcNow()));
        time.Advance(TimeSpan.FromMinutes(1));
        Assert.Null(limits.SkipReason(Move("b", H1, H3), NoMaintenance, time.GetUtcNow()));

        // An action released before its call was made leaves nothing in the window.
        var never = Move("c", H1, H3);
        limits.Reserve(never, time.GetUtcNow());
        limits.Release(never, failed: false, time.GetUtcNow(), called: false);
        Assert.Null(limits.SkipReason(Move("b", H1, H3), NoMaintenance, time.GetUtcNow()));
    }
}
