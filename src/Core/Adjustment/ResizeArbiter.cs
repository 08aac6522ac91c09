using VmEcosystem.Reservations;

namespace VmEcosystem.Adjustment;

/// <summary>A proposed change of one resource of one VM on a host, as the arbiter sees it.</summary>
/// <param name="Index">The caller's index of the VM.</param>
/// <param name="Priority">The VM's priority.</param>
/// <param name="From">Current allocation.</param>
/// <param name="To">Proposed allocation.</param>
/// <param name="Need">What the VM is expected to use (the signal that triggered the grow): a grow's gain is what of it the change covers.</param>
/// <param name="CostPerUnit">The policy's cost of one unit.</param>
/// <param name="Step">The rule's step (a partial grant is a multiple of it).</param>
internal readonly record struct ResizeCandidate(int Index, SloPriority Priority, double From, double To, double Need, double CostPerUnit, double Step)
{
    /// <summary>Cost per unit of expected use the grow covers (lower is served first among equal priorities).</summary>
    public double CostPerGain
    {
        get
        {
            double gain = Math.Min(Need, To) - From;
            return gain > 0 ? CostPerUnit * (To - From) / gain : double.PositiveInfinity;
        }
    }
}

/// <summary>What the arbiter grants a candidate.</summary>
/// <param name="Index">The caller's index of the VM.</param>
/// <param name="To">The allocation granted (equal to <c>From</c>: nothing granted).</param>
/// <param name="Shortfall">What a grow could not get on this host: a request to the planner (move this VM or another), never an overcommit.</param>
internal readonly record struct ResizeGrant(int Index, double To, double Shortfall);

/// <summary>
/// Shares one host's room for one resource among the resizes proposed on it: every shrink first (each frees room),
/// then grows by priority (critical first), and among equal priorities the lowest cost per unit of expected use
/// covered; a grow that does not fit whole gets what fits, in whole steps, and the rest is a shortfall for the
/// planner. With a change budget (the executor's per-tick limit), grows of critical VMs come first and shrinks of
/// critical VMs last. Deterministic: ties keep the caller's order.
/// </summary>
internal static class ResizeArbiter
{
    /// <summary>Arbitrates <paramref name="candidates"/> against <paramref name="free"/> room on their host.</summary>
    /// <param name="candidates">Proposed changes on one host, one resource.</param>
    /// <param name="free">Unallocated capacity of the host for the resource.</param>
    /// <param name="maxChanges">Most changes allowed this tick.</param>
    /// <param name="grants">Filled from the start (as long as <paramref name="candidates"/>): one grant per grow (granted, partly or not at all: its shortfall says) and per shrink made; the count is returned. Grows and shrinks the budget leaves out get no grant (they wait for the next tick).</param>
    public static int Arbitrate(ReadOnlySpan<ResizeCandidate> candidates, double free, int maxChanges, Span<ResizeGrant> grants)
    {
        Span<int> order = candidates.Length <= 256 ? stackalloc int[candidates.Length] : new int[candidates.Length];
        int n = 0;
        for (int i = 0; i < candidates.Length; i++)
        {
            if (candidates[i].To < candidates[i].From)
            {
                free += candidates[i].From - candidates[i].To; // room a shrink frees, whether or not the budget lets it run this tick
            }
        }

        int grows = Sorted(candidates, order, grow: true), changes = 0;
        for (int k = 0; k < grows; k++)
        {
            if (changes >= maxChanges)
            {
                break; // the rest waits for the next tick: not a shortfall
            }

            var c = candidates[order[k]];
            double want = c.To - c.From;
            double give = want <= free ? want : Math.Max(0, Math.Floor((free / c.Step) + 1e-9) * c.Step);
            free -= give;
            changes += give > 0 ? 1 : 0;
            grants[n++] = new ResizeGrant(c.Index, c.From + give, want - give);
        }

        int shrinks = Sorted(candidates, order, grow: false);
        for (int k = 0; k < shrinks && changes < maxChanges; k++, changes++)
        {
            var c = candidates[order[k]];
            grants[n++] = new ResizeGrant(c.Index, c.To, 0);
        }

        return n;
    }

    // Grows: critical first, then cheapest per unit of use covered. Shrinks: best-effort first (critical shrunk last).
    private static int Sorted(ReadOnlySpan<ResizeCandidate> candidates, Span<int> order, bool grow)
    {
        int m = 0;
        for (int i = 0; i < candidates.Length; i++)
        {
            if ((candidates[i].To > candidates[i].From) == grow && candidates[i].To != candidates[i].From)
            {
                order[m++] = i;
            }
        }

        // Insertion sort: stable, no allocation, and a host rarely has more than a few dozen candidates.
        for (int i = 1; i < m; i++)
        {
            int x = order[i];
            int j = i - 1;
            while (j >= 0 && Before(candidates[x], candidates[order[j]], grow))
            {
                order[j + 1] = order[j];
                j--;
            }

            order[j + 1] = x;
        }

        return m;
    }

    private static bool Before(in ResizeCandidate a, in ResizeCandidate b, bool grow)
    {
        if (a.Priority != b.Priority)
        {
            return grow ? a.Priority < b.Priority : a.Priority > b.Priority;
        }

        return grow && a.CostPerGain < b.CostPerGain;
    }
}
