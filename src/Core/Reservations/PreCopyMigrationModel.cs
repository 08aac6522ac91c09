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

    /// <summary>
    /// Disk operations the destination performs per MiB/s of memory copy. Default 0: QEMU/KVM (and the simulator)
    /// write received pages into the guest's RAM, not to disk; a hypervisor that spools incoming memory or backs guest
    /// memory with files sets it.
    /// </summary>
    public double DestinationDiskIopsPerMiBps { get; init; }

    /// <summary>
    /// Size of the destination's writes when a move copies storage, KiB (QEMU's drive-mirror writes in clusters of the
    /// image's granularity: 64 KiB for qcow2 by default): a storage copy at r MiB/s costs r × 1024 / this IOPS.
    /// </summary>
    public double StorageBlockKiB { get; init; } = 64;

    /// <summary>Disk operations per second the destination performs for a memory copy and a storage copy at the given rates.</summary>
    public double DestinationDiskIops(double memoryCopyMiBps, double storageCopyMiBps) =>
        (Math.Max(0, memoryCopyMiBps) * DestinationDiskIopsPerMiBps) + (Math.Max(0, storageCopyMiBps) * 1024 / StorageBlockKiB);

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

        if (!(DestinationDiskIopsPerMiBps >= 0) || double.IsInfinity(DestinationDiskIopsPerMiBps))
        {
            yield return $"{prefix}:DestinationDiskIopsPerMiBps must be a finite number >= 0 (was {DestinationDiskIopsPerMiBps}).";
        }

        if (!(StorageBlockKiB is >= 0.5 and <= 65536))
        {
            yield return $"{prefix}:StorageBlockKiB must be between 0.5 and 65536 (was {StorageBlockKiB}).";
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
    /// <summary>Time of the storage copy's rounds before the memory rounds begin, seconds (0 when no storage is copied).</summary>
    public double StorageSeconds { get; init; }

    /// <summary>Storage sent: its rounds, the guest's writes mirrored during the memory rounds, and its rest at the switch-over, MiB (included in <see cref="TransferredMiB"/>).</summary>
    public double StorageTransferredMiB { get; init; }

    /// <summary>Rate of the guest's writes mirrored to the destination during the memory rounds, MiB/s (0 without a storage copy).</summary>
    public double MirrorMiBps { get; init; }

    /// <summary>Total duration, seconds.</summary>
    public double TotalSeconds => StorageSeconds + PreCopySeconds + DowntimeSeconds;
}

/// <summary>A move's local storage copy (disks not shared between source and destination).</summary>
/// <param name="DiskMiB">Storage to copy, MiB.</param>
/// <param name="WriteMiBps">Rate at which the guest writes to it (its dirty-block rate), MiB/s.</param>
public readonly record struct StorageCopy(double DiskMiB, double WriteMiBps);

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

        var r = Rounds(memoryMiB, dirtyMiBps, bandwidthMiBps, roundVolumes);
        double downtime = (r.Left / bandwidthMiBps) + _options.SwitchOver.TotalSeconds;
        return new PreCopyEstimate(r.Count, r.Sent + r.Left, r.Seconds, downtime, r.Converged);
    }

    /// <summary>
    /// Estimates a migration that also copies the VM's storage (disks not shared; Bradford et al., VEE 2007; QEMU's
    /// drive-mirror under libvirt's non-shared-disk migration): the disk goes first in rounds like memory's, its volumes
    /// shrinking by the write rate over the bandwidth; then the memory rounds run while the mirror sends the guest's new
    /// writes (at most half the bandwidth, the rest is memory's); what is left of both goes in the downtime.
    /// </summary>
    /// <param name="memoryMiB">Memory to copy, MiB.</param>
    /// <param name="dirtyMiBps">Rate at which the guest dirties memory, MiB/s.</param>
    /// <param name="bandwidthMiBps">Bandwidth the migration gets, MiB/s.</param>
    /// <param name="storage">The storage to copy (no disk: the memory-only estimate).</param>
    /// <exception cref="ArgumentOutOfRangeException">A size or rate negative or not finite, or bandwidth not positive.</exception>
    public PreCopyEstimate EstimateWithStorage(double memoryMiB, double dirtyMiBps, double bandwidthMiBps, StorageCopy storage)
    {
        if (!double.IsFinite(storage.DiskMiB) || storage.DiskMiB < 0 || !double.IsFinite(storage.WriteMiBps) || storage.WriteMiBps < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(storage), storage, "The storage size and write rate must be finite numbers >= 0.");
        }

        var memory = Estimate(memoryMiB, dirtyMiBps, bandwidthMiBps);
        if (storage.DiskMiB == 0)
        {
            return memory;
        }

        var disk = Rounds(storage.DiskMiB, storage.WriteMiBps, bandwidthMiBps, default);
        double mirror = Math.Min(storage.WriteMiBps, bandwidthMiBps / 2);
        memory = Estimate(memoryMiB, dirtyMiBps, bandwidthMiBps - mirror);
        double mirrored = mirror * memory.PreCopySeconds;
        double storageSent = disk.Sent + mirrored + disk.Left;
        return memory with
        {
            TransferredMiB = memory.TransferredMiB + storageSent,
            DowntimeSeconds = memory.DowntimeSeconds + (disk.Left / bandwidthMiBps),
            Converged = memory.Converged && disk.Converged,
            StorageSeconds = disk.Seconds,
            StorageTransferredMiB = storageSent,
            MirrorMiBps = mirror,
        };
    }

    // The iterative rounds of one volume dirtied at a rate: how many, what they sent and took, what is left for the
    // stop-and-copy, and whether they converged.
    private (int Count, double Sent, double Seconds, double Left, bool Converged) Rounds(double size, double dirtyMiBps, double bandwidthMiBps, Span<double> roundVolumes)
    {
        double stopAt = bandwidthMiBps * _options.TargetDowntime.TotalSeconds;
        double volume = size, sent = 0, seconds = 0;
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

            // One round: send `volume`; meanwhile the guest dirties the next round's volume (never more than its size).
            double t = volume / bandwidthMiBps;
            if (rounds < roundVolumes.Length)
            {
                roundVolumes[rounds] = volume;
            }

            sent += volume;
            seconds += t;
            rounds++;
            double next = Math.Min(size, dirtyMiBps * t);
            if (rounds > 1 && next >= _options.NoProgressRatio * volume)
            {
                volume = next;
                converged = next <= stopAt;
                break;
            }

            volume = next;
        }

        return (rounds, sent, seconds, volume, converged);
    }
}
