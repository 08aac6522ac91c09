using VmEcosystem.Borrowing;
using VmEcosystem.Forecasting;
using VmEcosystem.Policies;

namespace VmEcosystem.Experiments;

/// <summary>Host sets under budgets, loans between their VMs, and scale-out requests, in a resizing day.</summary>
internal sealed partial class ResizingDay
{
    private readonly LoanState? _loans;

    // Consecutive VMs form host sets whose sizes cycle through the given list; each set's budget per resource is a
    // share of what its VMs were first given (the "hosts" of the resizing day become the sets: the budget, not a
    // host's capacity, is what resizing cannot cross).
    private (double[] Budget, double[] Allocated) PlaceInSets(IReadOnlyList<int> sizes)
    {
        var allocated = new List<double>();
        int set = -1, left = 0;
        for (int i = 0; i < _n; i++)
        {
            if (left == 0)
            {
                set++;
                left = sizes[set % sizes.Count];
                allocated.AddRange(new double[_r]);
            }

            _host[i] = set;
            left--;
            for (int r = 0; r < _r; r++)
            {
                allocated[(set * _r) + r] += _alloc[(i * _r) + r];
            }
        }

        // The budget is a share of the set's peak aggregate demand over the day, per resource: a tenant's quota sized
        // for what the set uses together, not for the sum of its VMs' own peaks (which rarely coincide).
        var budget = new double[allocated.Count];
        var aggregate = new double[allocated.Count];
        for (int k = 0; k < _traces[0].Length; k++)
        {
            double t = k * _traces[0].IntervalSeconds;
            Array.Clear(aggregate);
            for (int i = 0; i < _n; i++)
            {
                for (int r = 0; r < _r; r++)
                {
                    aggregate[(_host[i] * _r) + r] += (r == Cpu ? _traces[i].CpuAt(t) : _traces[i].MemoryAt(t)) * _unit[r];
                }
            }

            for (int c = 0; c < budget.Length; c++)
            {
                budget[c] = Math.Max(budget[c], aggregate[c] * _o.BudgetShare);
            }
        }

        return (budget, [.. allocated]);
    }

    /// <summary>The loans, their ledger and the scale-out watch of one day.</summary>
    private sealed class LoanState
    {
        private readonly ResizingDay _d;
        private readonly LeaseLedger _ledger;
        private readonly LoanParty[] _parties;
        private readonly double[] _need, _target, _effective, _at;
        private readonly int[][] _members;
        private readonly double[] _requestedAt, _lowSince, _firstViolation;
        private readonly List<(Lease Lease, LeaseEnd Why)> _ended = [];
        private readonly List<Lease> _opened = [];
        private readonly List<int> _scaleOutSets = [];
        private readonly IForecaster[] _setForecasters;

        public LoanState(ResizingDay d)
        {
            _d = d;
            int cells = d._n * d._r, sets = d.Hosts;
            _ledger = new LeaseLedger(d._n, d._r);
            _parties = new LoanParty[d._n];
            (_need, _target, _effective, _at) = (new double[cells], new double[cells], new double[cells], new double[cells]);
            Array.Fill(_at, double.NaN);
            _members = [.. Enumerable.Range(0, sets).Select(h => Enumerable.Range(0, d._n).Where(i => d._host[i] == h).ToArray())];
            (_requestedAt, _lowSince, _firstViolation) = (new double[sets], new double[sets], new double[sets]);
            Array.Fill(_requestedAt, double.NaN);
            Array.Fill(_lowSince, double.NaN);
            Array.Fill(_firstViolation, double.NaN);
            _setForecasters = [.. Enumerable.Range(0, sets * d._r).Select(_ => (IForecaster)ExponentialSmoothingForecaster.Holt())];
        }

        public int Loans { get; private set; }

        public int ForcedReturns { get; private set; }

        public double LoanSeconds { get; private set; }

        public long LenderViolations { get; private set; }

        public int ScaleIns { get; private set; }

        public List<ScaleOutEvent> ScaleOuts { get; } = [];

        public bool Lends(int vm, int r) => _ledger.Lent(vm, r) > 0;

        public double Borrowed(int vm, int r) => _ledger.Borrowed(vm, r);

        public void ClearNeeds(int r)
        {
            for (int i = 0; i < _d._n; i++)
            {
                _need[(i * _d._r) + r] = 0;
            }
        }

        public void Needs(int vm, int r, double shortfall) => _need[(vm * _d._r) + r] = shortfall;

        /// <summary>The loans' net effect on a cell's allocation at <paramref name="t"/> (a transfer takes effect after the resource's delay).</summary>
        public double Effective(int c, double t)
        {
            if (!double.IsNaN(_at[c]) && t >= _at[c])
            {
                _effective[c] = _target[c];
                _at[c] = double.NaN;
            }

            return _effective[c];
        }

        public void NoteViolation(int vm, double t)
        {
            int set = _d._host[vm];
            if (double.IsNaN(_firstViolation[set]))
            {
                _firstViolation[set] = t;
            }
        }

        public void Return(int r, double now)
        {
            Parties(r, needs: false);
            _ended.Clear();
            LoanPlanner.Return(_ledger, _parties, r, now, _ended);
            foreach (var (lease, why) in _ended)
            {
                Transfer(lease.Lender, r, lease.Amount, now);
                Transfer(lease.Borrower, r, -lease.Amount, now);
                LoanSeconds += now - lease.Start;
                ForcedReturns += why == LeaseEnd.LenderUsage ? 1 : 0;
            }
        }

