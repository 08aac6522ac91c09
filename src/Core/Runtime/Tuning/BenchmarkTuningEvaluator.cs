using System.Globalization;
using VmEcosystem.Cluster;
using VmEcosystem.Hypervisor;
using VmEcosystem.Tuning;

namespace VmEcosystem.Runtime.Tuning;

/// <summary>
/// Settings of a benchmark-command evaluator (<c>AddBenchmarkTuningEvaluator</c>; section
/// <c>VmEcosystem:Tuning:Evaluators:&lt;name&gt;</c>). The command runs where the application says: on this machine, or
/// in the test VM through whatever reaches it (<c>ssh</c>, a guest agent) as <see cref="FileName"/> and
/// <see cref="Arguments"/>. Its output is parsed as sysbench 1.0's report.
/// </summary>
public sealed class BenchmarkTuningEvaluatorOptions
{
    /// <summary>The program to run (<c>sysbench</c>, <c>ssh</c>, ...).</summary>
    public string FileName { get; set; } = "";

    /// <summary>Its arguments; <c>{setting}</c> placeholders are filled from the configuration.</summary>
    public IList<string> Arguments { get; set; } = [];

    /// <summary>A setting holding cores of CPU quota for the program itself, applied through a cgroup on this machine (needs root); optional.</summary>
    public string? LocalCpuQuotaSetting { get; set; }

    /// <summary>A setting holding the test VM's vCPUs, hot-plugged through the provider; optional.</summary>
    public string? VcpusSetting { get; set; }

    /// <summary>A setting holding the test VM's memory in MiB, hot-plugged through the provider; optional.</summary>
    public string? MemoryMiBSetting { get; set; }

    /// <summary>A setting holding the test VM's CPU quota in cores, set as a resource control through the provider; optional.</summary>
    public string? CpuQuotaCoresSetting { get; set; }

    /// <summary>A setting holding the test VM's disk IOPS limit, set through the provider; optional.</summary>
    public string? DiskIopsSetting { get; set; }

    /// <summary>A setting holding the test VM's network bandwidth limit in Mbit/s, set through the provider; optional.</summary>
    public string? NetworkMbpsSetting { get; set; }

    internal bool AppliesToVm => VcpusSetting is not null || MemoryMiBSetting is not null || CpuQuotaCoresSetting is not null || DiskIopsSetting is not null || NetworkMbpsSetting is not null;
}

/// <summary>
/// Measures a configuration with a real benchmark program: when settings map onto the test VM, the VM is first given
/// them through the provider (hot-plug, then resource controls), then the command runs and its report becomes the
/// metrics (with every numeric setting as <c>config.&lt;setting&gt;</c>). The test VM is the run's own: it is changed
/// directly, not through the executor, so it must not be a VM that serves anything.
/// </summary>
internal sealed class BenchmarkTuningEvaluator(IHypervisor hypervisor, BenchmarkTuningEvaluatorOptions options) : ITuningEvaluator
{
    private readonly BenchmarkCommandEvaluator _command = new(options.FileName, [.. options.Arguments]) { CpuQuotaGene = options.LocalCpuQuotaSetting };

    public async ValueTask<IReadOnlyDictionary<string, double>> EvaluateAsync(TuningCandidate candidate, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(candidate);
        if (options.AppliesToVm)
        {
            var vm = candidate.Vm ?? throw new InvalidOperationException($"Tuning run '{candidate.RunId}' names no Vm to apply its configuration to.");
            await ApplyAsync(vm, candidate.Settings, cancellationToken).ConfigureAwait(false);
        }

        var numbers = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var (name, text) in candidate.Settings)
        {
            if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double v))
            {
                numbers[name] = v;
            }
            else if (bool.TryParse(text, out bool b))
            {
                numbers[name] = b ? 1 : 0;
            }
        }

        return await _command.RunAsync(candidate.Settings, numbers, cancellationToken).ConfigureAwait(false);
    }

    private async Task ApplyAsync(VmId vm, IReadOnlyDictionary<string, string> settings, CancellationToken cancellationToken)
    {
        int? vcpus = (int?)Number(settings, options.VcpusSetting);
        double? memory = Number(settings, options.MemoryMiBSetting);
        double? quotaCores = Number(settings, options.CpuQuotaCoresSetting);
        double? disk = Number(settings, options.DiskIopsSetting), network = Number(settings, options.NetworkMbpsSetting);
        // one inventory read: hot-plug compares with the VM's sizes, the quota is a share of its vCPUs
        var info = vcpus is not null || memory is not null || quotaCores is not null
            ? (await hypervisor.GetInventoryAsync(cancellationToken).ConfigureAwait(false)).Vms.FirstOrDefault(v => v.Id == vm)
                ?? throw new InvalidOperationException($"The test VM {vm.Value} is not in the inventory.")
            : null;
        int? plugVcpus = vcpus is { } n && n != (int)info!.Allocation.CpuCores ? n : null;
        double? plugMemory = memory is { } m && Math.Abs(m - info!.Allocation.MemoryMiB) >= 1 ? m : null;
        if (plugVcpus is not null || plugMemory is not null)
        {
            await hypervisor.HotPlugAsync(vm, new HotPlugRequest(plugVcpus, plugMemory), cancellationToken).ConfigureAwait(false);
        }

        if (quotaCores is not null || disk is not null || network is not null)
        {
            // the control is a share of the VM's vCPUs
            double? share = quotaCores is { } cores ? Math.Min(1, cores / Math.Max(1, vcpus ?? (int)info!.Allocation.CpuCores)) : null;
            await hypervisor.SetResourceControlsAsync(vm, new ResourceControls { CpuQuota = share, DiskIopsLimit = disk, NetworkBandwidthLimitMbps = network }, cancellationToken)
                .ConfigureAwait(false);
        }
    }

    private static double? Number(IReadOnlyDictionary<string, string> settings, string? name)
    {
        if (name is null)
        {
            return null;
        }

        return settings.TryGetValue(name, out var text) && double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double v) && double.IsFinite(v) && v > 0
            ? v : throw new ArgumentException($"The configuration's '{name}' must be a positive number; got '{text}'.");
    }
}
