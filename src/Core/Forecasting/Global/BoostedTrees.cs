namespace VmEcosystem.Forecasting.Global;

/// <summary>Settings of <see cref="BoostedTrees"/>.</summary>
public sealed record BoostedTreesOptions
{
    /// <summary>Trees per fit.</summary>
    public int Trees { get; init; } = 100;

    /// <summary>Depth of each tree (2^depth leaves at most).</summary>
    public int Depth { get; init; } = 5;

    /// <summary>Shrinkage of each tree's contribution.</summary>
    public double LearningRate { get; init; } = 0.1;

    /// <summary>Fewest rows in a leaf.</summary>
    public int MinLeaf { get; init; } = 100;

    /// <summary>Histogram bins per feature (at most 255).</summary>
    public int Bins { get; init; } = 64;
}

/// <summary>
/// Gradient-boosted regression trees minimising absolute error (Friedman's LAD-TreeBoost): each tree is grown on
/// the signs of the residuals with histogram split search, and its leaves take the median residual, so the
/// ensemble estimates the conditional median — the point forecast that minimises MAE and MASE. Trees can be
/// added later on new rows (<see cref="FitMore"/>) to follow a drifting workload. Deterministic.
/// </summary>
internal sealed class BoostedTrees
{
    private readonly BoostedTreesOptions _options;
    private readonly List<Tree> _trees = [];
    private float[][] _edges = [];
    private int[] _rowBase = [];
    private double _init;

    /// <summary>Creates an empty model.</summary>
    public BoostedTrees(BoostedTreesOptions? options = null)
    {
        _options = options ?? new BoostedTreesOptions();
        if (_options.Trees < 0 || _options.Depth is < 1 or > 12 || _options.MinLeaf < 1 || _options.Bins is < 2 or > 255
            || !(_options.LearningRate > 0 && _options.LearningRate <= 1))
        {
            throw new ArgumentException("BoostedTreesOptions: Trees >= 0, Depth 1..12, MinLeaf >= 1, Bins 2..255, LearningRate in (0, 1].", nameof(options));
        }
    }

    /// <summary>Number of trees.</summary>
    public int TreeCount => _trees.Count;

    /// <summary>Number of features the model was fitted on (0 before a fit).</summary>
    public int FeatureCount => _edges.Length;

    /// <summary>Fits a new ensemble on <paramref name="features"/> (rows × <paramref name="featureCount"/>, row-major).</summary>
    public void Fit(ReadOnlySpan<float> features, ReadOnlySpan<float> targets, int featureCount)
    {
        int n = Check(features, targets, featureCount);
        _trees.Clear();
        _edges = BuildEdges(features, n, featureCount, _options.Bins);
        var sorted = targets.ToArray();
        Array.Sort(sorted);
        _init = n == 0 ? 0 : sorted[n / 2];
        Boost(features, targets, featureCount, _options.Trees);
    }

    /// <summary>Adds <paramref name="trees"/> trees fitted to the current residuals of new rows (same features and bins).</summary>
    /// <param name="features">Rows, row-major.</param>
    /// <param name="targets">Targets.</param>
    /// <param name="featureCount">Features per row.</param>
    /// <param name="trees">Trees to add.</param>
    /// <param name="currentPredictions">The model's current predictions of these rows, when the caller already has them.</param>
    public void FitMore(ReadOnlySpan<float> features, ReadOnlySpan<float> targets, int featureCount, int trees, double[]? currentPredictions = null)
    {
        if (_edges.Length != featureCount)
        {
            throw new InvalidOperationException("FitMore needs a model fitted on the same features first.");
        }

        Check(features, targets, featureCount);
        Boost(features, targets, featureCount, trees, currentPredictions);
    }

    /// <summary>Predicts every row of a row-major matrix.</summary>
    public double[] PredictAll(ReadOnlySpan<float> features, int featureCount)
    {
        int n = features.Length / featureCount;
        var result = new double[n];
        for (int i = 0; i < n; i++)
        {
            result[i] = Predict(features.Slice(i * featureCount, featureCount));
        }

        return result;
    }

    /// <summary>Predicts one row.</summary>
    public double Predict(ReadOnlySpan<float> row)
    {
        double sum = _init;
        double lr = _options.LearningRate;
        foreach (var tree in _trees)
        {
            sum += lr * tree.Evaluate(row);
        }

        return sum;
    }

    private static int Check(ReadOnlySpan<float> features, ReadOnlySpan<float> targets, int featureCount)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(featureCount, 1);
        if (features.Length != targets.Length * featureCount)
        {
            throw new ArgumentException($"Expected {targets.Length} rows of {featureCount} features; got {features.Length} values.");
        }

