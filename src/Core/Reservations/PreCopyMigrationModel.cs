namespace VmEcosystem.Reservations;

/// <summary>Settings of the <see cref="PreCopyMigrationModel"/>.</summary>
public sealed record PreCopyModelOptions
{
    /// <summary>Most pre-copy rounds before the stop-and-copy is forced (Xen stops after 29 rounds: Clark et al. 2005).</summary>
    public int MaxRounds { get; init; } = 30;

    /// <summary>Downtime the hypervisor aims for: it stops the guest once the rest can be sent this fast (libvirt/QEMU default 300 ms).</summary>
    public TimeSpan TargetDowntime { get; init; } = TimeSpan.FromMilliseconds(300);

    /// <summary>Fixed cost of the switch-over (suspend, device state, resume on the destination), added to the downtime (Akoush et al. 2010).</summary>
    public TimeSpan SwitchOver { get; init; } = TimeSpan.FromMilliseconds(20);

    /// <summary>
    /// A round that sends at least this share of the previous round's volume makes no progress: the copy does not
    /// converge (dirty rate ≥ bandwidth) and the hypervisor stops and copies what is left.
    /// </summary>
    public double NoProgressRatio { get; init; } = 0.95;

    /// <summary>
    /// CPU the source host spends per MiB/s of copy rate (the hypervisor's migration thread: reading, dirty-page
    /// tracking, sending). Default 10 MHz per MiB/s: about half a 2.6 GHz core at 1 Gbit/s, the order of the source
    /// overhead QEMU shows (Liu et al., HPDC 2011 found migration cost linear in the data sent).
    /// </summary>
    public double SourceCpuMhzPerMiBps { get; init; } = 10;

    /// <summary>CPU the destination host spends per MiB/s of copy rate (receiving and writing pages). Default 6 MHz per MiB/s.</summary>
    public double DestinationCpuMhzPerMiBps { get; init; } = 6;

    /// <summary>CPU the source and destination spend on a copy running at <paramref name="copyMiBps"/>, MHz.</summary>
    public (double SourceMhz, double DestinationMhz) CpuOverhead(double copyMiBps) =>
        (SourceCpuMhzPerMiBps * copyMiBps, DestinationCpuMhzPerMiBps * copyMiBps);

    /// <summary>Problems with these settings, each naming the setting (empty when valid).</summary>
    public IEnumerable<string> Validate(string prefix = "PreCopyModel")
    {
        if (!(SourceCpuMhzPerMiBps >= 0) || !(DestinationCpuMhzPerMiBps >= 0) || double.IsInfinity(SourceCpuMhzPerMiBps) || double.IsInfinity(DestinationCpuMhzPerMiBps))
        {
            yield return $"{prefix}:SourceCpuMhzPerMiBps and DestinationCpuMhzPerMiBps must be finite numbers >= 0 (were {SourceCpuMhzPerMiBps}, {DestinationCpuMhzPerMiBps}).";
        }

        if (MaxRounds is < 1 or > 1000)
        {
            yield return $"{prefix}:MaxRounds must be between 1 and 1000 (was {MaxRounds}).";
        }

        if (TargetDowntime <= TimeSpan.Zero || TargetDowntime > TimeSpan.FromMinutes(1))
        {
            yield return $"{prefix}:TargetDowntime must be above 0 and at most 1 minute (was {TargetDowntime}).";
        }

        if (SwitchOver < TimeSpan.Zero || SwitchOver > TimeSpan.FromMinutes(1))
        {
            yield return $"{prefix}:SwitchOver must be between 0 and 1 minute (was {SwitchOver}).";
        }

        if (!(NoProgressRatio is > 0 and <= 1))
        {
            yield return $"{prefix}:NoProgressRatio must be within (0, 1] (was {NoProgressRatio}).";
        }
    }
}

/// <summary>What a pre-copy live migration costs under the model.</summary>
/// <param name="Rounds">Pre-copy rounds, the first full copy included (the stop-and-copy is not a round).</param>
/// <param name="TransferredMiB">Memory sent in all rounds and the stop-and-copy.</param>
/// <param name="PreCopySeconds">Time of the rounds (the guest runs).</param>
/// <param name="DowntimeSeconds">Stop-and-copy plus switch-over (the guest is paused).</param>
/// <param name="Converged">False when the rounds stopped making progress or hit the round limit with more left than the target downtime allows.</param>
public readonly record struct PreCopyEstimate(int Rounds, double TransferredMiB, double PreCopySeconds, double DowntimeSeconds, bool Converged)
{
    /// <summary>Total duration, seconds.</summary>
    public double TotalSeconds => PreCopySeconds + DowntimeSeconds;
}

