namespace VmEcosystem.Planning;

/// <summary>A set of host indexes with O(1) add, test and count; reused across passes without clearing memory.</summary>
internal sealed class HostMask
{
    private int[] _stamp;
    private int _generation = 1;

    /// <summary>Creates an empty mask for <paramref name="hosts"/> hosts.</summary>
    public HostMask(int hosts) => _stamp = new int[hosts];

    /// <summary>Number of hosts in the set.</summary>
    public int Count { get; private set; }

    /// <summary>True when the host is in the set.</summary>
    public bool Contains(int host) => _stamp[host] == _generation;

    /// <summary>Adds a host; returns false when it was already there.</summary>
    public bool Add(int host)
    {
        if (_stamp[host] == _generation)
        {
            return false;
        }

        _stamp[host] = _generation;
        Count++;
        return true;
    }

    /// <summary>Removes a host; returns false when it was not there.</summary>
    public bool Remove(int host)
    {
        if (_stamp[host] != _generation)
        {
            return false;
        }

        _stamp[host] = 0;
        Count--;
        return true;
    }

    /// <summary>Adds every host of another mask.</summary>
    public void UnionWith(HostMask other)
    {
        for (int h = 0; h < _stamp.Length; h++)
        {
            if (other.Contains(h))
            {
                Add(h);
            }
        }
    }

    /// <summary>Empties the set (and resizes it to <paramref name="hosts"/>).</summary>
    public void Clear(int hosts)
    {
        if (_stamp.Length != hosts)
        {
            _stamp = new int[hosts];
            _generation = 1;
        }
        else if (++_generation == int.MaxValue)
        {
            Array.Clear(_stamp);
            _generation = 1;
        }

        Count = 0;
    }
}