        public void Lend(int r, double now)
        {
            if (_d._o.Borrowing)
            {
                Parties(r, needs: true);
                _opened.Clear();
                foreach (var members in _members)
                {
                    LoanPlanner.Lend(members, _parties, _ledger, r, now, _opened);
                }

                foreach (var lease in _opened)
                {
                    Transfer(lease.Lender, r, -lease.Amount, now);
                    Transfer(lease.Borrower, r, lease.Amount, now);
                    Loans++;
                }
            }

            // The benchmark's own check, every tick: no lender below its minimum or its forecast's upper bound.
            for (int i = 0; i < _d._n; i++)
            {
                if (_ledger.Lent(i, r) > 0 && _d.Rule(i, r) is { } rule)
                {
                    int c = (i * _d._r) + r;
                    double committed = Committed(c);
                    LenderViolations += committed < rule.Min - 1e-9 || committed < _d._upper[c] - 1e-9 ? 1 : 0;
                }
            }
        }

        /// <summary>Loans still open at the end count until then.</summary>
        public double OpenSecondsAt(double end) => _ledger.Open.Sum(l => end - l.Start);

        /// <summary>Feeds each host set's aggregate use to its own forecaster (a sum is smoother than its parts, and its trend shows a ramp).</summary>
        public void ObserveSets(bool retrain)
        {
            for (int h = 0; h < _members.Length; h++)
            {
                for (int r = 0; r < _d._r; r++)
                {
                    double sum = 0;
                    foreach (int i in _members[h])
                    {
                        sum += _d._usage[(i * _d._r) + r];
                    }

                    var f = _setForecasters[(h * _d._r) + r];
                    f.Update(sum);
                    if (retrain)
                    {
                        f.Refit();
                    }
                }
            }
        }

        /// <summary>
        /// Per host set: when the upper bound of the set's aggregate forecast (Holt's linear trend over the set's summed
        /// use) at the lead time, plus the lenders' margin, exceeds the budget of any resource, a scale-out request (one per episode, until it falls
        /// back under 90 % of the budget); when it stays under the scale-in share for the hold time, a scale-in request.
        /// </summary>
        public void ScaleOut(double now)
        {
            var o = _d._o;
            int lead = Math.Max(1, (int)Math.Ceiling(o.ScaleOutLeadTime / o.Tick));
            for (int h = 0; h < _members.Length; h++)
            {
                // What the set needs at the least is its use plus the margin every lender keeps: beyond that neither
                // resizing nor loans can serve it within the budget.
                double margin = _members[h].Average(i => _d._policy[i]?.Loans.LenderMargin ?? 0);
                double worst = 0; // aggregate need over budget, the highest over resources
                for (int r = 0; r < _d._r; r++)
                {
                    double upper = _setForecasters[(h * _d._r) + r].Forecast(lead, o.Confidence).Upper * (1 + margin);
                    worst = Math.Max(worst, upper / _d._hostCapacity[(h * _d._r) + r]);
                }

                if (worst > 1 && double.IsNaN(_requestedAt[h]))
                {
                    _requestedAt[h] = now;
                    _scaleOutSets.Add(h);
                    ScaleOuts.Add(new ScaleOutEvent($"set-{h}", now, Math.Max(1, (int)Math.Ceiling((worst - 1) * _members[h].Length)), null));
                }
                else if (worst < 0.9)
                {
                    _requestedAt[h] = double.NaN;
                }

                _lowSince[h] = worst >= o.ScaleInShare ? double.NaN : double.IsNaN(_lowSince[h]) ? now : _lowSince[h];
                if (!double.IsNaN(_lowSince[h]) && now - _lowSince[h] >= o.ScaleInHold.TotalSeconds)
                {
                    ScaleIns++;
                    _lowSince[h] = double.NaN; // the next request after another hold
                }
            }
        }

        public IReadOnlyList<ScaleOutEvent> Events() =>
            [.. ScaleOuts.Select((e, k) => e with { FirstViolationSeconds = _firstViolation[_scaleOutSets[k]] is var v && double.IsNaN(v) ? null : v })];

        private double Committed(int c) => (double.IsNaN(_d._pendingAt[c]) ? _d._alloc[c] : _d._pendingTo[c]) + _target[c];

        private void Transfer(int vm, int r, double delta, double now)
        {
            int c = (vm * _d._r) + r;
            _target[c] += delta;
            _at[c] = now + _d.Delay(r);
        }

        private void Parties(int r, bool needs)
        {
            for (int i = 0; i < _d._n; i++)
            {
                int c = (i * _d._r) + r;
                ref var p = ref _parties[i];
                if (_d.Rule(i, r) is not { } rule)
                {
                    p = default;
                    continue;
                }

                var policy = _d._policy[i]!;
                p = new LoanParty
                {
                    Allocation = Committed(c), Usage = _d._usage[c], Upper = _d._upper[c], Min = rule.Min, Max = rule.Max, Step = rule.Step,
                    GrowAbove = rule.GrowAbove, Need = needs ? _need[c] : 0, Priority = policy.Priority, Rule = policy.Loans, Eligible = true,
                };
            }
        }
    }
}
