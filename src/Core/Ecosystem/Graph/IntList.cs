using System.Runtime.CompilerServices;

namespace VmEcosystem.Ecosystem.Graph;

/// <summary>A growable list of ints stored inline in arrays of the graph (no object per list until it has items).</summary>
internal struct IntList
{
    private int[]? _items;

    public int Count { readonly get; private set; }

    /// <summary>An empty list with room for <paramref name="capacity"/> items (one allocation when the size is known).</summary>
    public static IntList WithCapacity(int capacity) => new() { _items = capacity > 0 ? new int[capacity] : null };

    public readonly ReadOnlySpan<int> AsSpan() => _items is null ? default : _items.AsSpan(0, Count);

    public readonly int this[int index] => _items![index];

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Add(int value)
    {
        if (_items is null || Count == _items.Length)
        {
            Array.Resize(ref _items, Math.Max(2, Count * 2));
        }

        _items[Count++] = value;
    }

    /// <summary>Removes one occurrence by swapping the last item in (order is not kept).</summary>
    public bool Remove(int value)
    {
        for (int i = 0; i < Count; i++)
        {
            if (_items![i] == value)
            {
                _items[i] = _items[--Count];
                return true;
            }
        }

        return false;
    }

    public void Clear()
    {
        Count = 0;
        if (_items is { Length: > 64 })
        {
            _items = null;
        }
    }
}
