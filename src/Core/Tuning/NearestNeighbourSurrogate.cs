namespace VmEcosystem.Tuning;

/// <summary>
/// The surrogate model behind guided mutation: k-nearest-neighbour regression over the evaluation history (genomes
/// scaled to [0, 1] per gene, inverse-distance weights), a small regression that needs no training step and follows
/// any shape of fitness landscape. Holds the last <c>capacity</c> evaluations in flat arrays (a ring), so predicting
/// allocates nothing.
/// </summary>
internal sealed class NearestNeighbourSurrogate
{
    private readonly double[] _min;
    private readonly double[] _scale;
    private readonly double[] _points;
    private readonly double[] _values;
    private readonly int _genes;
    private readonly int _k;
    private readonly double[] _bestDistances;
    private readonly double[] _bestValues;
    private int _next;

    public NearestNeighbourSurrogate(double[] min, double[] max, int capacity = 2048, int neighbours = 5)
    {
        _genes = min.Length;
        _min = min;
        _scale = new double[_genes];
        for (int g = 0; g < _genes; g++)
        {
            _scale[g] = max[g] > min[g] ? 1 / (max[g] - min[g]) : 0;
        }

        _points = new double[capacity * _genes];
        _values = new double[capacity];
        _k = neighbours;
        _bestDistances = new double[neighbours];
        _bestValues = new double[neighbours];
    }

    /// <summary>Evaluations held (at most the capacity).</summary>
    public int Count { get; private set; }

    /// <summary>Adds an evaluated genome (replacing the oldest once full). Not thread-safe: called between generations.</summary>
    public void Add(ReadOnlySpan<double> genome, double fitness)
    {
        if (!double.IsFinite(fitness))
        {
            return;
        }

        var point = _points.AsSpan(_next * _genes, _genes);
        for (int g = 0; g < _genes; g++)
        {
            point[g] = (genome[g] - _min[g]) * _scale[g];
        }

        _values[_next] = fitness;
        _next = (_next + 1) % _values.Length;
        Count = Math.Min(Count + 1, _values.Length);
    }

    /// <summary>The evaluations held, oldest first, as genomes (in the engine's units) and their fitness; for checkpoints.</summary>
    public (double[] Genomes, double[] Fitness) Export()
    {
        var genomes = new double[Count * _genes];
        var fitness = new double[Count];
        int start = Count < _values.Length ? 0 : _next;
        for (int k = 0; k < Count; k++)
        {
            int i = (start + k) % _values.Length;
            for (int g = 0; g < _genes; g++)
            {
                genomes[(k * _genes) + g] = _scale[g] == 0 ? _min[g] : _min[g] + (_points[(i * _genes) + g] / _scale[g]);
            }

            fitness[k] = _values[i];
        }

        return (genomes, fitness);
    }

    /// <summary>The predicted fitness of <paramref name="genome"/> (an exact match returns its value).</summary>
    public double Predict(ReadOnlySpan<double> genome)
    {
        int found = 0;
        for (int i = 0; i < Count; i++)
        {
            var point = _points.AsSpan(i * _genes, _genes);
            double d = 0;
            for (int g = 0; g < _genes; g++)
            {
                double x = ((genome[g] - _min[g]) * _scale[g]) - point[g];
                d += x * x;
            }

            if (found < _k)
            {
                Insert(found++, d, _values[i]);
            }
            else if (d < _bestDistances[_k - 1])
            {
                Insert(_k - 1, d, _values[i]);
            }
        }

        double weights = 0, sum = 0;
        for (int j = 0; j < found; j++)
        {
            if (_bestDistances[j] < 1e-12)
            {
                return _bestValues[j];
            }

            double w = 1 / Math.Sqrt(_bestDistances[j]);
            weights += w;
            sum += w * _bestValues[j];
        }

        return found == 0 ? 0 : sum / weights;
    }

    // Places (distance, value) at slot `at` or earlier, keeping the first slots sorted by distance.
    private void Insert(int at, double distance, double value)
    {
        int j = at;
        while (j > 0 && _bestDistances[j - 1] > distance)
        {
            _bestDistances[j] = _bestDistances[j - 1];
            _bestValues[j] = _bestValues[j - 1];
            j--;
        }

        _bestDistances[j] = distance;
        _bestValues[j] = value;
    }
}
