using Microsoft.Extensions.Options;

namespace VmEcosystem.Hosting;

/// <summary>Library-wide settings (section <c>VmEcosystem</c>).</summary>
public sealed class VmEcosystemOptions
{
    /// <summary>Seed of every random choice the library makes; equal seeds give identical runs.</summary>
    public int Seed { get; set; } = 42;
}

/// <summary>Seeded randomness for library components: each purpose gets its own reproducible stream.</summary>
public sealed class RandomSource
{
    private readonly int _seed;

    /// <summary>Creates a source from the configured seed.</summary>
    public RandomSource(IOptions<VmEcosystemOptions> options)
        : this((options ?? throw new ArgumentNullException(nameof(options))).Value.Seed)
    {
    }

    /// <summary>Creates a source from a seed.</summary>
    public RandomSource(int seed) => _seed = seed;

    /// <summary>The seed.</summary>
    public int Seed => _seed;

    /// <summary>A new random generator for <paramref name="purpose"/>; the same seed and purpose give the same sequence.</summary>
    public Random Create(string purpose)
    {
        ArgumentNullException.ThrowIfNull(purpose);
        // FNV-1a: stable across processes, unlike string.GetHashCode.
        uint hash = 2166136261;
        foreach (char c in purpose)
        {
            hash = (hash ^ c) * 16777619;
        }

        return new Random(unchecked((int)hash ^ _seed));
    }
}
