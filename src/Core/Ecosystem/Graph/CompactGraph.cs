namespace VmEcosystem.Ecosystem.Graph;

/// <summary>
/// An immutable directed graph in compressed sparse row form (offsets and targets arrays), for whole-graph
/// algorithms: weakly and strongly connected components, breadth-first search. Vertices are 0..n-1.
/// </summary>
public sealed class CompactGraph
{
    private readonly int[] _offsets;
    private readonly int[] _targets;

    private CompactGraph(int[] offsets, int[] targets)
    {
        _offsets = offsets;
        _targets = targets;
    }

    /// <summary>Number of vertices.</summary>
    public int VertexCount => _offsets.Length - 1;

    /// <summary>Number of edges.</summary>
    public int EdgeCount => _targets.Length;

    /// <summary>Builds a graph from an edge list (counting sort by source: O(n + m)).</summary>
    public static CompactGraph FromEdges(int vertexCount, IReadOnlyList<(int From, int To)> edges)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(vertexCount);
        var offsets = new int[vertexCount + 1];
        for (int i = 0; i < edges.Count; i++)
        {
            var (from, to) = edges[i];
            if ((uint)from >= (uint)vertexCount || (uint)to >= (uint)vertexCount)
            {
                throw new ArgumentOutOfRangeException(nameof(edges), $"Edge {i} ({from} -> {to}) leaves 0..{vertexCount - 1}.");
            }

            offsets[from + 1]++;
        }

        for (int v = 0; v < vertexCount; v++)
        {
            offsets[v + 1] += offsets[v];
        }

        var targets = new int[edges.Count];
        var next = offsets.AsSpan(0, vertexCount).ToArray();
        for (int i = 0; i < edges.Count; i++)
        {
            targets[next[edges[i].From]++] = edges[i].To;
        }

