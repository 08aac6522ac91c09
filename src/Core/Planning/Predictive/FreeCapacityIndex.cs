namespace VmEcosystem.Planning.Predictive;

/// <summary>
/// Candidate hosts from an index over predicted free capacity, so a target search looks at a few dozen hosts
/// instead of all of them: hosts sit in buckets by free capacity (capacity − predicted load); a search returns the
/// tightest hosts that can hold at least the VM's expected demand (best fit first) and the emptiest ones (so a
/// feasible host is found whenever one exists among the roomiest). Follows every tentative move. Below
/// <see cref="ExhaustiveBelow"/> hosts it returns every host, which keeps small clusters exact.
/// </summary>
/// <param name="correlation">Growth correlation (shared predicted-load view).</param>
/// <param name="perEnd">Candidates taken from each end of the index.</param>
public sealed class FreeCapacityIndex(double correlation, int perEnd = 32) : ICandidateHostSource
{
    /// <summary>Clusters smaller than this are searched exhaustively.</summary>
    public int ExhaustiveBelow { get; init; } = 1024;

    /// <summary>Pages offered per search before giving up (bounds the cost of searches that fail).</summary>
    public int MaxPages { get; init; } = 8;

    /// <inheritdoc />
    public IReadOnlyList<int> CandidatesFor(PlanningPass pass, int vm, int page)
    {
        ArgumentNullException.ThrowIfNull(pass);
        if (pass.State.HostCount < ExhaustiveBelow)
        {
            return page == 0 ? pass.Feature(p => new AllHosts(p.State.HostCount)).Hosts : [];
        }

        if (page >= MaxPages)
        {
            return [];
        }

        var index = pass.Feature(p => new Index(p, correlation));
        var forecasts = pass.Context.Get<DemandForecastSet>()!;
        var target = pass.Feature(_ => new CapacityTarget());
        return index.Query(forecasts.Upper(vm), target.Utilization, target.AllowIdleHosts, perEnd, page);
    }

    private sealed class AllHosts(int count)
    {
        public int[] Hosts { get; } = [.. Enumerable.Range(0, count)];
    }

    private sealed class Index : IPlanningPassObserver
    {
        private const int BucketCount = 256;
        private readonly PlanningState _state;
        private readonly PredictedHostLoad _load;
        private readonly List<int>[] _buckets;
        private readonly int[] _bucketOf;
        private readonly int[] _position;
        private readonly double _width;
        private readonly List<int> _result = new(128);

        public Index(PlanningPass pass, double correlation)
        {
            _state = pass.State;
            _load = pass.Feature(p => new PredictedHostLoad(p, correlation));
            double max = 1;
            for (int h = 0; h < _state.HostCount; h++)
            {
                max = Math.Max(max, _state.HostTotalMips[h]);
            }

            _width = max / (BucketCount - 1);
            _buckets = new List<int>[BucketCount + 1];
            for (int b = 0; b < _buckets.Length; b++)
            {
                _buckets[b] = [];
            }

            _bucketOf = new int[_state.HostCount];
            _position = new int[_state.HostCount];
            for (int h = 0; h < _state.HostCount; h++)
            {
                Insert(h);
            }
        }

        // Best-fit active hosts whose room under the stage's target holds the VM's upper bound (growth of a
        // placed VM aggregates to less than its upper bound, so these are feasible or nearly so), then a few idle
        // hosts for when nothing active fits.
        public IReadOnlyList<int> Query(double need, double target, bool allowIdle, int perEnd, int page)
        {
            _result.Clear();
            int skip = page * perEnd;
            for (int b = BucketFor(need); b <= BucketCount && _result.Count < perEnd; b++)
            {
                foreach (int h in _buckets[b])
                {
                    if (_state.HostVms[h].Count > 0 && Free(h) - ((1 - target) * _state.HostTotalMips[h]) >= need)
                    {
                        if (skip > 0)
                        {
                            skip--;
                            continue;
                        }

                        _result.Add(h);
                        if (_result.Count >= perEnd)
                        {
                            break;
                        }
                    }
                }
            }

            if (allowIdle && page == 0)
            {
                int idle = 0;
                for (int b = BucketCount; b >= 0 && idle < perEnd / 4; b--)
                {
                    foreach (int h in _buckets[b])
                    {
                        if (_state.HostVms[h].Count == 0 && _state.HostAcceptsVms[h])
                        {
                            _result.Add(h);
                            if (++idle >= perEnd / 4)
                            {
                                break;
                            }
                        }
                    }
                }
            }

            // The pass breaks cost ties by position: keep candidates in host order, as an exhaustive search would.
            _result.Sort();
            return _result;
        }

        public void OnCommitted(PlanningPass pass, int vm, int source, int target)
        {
            Move(target);
            if (source >= 0)
            {
                Move(source);
            }
        }

        public void OnRolledBack(PlanningPass pass, int vm, int source, int target) => OnCommitted(pass, vm, source, target);

        private double Free(int h) => _state.HostTotalMips[h] - _load.Load(h);

        private int BucketFor(double free) => free < 0 ? 0 : Math.Min(BucketCount, 1 + (int)(free / _width));

        private void Insert(int h)
        {
            int b = BucketFor(Free(h));
            _bucketOf[h] = b;
            _position[h] = _buckets[b].Count;
            _buckets[b].Add(h);
        }

        // The predicted-load view is updated before this observer runs (it was created first); re-bucket the host.
        private void Move(int h)
        {
            var list = _buckets[_bucketOf[h]];
            int pos = _position[h];
            int last = list[^1];
            list[pos] = last;
            _position[last] = pos;
            list.RemoveAt(list.Count - 1);
            Insert(h);
        }
    }
}