/// <summary>
/// The iterative pre-copy model of live migration (Clark et al., NSDI 2005; Akoush et al., MASCOTS 2010; Liu et al.,
/// HPDC 2011): round 0 sends the whole memory M at bandwidth B; each next round sends what the guest dirtied while
/// the previous one ran, Vᵢ = min(M, D·tᵢ₋₁) at dirty rate D, so volumes shrink geometrically by D/B when D &lt; B.
/// The hypervisor stops the guest when the rest fits in the target downtime (Vᵢ/B ≤ target), when a round makes no
/// progress (D ≥ B), or after the round limit, and sends the rest while paused: downtime = V/B + switch-over.
/// Plain arithmetic, no allocation; deterministic.
/// </summary>
public sealed class PreCopyMigrationModel
{
    private readonly PreCopyModelOptions _options;

    /// <summary>Creates the model.</summary>
    /// <exception cref="ArgumentException">Invalid options; the message names the setting.</exception>
    public PreCopyMigrationModel(PreCopyModelOptions? options = null)
    {
        _options = options ?? new PreCopyModelOptions();
        var errors = _options.Validate().ToArray();
        if (errors.Length > 0)
        {
            throw new ArgumentException(string.Join(" ", errors), nameof(options));
        }
    }

    /// <summary>The settings.</summary>
    public PreCopyModelOptions Options => _options;

    /// <summary>Estimates a migration of <paramref name="memoryMiB"/> dirtied at <paramref name="dirtyMiBps"/> over <paramref name="bandwidthMiBps"/>.</summary>
    /// <param name="memoryMiB">Memory to copy, MiB.</param>
    /// <param name="dirtyMiBps">Rate at which the guest dirties memory, MiB/s.</param>
    /// <param name="bandwidthMiBps">Bandwidth the migration gets, MiB/s.</param>
    /// <param name="roundVolumes">When not empty, receives the volume of each pre-copy round (as many as fit).</param>
    /// <exception cref="ArgumentOutOfRangeException">Memory or dirty rate negative or not finite, or bandwidth not positive.</exception>
    public PreCopyEstimate Estimate(double memoryMiB, double dirtyMiBps, double bandwidthMiBps, Span<double> roundVolumes = default)
    {
        if (!double.IsFinite(memoryMiB) || memoryMiB < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(memoryMiB), memoryMiB, "Memory must be a finite number >= 0.");
        }

        if (!double.IsFinite(dirtyMiBps) || dirtyMiBps < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(dirtyMiBps), dirtyMiBps, "The dirty rate must be a finite number >= 0.");
        }

        if (!double.IsFinite(bandwidthMiBps) || bandwidthMiBps <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(bandwidthMiBps), bandwidthMiBps, "The bandwidth must be a finite number > 0.");
        }

        double stopAt = bandwidthMiBps * _options.TargetDowntime.TotalSeconds;
        double volume = memoryMiB, sent = 0, seconds = 0;
        int rounds = 0;
        bool converged = true;
        while (true)
        {
            if (rounds > 0 && volume <= stopAt)
            {
                break; // the rest fits in the target downtime
            }

            if (rounds >= _options.MaxRounds)
            {
                converged = false;
                break;
            }

            // One round: send `volume`; meanwhile the guest dirties the next round's volume (never more than its memory).
            double t = volume / bandwidthMiBps;
            if (rounds < roundVolumes.Length)
            {
                roundVolumes[rounds] = volume;
            }

            sent += volume;
            seconds += t;
            rounds++;
            double next = Math.Min(memoryMiB, dirtyMiBps * t);
            if (rounds > 1 && next >= _options.NoProgressRatio * volume)
            {
                volume = next;
                converged = next <= stopAt;
                break;
            }

            volume = next;
        }

        double downtime = (volume / bandwidthMiBps) + _options.SwitchOver.TotalSeconds;
        return new PreCopyEstimate(rounds, sent + volume, seconds, downtime, converged);
    }
}