        return new CompactGraph(offsets, targets);
    }

    /// <summary>Builds a graph from parallel source and target arrays.</summary>
    public static CompactGraph FromEdges(int vertexCount, ReadOnlySpan<int> from, ReadOnlySpan<int> to)
    {
        if (from.Length != to.Length)
        {
            throw new ArgumentException("Source and target arrays differ in length.");
        }

        var offsets = new int[vertexCount + 1];
        for (int i = 0; i < from.Length; i++)
        {
            if ((uint)from[i] >= (uint)vertexCount || (uint)to[i] >= (uint)vertexCount)
            {
                throw new ArgumentOutOfRangeException(nameof(from), $"Edge {i} ({from[i]} -> {to[i]}) leaves 0..{vertexCount - 1}.");
            }

            offsets[from[i] + 1]++;
        }

        for (int v = 0; v < vertexCount; v++)
        {
            offsets[v + 1] += offsets[v];
        }

        var targets = new int[from.Length];
        var next = offsets.AsSpan(0, vertexCount).ToArray();
        for (int i = 0; i < from.Length; i++)
        {
            targets[next[from[i]]++] = to[i];
        }

        return new CompactGraph(offsets, targets);
    }

    /// <summary>Successors of <paramref name="vertex"/>.</summary>
    public ReadOnlySpan<int> OutEdges(int vertex) => _targets.AsSpan(_offsets[vertex], _offsets[vertex + 1] - _offsets[vertex]);

    /// <summary>The graph with every edge reversed.</summary>
    public CompactGraph Reverse()
    {
        int n = VertexCount;
        var from = new int[_targets.Length];
        for (int v = 0; v < n; v++)
        {
            for (int e = _offsets[v]; e < _offsets[v + 1]; e++)
            {
                from[e] = v;
            }
        }

        return FromEdges(n, _targets, from);
    }

    /// <summary>Weakly connected components: a component id per vertex (ids 0..count-1 in order of first vertex).</summary>
    public int[] WeaklyConnectedComponents(out int count)
    {
        int n = VertexCount;
        var uf = new UnionFind(n);
        for (int v = 0; v < n; v++)
        {
            for (int e = _offsets[v]; e < _offsets[v + 1]; e++)
            {
                uf.Union(v, _targets[e]);
            }
        }

        var component = new int[n];
        var idOfRoot = new int[n];
        Array.Fill(idOfRoot, -1);
        count = 0;
        for (int v = 0; v < n; v++)
        {
            int root = uf.Find(v);
            if (idOfRoot[root] < 0)
            {
                idOfRoot[root] = count++;
            }

            component[v] = idOfRoot[root];
        }

        return component;
    }

    /// <summary>Strongly connected components (iterative Tarjan, no recursion): a component id per vertex.</summary>
    public int[] StronglyConnectedComponents(out int count)
    {
        int n = VertexCount;
        var index = new int[n];
        var low = new int[n];
        var component = new int[n];
        Array.Fill(index, -1);
        var onStack = new bool[n];
        var stack = new int[n];
        int stackTop = 0;
        var callVertex = new int[n];
        var callEdge = new int[n];
        int nextIndex = 0;
        count = 0;
        for (int root = 0; root < n; root++)
        {
            if (index[root] >= 0)
            {
                continue;
            }

            int depth = 0;
            callVertex[0] = root;
            callEdge[0] = _offsets[root];
            index[root] = low[root] = nextIndex++;
            stack[stackTop++] = root;
            onStack[root] = true;
            while (depth >= 0)
            {
                int v = callVertex[depth];
                int e = callEdge[depth];
                if (e < _offsets[v + 1])
                {
                    callEdge[depth] = e + 1;
                    int w = _targets[e];
                    if (index[w] < 0)
                    {
                        index[w] = low[w] = nextIndex++;
                        stack[stackTop++] = w;
                        onStack[w] = true;
                        depth++;
                        callVertex[depth] = w;
                        callEdge[depth] = _offsets[w];
                    }
                    else if (onStack[w] && index[w] < low[v])
                    {
                        low[v] = index[w];
                    }

                    continue;
                }

                if (low[v] == index[v])
                {
                    int w;
                    do
                    {
                        w = stack[--stackTop];
                        onStack[w] = false;
                        component[w] = count;
                    }
                    while (w != v);
                    count++;
                }

                depth--;
                if (depth >= 0)
                {
                    int parent = callVertex[depth];
                    if (low[v] < low[parent])
                    {
                        low[parent] = low[v];
                    }
                }
            }
        }

        return component;
    }

    /// <summary>Breadth-first search: hop distance from <paramref name="source"/> per vertex (-1 unreachable).</summary>
    public int[] BreadthFirst(int source)
    {
        int n = VertexCount;
        var distance = new int[n];
        Array.Fill(distance, -1);
        var queue = new int[n];
        int head = 0, tail = 0;
        distance[source] = 0;
        queue[tail++] = source;
        while (head < tail)
        {
            int v = queue[head++];
            int next = distance[v] + 1;
            for (int e = _offsets[v]; e < _offsets[v + 1]; e++)
            {
                int w = _targets[e];
                if (distance[w] < 0)
                {
                    distance[w] = next;
                    queue[tail++] = w;
                }
            }
        }

        return distance;
    }
}

/// <summary>Disjoint sets with path halving and union by size.</summary>
internal sealed class UnionFind
{
    private readonly int[] _parent;
    private readonly int[] _size;

    public UnionFind(int n)
    {
        _parent = new int[n];
        _size = new int[n];
        for (int i = 0; i < n; i++)
        {
            _parent[i] = i;
            _size[i] = 1;
        }
    }

    public int Find(int x)
    {
        while (_parent[x] != x)
        {
            _parent[x] = _parent[_parent[x]];
            x = _parent[x];
        }

        return x;
    }

    public void Union(int a, int b)
    {
        a = Find(a);
        b = Find(b);
        if (a == b)
        {
            return;
        }

        if (_size[a] < _size[b])
        {
            (a, b) = (b, a);
        }

        _parent[b] = a;
        _size[a] += _size[b];
    }
}
