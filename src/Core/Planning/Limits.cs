namespace VmEcosystem.Planning;

/// <summary>
/// The concurrency limits of whoever executes the plans (the runtime's executor sets them on its planning context),
/// so that a plan proposes only what can start: <see cref="ConcurrencyLimit"/> plans within the smaller of its own
/// limits and these (<see cref="PlanningContext.ExecutorLimits"/>).
/// </summary>
/// <param name="MaxPerHost">Migrations touching one host (source or target) at once.</param>
/// <param name="MaxInCluster">Migrations at once in the cluster.</param>
public sealed record ExecutorConcurrency(int MaxPerHost, int MaxInCluster);

/// <summary>
/// Concurrency: migrations running or planned that touch one host (in plus out) and in the whole cluster stay within
/// limits (the smaller of these and the context's <see cref="PlanningContext.ExecutorLimits"/>). In-flight migrations are read
/// from the planning state.
/// </summary>
/// <param name="maxPerHost">Migrations touching one host.</param>
/// <param name="maxInCluster">Migrations in the cluster.</param>
public sealed class ConcurrencyLimit(int maxPerHost, int maxInCluster) : IMigrationLimit
{
    /// <inheritdoc />
    public string Name => $"concurrency(host {maxPerHost}, cluster {maxInCluster})";

    /// <summary>Migrations touching one host.</summary>
    public int MaxPerHost => maxPerHost;

    /// <summary>Migrations in the cluster.</summary>
    public int MaxInCluster => maxInCluster;

    /// <inheritdoc />
    public bool AllowsVm(PlanningPass pass, int vm) => Counts(pass).Cluster < InCluster(pass);

    /// <inheritdoc />
    public bool AllowsMove(PlanningPass pass, int vm, int source, int target)
    {
        var c = Counts(pass);
        int perHost = PerHost(pass);
        return c.Cluster < InCluster(pass) && (source < 0 || c.PerHost[source] < perHost) && c.PerHost[target] < perHost;
    }

    private int PerHost(PlanningPass pass) => pass.Context.ExecutorLimits is { } e ? Math.Min(maxPerHost, e.MaxPerHost) : maxPerHost;

    private int InCluster(PlanningPass pass) => pass.Context.ExecutorLimits is { } e ? Math.Min(maxInCluster, e.MaxInCluster) : maxInCluster;

    /// <inheritdoc />
    public void OnCommitted(PlanningPass pass, int vm, int source, int target)
    {
        var c = Counts(pass);
        c.Cluster++;
        if (source >= 0)
        {
            c.PerHost[source]++;
        }

        c.PerHost[target]++;
    }

    /// <inheritdoc />
    public void OnUncommitted(PlanningPass pass, int vm, int source, int target)
    {
        var c = Counts(pass);
        c.Cluster--;
        if (source >= 0)
        {
            c.PerHost[source]--;
        }

        c.PerHost[target]--;
    }

    // Counts are the same for every concurrency limit of a pass, so they are shared (keyed by type).
    private static Tally Counts(PlanningPass pass) => pass.Feature(p =>
    {
        var t = new Tally { PerHost = new int[p.State.HostCount] };
        var state = p.State;
        for (int v = 0; v < state.VmCount; v++)
        {
            int target = state.VmMigratingTo[v];
            if (target >= 0 && state.VmActive[v])
            {
                t.Cluster++;
                t.PerHost[target]++;
                if (state.VmHost[v] >= 0)
                {
                    t.PerHost[state.VmHost[v]]++;
                }
            }
        }

        return t;
    });

    private sealed class Tally
    {
        public int Cluster;

        public int[] PerHost = [];
    }
}

/// <summary>Cooldown: a VM that moved less than <paramref name="cooldown"/> ago does not move again.</summary>
/// <param name="cooldown">Minimum time between two moves of one VM.</param>
public sealed class CooldownLimit(TimeSpan cooldown) : IMigrationLimit
{
    /// <inheritdoc />
    public string Name => $"cooldown({cooldown})";

    /// <inheritdoc />
    public bool AllowsVm(PlanningPass pass, int vm)
    {
        var history = pass.Context.Get<MigrationHistory>();
        return history?.Last(pass.State.VmIds[vm]) is not { } last || pass.Context.Now - last.Time >= cooldown;
    }

    /// <inheritdoc />
    public bool AllowsMove(PlanningPass pass, int vm, int source, int target) => AllowsVm(pass, vm);

    /// <inheritdoc />
    public void OnCommitted(PlanningPass pass, int vm, int source, int target)
    {
    }

    /// <inheritdoc />
    public void OnUncommitted(PlanningPass pass, int vm, int source, int target)
    {
    }
}

/// <summary>Hysteresis: a VM does not return to the host it left within <paramref name="window"/> (no ping-pong).</summary>
/// <param name="window">How long the previous host stays off limits.</param>
public sealed class HysteresisLimit(TimeSpan window) : IMigrationLimit
{
    /// <inheritdoc />
    public string Name => $"hysteresis({window})";

    /// <inheritdoc />
    public bool AllowsVm(PlanningPass pass, int vm) => true;

    /// <inheritdoc />
    public bool AllowsMove(PlanningPass pass, int vm, int source, int target)
    {
        var history = pass.Context.Get<MigrationHistory>();
        return history?.Last(pass.State.VmIds[vm]) is not { } last
            || last.From != pass.State.HostIds[target]
            || pass.Context.Now - last.Time >= window;
    }

    /// <inheritdoc />
    public void OnCommitted(PlanningPass pass, int vm, int source, int target)
    {
    }

    /// <inheritdoc />
    public void OnUncommitted(PlanningPass pass, int vm, int source, int target)
    {
    }
}

/// <summary>A VM moves at most once per plan (an executor cannot run two migrations of one VM from one plan).</summary>
public sealed class OneMovePerPassLimit : IMigrationLimit
{
    /// <inheritdoc />
    public string Name => "one-move-per-pass";

    /// <inheritdoc />
    public bool AllowsVm(PlanningPass pass, int vm) => !Moved(pass)[vm];

    /// <inheritdoc />
    public bool AllowsMove(PlanningPass pass, int vm, int source, int target) => !Moved(pass)[vm];

    /// <inheritdoc />
    public void OnCommitted(PlanningPass pass, int vm, int source, int target) => Moved(pass)[vm] = true;

    /// <inheritdoc />
    public void OnUncommitted(PlanningPass pass, int vm, int source, int target) => Moved(pass)[vm] = false;

    private static bool[] Moved(PlanningPass pass) => pass.Feature(p => new MovedFlags(p.State.VmCount)).Flags;

    private sealed class MovedFlags(int count)
    {
        public bool[] Flags { get; } = new bool[count];
    }
}
