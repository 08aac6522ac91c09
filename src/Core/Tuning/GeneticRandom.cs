namespace VmEcosystem.Tuning;

/// <summary>
/// The engine's random stream: xoshiro256** seeded (through SplitMix64) from one draw of the injected
/// <see cref="Random"/>, so a run is still fixed by the caller's seed, at a fraction of the seeded
/// <see cref="Random"/>'s cost per draw (the GA draws several numbers per gene).
/// </summary>
internal sealed class GeneticRandom
{
    private ulong _s0, _s1, _s2, _s3;

    public GeneticRandom(Random seed)
    {
        ulong x = (ulong)seed.NextInt64();
        _s0 = SplitMix(ref x);
        _s1 = SplitMix(ref x);
        _s2 = SplitMix(ref x);
        _s3 = SplitMix(ref x);
    }

    /// <summary>A stream continuing from a saved state (<see cref="State"/>).</summary>
    public GeneticRandom(ulong[] state)
    {
        if (state.Length != 4 || state.All(x => x == 0))
        {
            throw new ArgumentException("A xoshiro256** state is four numbers, not all zero.", nameof(state));
        }

        (_s0, _s1, _s2, _s3) = (state[0], state[1], state[2], state[3]);
    }

    /// <summary>The stream's state, to resume it.</summary>
    public ulong[] State => [_s0, _s1, _s2, _s3];

    /// <summary>A standard normal draw (Box–Muller, one of the pair).</summary>
    public double NextGaussian() => Math.Sqrt(-2 * Math.Log(1 - NextDouble())) * Math.Cos(2 * Math.PI * NextDouble());

    public ulong NextUInt64()
    {
        ulong result = ulong.RotateLeft(_s1 * 5, 7) * 9;
        ulong t = _s1 << 17;
        _s2 ^= _s0;
        _s3 ^= _s1;
        _s1 ^= _s2;
        _s0 ^= _s3;
        _s2 ^= t;
        _s3 = ulong.RotateLeft(_s3, 45);
        return result;
    }

    /// <summary>Uniform in [0, 1) with 53 random bits.</summary>
    public double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));

    /// <summary>Uniform in [0, n) (Lemire's multiply-shift; the bias is below 2^-32 for the sizes used here).</summary>
    public int Next(int n) => (int)(((NextUInt64() >> 32) * (ulong)n) >> 32);

    private static ulong SplitMix(ref ulong x)
    {
        ulong z = x += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
