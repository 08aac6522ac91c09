namespace VmEcosystem.Cluster;

/// <summary>Identifies a physical host. Compared ordinally.</summary>
/// <param name="Value">The provider's stable host identifier (name, UUID or URI).</param>
public readonly record struct HostId(string Value) : IComparable<HostId>
{
    /// <summary>The identifier text.</summary>
    public string Value { get; } = Require(Value, nameof(HostId));

    /// <inheritdoc />
    public int CompareTo(HostId other) => string.CompareOrdinal(Value, other.Value);

    /// <inheritdoc />
    public override string ToString() => Value;

    internal static string Require(string? value, string kind)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            throw new ArgumentException($"A {kind} must be a non-empty string.", nameof(value));
        }

        return value;
    }
}

/// <summary>Identifies a virtual machine. Compared ordinally.</summary>
/// <param name="Value">The provider's stable VM identifier (name or UUID).</param>
public readonly record struct VmId(string Value) : IComparable<VmId>
{
    /// <summary>The identifier text.</summary>
    public string Value { get; } = HostId.Require(Value, nameof(VmId));

    /// <inheritdoc />
    public int CompareTo(VmId other) => string.CompareOrdinal(Value, other.Value);

    /// <inheritdoc />
    public override string ToString() => Value;
}

/// <summary>Identifies a host set: a group of hosts that share headroom, forecasts and policies.</summary>
/// <param name="Value">The host set name.</param>
public readonly record struct HostSetId(string Value)
{
    /// <summary>The identifier text.</summary>
    public string Value { get; } = HostId.Require(Value, nameof(HostSetId));

    /// <inheritdoc />
    public override string ToString() => Value;
}