        return targets.Length;
    }

    private void Boost(ReadOnlySpan<float> features, ReadOnlySpan<float> targets, int p, int trees, double[]? currentPredictions = null)
    {
        int n = targets.Length;
        if (n == 0 || trees == 0)
        {
            return;
        }

        // Column-major bins: histogram building walks one feature at a time.
        var bins = new byte[n * p];
        for (int j = 0; j < p; j++)
        {
            var e = _edges[j];
            int offset = j * n;
            for (int i = 0; i < n; i++)
            {
                bins[offset + i] = (byte)BinOf(e, features[(i * p) + j]);
            }
        }

        var prediction = currentPredictions is { } given && given.Length == n ? (double[])given.Clone() : PredictAll(features, p);

        var residual = new double[n];
        var sign = new sbyte[n];
        var node = new int[n];
        int depth = _options.Depth;
        int nodes = (1 << depth) - 1;
        int b = _options.Bins;
        int maxWidth = 1 << (depth - 1);
        var level = new Histogram(maxWidth, p, b);
        var previous = new Histogram(maxWidth, p, b);
        var nodeRows = new int[(2 << depth) + 1];
        var build = new bool[maxWidth];
        for (int t = 0; t < trees; t++)
        {
            for (int i = 0; i < n; i++)
            {
                residual[i] = targets[i] - prediction[i];
                sign[i] = (sbyte)(residual[i] > 0 ? 1 : residual[i] < 0 ? -1 : 0);
                node[i] = 0;
            }

            var feature = new int[nodes];
            var threshold = new int[nodes];
            Array.Fill(feature, -1);
            Array.Clear(nodeRows);
            nodeRows[0] = n;
            for (int d = 0; d < depth; d++)
            {
                int first = (1 << d) - 1;
                int width = 1 << d;
                (level, previous) = (previous, level);
                BuildLevel(bins, sign, node, n, p, first, width, level, previous, nodeRows, build);
                ChooseSplits(level, p, first, width, feature, threshold);
                for (int i = 0; i < n; i++)
                {
                    int nd = node[i];
                    if (nd < first || nd >= first + width)
                    {
                        continue;
                    }

                    int f = feature[nd];
                    int child = f < 0 ? (2 * nd) + 1 : (2 * nd) + 1 + (bins[(f * n) + i] > threshold[nd] ? 1 : 0);
                    node[i] = child;
                    nodeRows[child]++;
                }
            }

            var tree = MakeTree(feature, threshold, node, residual, n, depth);
            _trees.Add(tree);
            for (int i = 0; i < n; i++)
            {
                prediction[i] += _options.LearningRate * tree.LeafValue(node[i]);
            }
        }
    }

    // Histograms of one tree level; the sibling with more rows is derived by subtraction from its parent.
    private void BuildLevel(byte[] bins, sbyte[] sign, int[] node, int n, int p, int first, int width, Histogram level, Histogram parent,
        int[] nodeRows, bool[] build)
    {
        int b = _options.Bins;
        int stride = p * b;
        for (int nd = 0; nd < width; nd++)
        {
            int id = first + nd;
            int sibling = (id & 1) == 1 ? id + 1 : id - 1;
            build[nd] = id == 0 || nodeRows[id] < nodeRows[sibling] || (nodeRows[id] == nodeRows[sibling] && (id & 1) == 1);
            if (build[nd])
            {
                Array.Clear(level.Sums, nd * stride, stride);
                Array.Clear(level.Counts, nd * stride, stride);
            }
        }

        // Branch-free accumulation: each row's histogram base is computed once per level; rows of nodes that are
        // not built (their histogram comes from subtraction) land in a scratch region. Random node membership made
        // the branchy version misprediction-bound.
        var rowBase = _rowBase.Length >= n ? _rowBase : _rowBase = new int[n];
        int scratchBase = width * b;
        Span<int> baseOf = stackalloc int[nodeRows.Length];
        baseOf.Fill(scratchBase);
        for (int nd = 0; nd < width; nd++)
        {
            if (build[nd])
            {
                baseOf[first + nd] = nd * b;
            }
        }

        for (int i = 0; i < n; i++)
        {
            rowBase[i] = baseOf[node[i]];
        }

        var sums = level.Sums;
        var counts = level.Counts;
        // Features in blocks of four: each pass reads the row bases and signs once for four columns.
        int blocks = (p + 3) / 4;
        Parallel.For(0, blocks, block =>
        {
            int j0 = block * 4;
            int m = Math.Min(4, p - j0);
            Accumulate(bins, n, rowBase.AsSpan(0, n), sign, build, sums, counts, width, p, j0, m, b);
        });

        for (int nd = 0; nd < width; nd++)
        {
            if (build[nd])
            {
                continue;
            }

            int id = first + nd;
            int sibling = ((id & 1) == 1 ? id + 1 : id - 1) - first;
            int parentSlot = (((id - 1) / 2) - ((first - 1) / 2)) * stride;
            int own = nd * stride;
            int sib = sibling * stride;
            for (int k = 0; k < stride; k++)
            {
                level.Sums[own + k] = parent.Sums[parentSlot + k] - level.Sums[sib + k];
                level.Counts[own + k] = parent.Counts[parentSlot + k] - level.Counts[sib + k];
            }
        }
    }

    // Histograms of up to four features: the pseudo-responses are signs, so sums are integers; (sum, count) pairs
    // sit side by side so each update touches one cache line.
    private static void Accumulate(byte[] bins, int n, ReadOnlySpan<int> rowBase, ReadOnlySpan<sbyte> sign, ReadOnlySpan<bool> build,
        Span<double> sums, Span<int> counts, int width, int p, int j0, int m, int b)
    {
        int size = 2 * (width + 1) * b;
        int[] rented = System.Buffers.ArrayPool<int>.Shared.Rent(4 * size);
        var all = rented.AsSpan(0, 4 * size);
        all.Clear();
        var h0 = all[..size];
        var h1 = all.Slice(size, size);
        var h2 = all.Slice(2 * size, size);
        var h3 = all.Slice(3 * size, size);
        var c0 = bins.AsSpan(j0 * n, n);
        var c1 = m > 1 ? bins.AsSpan((j0 + 1) * n, n) : c0;
        var c2 = m > 2 ? bins.AsSpan((j0 + 2) * n, n) : c0;
        var c3 = m > 3 ? bins.AsSpan((j0 + 3) * n, n) : c0;
        for (int i = 0; i < n; i++)
        {
            int r = 2 * rowBase[i];
            int g = sign[i];
            int s0 = r + (2 * c0[i]);
            h0[s0] += g;
            h0[s0 + 1]++;
            int s1 = r + (2 * c1[i]);
            h1[s1] += g;
            h1[s1 + 1]++;
            int s2 = r + (2 * c2[i]);
            h2[s2] += g;
            h2[s2 + 1]++;
            int s3 = r + (2 * c3[i]);
            h3[s3] += g;
            h3[s3 + 1]++;
        }

        for (int f = 0; f < m; f++)
        {
            var h = all.Slice(f * size, size);
            int j = j0 + f;
            for (int nd = 0; nd < width; nd++)
            {
                if (!build[nd])
                {
                    continue;
                }

                int slot = ((nd * p) + j) * b;
                for (int k = 0; k < b; k++)
                {
                    int local = 2 * ((nd * b) + k);
                    sums[slot + k] = h[local];
                    counts[slot + k] = h[local + 1];
                }
            }
        }

        System.Buffers.ArrayPool<int>.Shared.Return(rented);
    }

    private void ChooseSplits(Histogram level, int p, int first, int width, int[] feature, int[] threshold)
    {
        int b = _options.Bins;
        int minLeaf = _options.MinLeaf;
        for (int nd = 0; nd < width; nd++)
        {
            double total = 0;
            int totalCount = 0;
            int baseSlot = nd * p * b;
            for (int k = 0; k < b; k++)
            {
                total += level.Sums[baseSlot + k];
                totalCount += level.Counts[baseSlot + k];
            }

            if (totalCount < 2 * minLeaf)
            {
                continue;
            }

            double parentScore = total * total / totalCount;
            double best = 1e-9;
            int bestFeature = -1, bestBin = 0;
            for (int j = 0; j < p; j++)
            {
                int slot = ((nd * p) + j) * b;
                double left = 0;
                int leftCount = 0;
                for (int k = 0; k < b - 1; k++)
                {
                    left += level.Sums[slot + k];
                    leftCount += level.Counts[slot + k];
                    int rightCount = totalCount - leftCount;
                    if (leftCount < minLeaf)
                    {
                        continue;
                    }

                    if (rightCount < minLeaf)
                    {
                        break;
                    }

                    double right = total - left;
                    double gain = (left * left / leftCount) + (right * right / rightCount) - parentScore;
                    if (gain > best)
                    {
                        best = gain;
                        bestFeature = j;
                        bestBin = k;
                    }
                }
            }

            feature[first + nd] = bestFeature;
            threshold[first + nd] = bestBin;
        }
    }

    private sealed class Histogram(int nodes, int features, int bins)
    {
        public double[] Sums { get; } = new double[nodes * features * bins];

        public int[] Counts { get; } = new int[nodes * features * bins];
    }

    private Tree MakeTree(int[] feature, int[] threshold, int[] node, double[] residual, int n, int depth)
    {
        int firstLeaf = (1 << depth) - 1;
        int leaves = 1 << depth;
        var counts = new int[leaves];
        for (int i = 0; i < n; i++)
        {
            counts[node[i] - firstLeaf]++;
        }

        var start = new int[leaves + 1];
        for (int l = 0; l < leaves; l++)
        {
            start[l + 1] = start[l] + counts[l];
        }

        var grouped = new double[n];
        var cursor = (int[])start.Clone();
        for (int i = 0; i < n; i++)
        {
            int l = node[i] - firstLeaf;
            grouped[cursor[l]++] = residual[i];
        }

        var values = new double[leaves];
        for (int l = 0; l < leaves; l++)
        {
            int c = counts[l];
            if (c == 0)
            {
                continue;
            }

            var span = grouped.AsSpan(start[l], c);
            double upper = Select(span, c / 2);
            values[l] = (c & 1) == 1 ? upper : (MaxOf(span[..(c / 2)]) + upper) / 2;
        }

        var thresholds = new float[feature.Length];
        for (int k = 0; k < feature.Length; k++)
        {
            int f = feature[k];
            thresholds[k] = f < 0 ? float.PositiveInfinity : threshold[k] < _edges[f].Length ? _edges[f][threshold[k]] : float.PositiveInfinity;
        }

        return new Tree(feature, thresholds, values, depth);
    }

    // Hoare's selection: the k-th smallest (0-based); afterwards span[..k] holds the smaller values.
    private static double Select(Span<double> span, int k)
    {
        int lo = 0, hi = span.Length - 1;
        while (lo < hi)
        {
            double pivot = span[(lo + hi) >>> 1];
            int i = lo, j = hi;
            while (i <= j)
            {
                while (span[i] < pivot)
                {
                    i++;
                }

                while (span[j] > pivot)
                {
                    j--;
                }

                if (i <= j)
                {
                    (span[i], span[j]) = (span[j], span[i]);
                    i++;
                    j--;
                }
            }

            if (k <= j)
            {
                hi = j;
            }
            else if (k >= i)
            {
                lo = i;
            }
            else
            {
                break;
            }
        }

        return span[k];
    }

    private static double MaxOf(ReadOnlySpan<double> span)
    {
        double max = double.NegativeInfinity;
        foreach (double v in span)
        {
            max = Math.Max(max, v);
        }

        return max;
    }

    private static float[][] BuildEdges(ReadOnlySpan<float> features, int n, int p, int bins)
    {
        var edges = new float[p][];
        int sample = Math.Min(n, 50_000);
        int stride = Math.Max(1, n / Math.Max(1, sample));
        var values = new float[(n + stride - 1) / stride];
        for (int j = 0; j < p; j++)
        {
            int m = 0;
            for (int i = 0; i < n; i += stride)
            {
                values[m++] = features[(i * p) + j];
            }

            Array.Sort(values, 0, m);
            var list = new List<float>(bins);
            for (int k = 1; k < bins; k++)
            {
                float v = values[(int)((long)k * (m - 1) / bins)];
                if (list.Count == 0 || v > list[^1])
                {
                    list.Add(v);
                }
            }

            edges[j] = [.. list];
        }

        return edges;
    }

    // Bin k holds values in (edges[k-1], edges[k]]; values above the last edge fall in the last bin.
    private static int BinOf(float[] edges, float value)
    {
        int lo = 0, hi = edges.Length;
        while (lo < hi)
        {
            int mid = (lo + hi) >> 1;
            if (value > edges[mid])
            {
                lo = mid + 1;
            }
            else
            {
                hi = mid;
            }
        }

        return lo;
    }

    private sealed class Tree(int[] feature, float[] threshold, double[] leaves, int depth)
    {
        public double LeafValue(int node) => leaves[node - ((1 << depth) - 1)];

        public double Evaluate(ReadOnlySpan<float> row)
        {
            int nd = 0;
            for (int d = 0; d < depth; d++)
            {
                int f = feature[nd];
                nd = f < 0 ? (2 * nd) + 1 : (2 * nd) + 1 + (row[f] > threshold[nd] ? 1 : 0);
            }

            return leaves[nd - ((1 << depth) - 1)];
        }
    }
}
