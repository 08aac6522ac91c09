using System.Text;
using VmEcosystem.Cluster;
using VmEcosystem.Forecasting;

namespace VmEcosystem.Planning;

/// <summary>
/// The forecasters' warm state as bytes: each VM's retained demand samples (version 1: a version byte, the VM
/// count, then per VM its id, the sample count and the samples as doubles). Importing refits a forecaster of the
/// session's method on those samples, so a restarted runtime forecasts from the first observation as it did before.
/// </summary>
public sealed partial class PlanningSession
{
    private const byte CheckpointVersion = 1;

    /// <summary>Samples the forecaster of <paramref name="vm"/> has seen (0: none yet).</summary>
    internal long ObservationsOf(VmId vm) => _forecasters.TryGetValue(vm, out var f) ? f.Observations : 0;

    /// <summary>Saves every VM's retained demand samples.</summary>
    internal byte[] ExportForecasters()
    {
        using var stream = new MemoryStream();
        using var writer = new BinaryWriter(stream, Encoding.UTF8);
        writer.Write(CheckpointVersion);
        var kept = _forecasters.Where(kv => kv.Value is IRetainedHistory).ToList();
        writer.Write(kept.Count);
        var buffer = new double[kept.Count == 0 ? 0 : kept.Max(kv => ((IRetainedHistory)kv.Value).RetainedCount)];
        foreach (var (vm, forecaster) in kept)
        {
            int n = ((IRetainedHistory)forecaster).CopyHistory(buffer);
            writer.Write(vm.Value);
            writer.Write(n);
            foreach (double value in buffer.AsSpan(0, n))
            {
                writer.Write(value);
            }
        }

        writer.Flush();
        return stream.ToArray();
    }

    /// <summary>
    /// Refits a forecaster per VM from exported samples (replacing any the session has); returns how many VMs were
    /// restored. Data of another version, or damaged, restores nothing (<see cref="InvalidDataException"/>).
    /// </summary>
    /// <exception cref="InvalidDataException">The bytes are not a checkpoint this version reads.</exception>
    internal int ImportForecasters(ReadOnlyMemory<byte> data)
    {
        var restored = new Dictionary<VmId, IForecaster>();
        try
        {
            using var reader = new BinaryReader(new MemoryStream(data.ToArray(), writable: false), Encoding.UTF8);
            if (reader.ReadByte() != CheckpointVersion)
            {
                throw new InvalidDataException($"Forecaster checkpoint version {data.Span[0]} is not {CheckpointVersion}.");
            }

            int count = reader.ReadInt32();
            var samples = new List<double>();
            for (int i = 0; i < count; i++)
            {
                var vm = new VmId(reader.ReadString());
                int n = reader.ReadInt32();
                if (n is < 0 or > 1_000_000)
                {
                    throw new InvalidDataException($"Forecaster checkpoint: VM '{vm}' claims {n} samples.");
                }

                samples.Clear();
                for (int k = 0; k < n; k++)
                {
                    samples.Add(reader.ReadDouble());
                }

                if (n > 0 && samples.TrueForAll(v => double.IsFinite(v) && v >= 0))
                {
                    var forecaster = CreateForecaster(vm);
                    forecaster.Fit(samples.ToArray());
                    restored[vm] = forecaster;
                }
            }
        }
        catch (EndOfStreamException ex)
        {
            throw new InvalidDataException("Forecaster checkpoint is truncated.", ex);
        }

        foreach (var (vm, forecaster) in restored)
        {
            _forecasters[vm] = forecaster;
        }

        return restored.Count;
    }
}
