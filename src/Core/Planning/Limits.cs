namespace VmEcosystem.Planning;

/// <summary>
/// Concurrency: migrations running or planned that touch one host (in plus out) and in the whole cluster stay within
/// limits. In-flight migrations are read from the planning state.
/// </summary>
/// <param name="maxPerHost">Migrations touching one host.</param>
/// <param name="maxInCluster">Migrations in the cluster.</param>
public sealed class ConcurrencyLimit(int maxPerHost, int maxInCluster) : IMigrationLimit
{
    /// <inheritdoc />
    public string Name => $"concurrency(host {maxPerHost}, cluster {maxInCluster})";

    /// <inheritdoc />
    public bool AllowsVm(PlanningPass pass, int vm) => Counts(pass).Cluster < maxInCluster;

    /// <inheritdoc />
    public bool AllowsMove(PlanningPass pass, int vm, int source, int target)
    {
        var c = Counts(pass);
        return c.Cluster < maxInCluster && (source < 0 || c.PerHost[source] < maxPerHost) && c.PerHost[target] < maxPerHost;
    }

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
