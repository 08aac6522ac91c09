using System.CommandLine;
using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Spectre.Console;
using VmEcosystem.Cluster;
using VmEcosystem.ConsoleHost.Reporting;
using VmEcosystem.Hosting;
using VmEcosystem.Hypervisor;
using VmEcosystem.Providers.Libvirt;

namespace VmEcosystem.ConsoleHost.Commands;

/// <summary>
/// `libvirt`: points the library at real libvirt hosts: lists the inventory with one metric sample per VM and host,
/// and optionally live-migrates a VM with progress. Everything goes through <c>UseLibvirt</c>, as an application would.
/// </summary>
internal static class LibvirtCommand
{
    public static Command Create()
    {
        var hosts = new Option<string[]>("--host")
        {
            Description = "A host as NAME=URI (qemu:///system, qemu+ssh://user@host/system, qemu+unix:///system?socket=...). Repeat per host.",
            Required = true,
            AllowMultipleArgumentsPerToken = false,
        };
        var migrationUris = new Option<string[]>("--migration-uri") { Description = "Where migration streams to a host go, as NAME=tcp://ADDRESS. Repeat per host." };
        var listen = new Option<string?>("--listen-address") { Description = "Address destinations listen on for incoming migrations." };
        var unsafeMigration = new Option<bool>("--unsafe") { Description = "Allow migration without storage libvirt knows is shared (VIR_MIGRATE_UNSAFE)." };
        var migrate = new Option<string?>("--migrate") { Description = "Live-migrate this VM (needs --to)." };
        var to = new Option<string?>("--to") { Description = "Destination host of --migrate." };
        var json = new Option<bool>("--json") { Description = "One JSON object instead of tables." };
        var command = new Command("libvirt", "Read inventory and metrics from libvirt hosts and optionally live-migrate a VM.")
        {
            hosts, migrationUris, listen, unsafeMigration, migrate, to, json,
        };
        command.SetAction((parse, ct) => CliErrors.RunAsync(async () =>
        {
            var uris = Pairs(parse.GetValue(migrationUris) ?? [], "--migration-uri");
            var configured = Pairs(parse.GetValue(hosts) ?? [], "--host");
            var services = new ServiceCollection();
            var warnings = new CapturedWarnings();
            services.AddLogging(l => l.AddProvider(warnings));
            services.AddVmEcosystem(b => b.UseLibvirt(o =>
            {
                foreach (var (name, uri) in configured)
                {
                    o.Hosts.Add(new LibvirtHostOptions
                    {
                        Name = name,
                        Uri = uri,
                        MigrationUri = uris.FirstOrDefault(u => u.Name == name).Value,
                        MigrationListenAddress = parse.GetValue(listen),
                    });
                }

                o.AllowUnsafeMigration = parse.GetValue(unsafeMigration);
            }));
            await using var container = services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true });
            var provider = (HypervisorProvider)container.GetRequiredService<IHypervisor>();
            try
            {
                return await RunAsync(provider, [.. configured.Select(c => c.Name)], warnings, parse.GetValue(migrate), parse.GetValue(to), parse.GetValue(json), ct);
            }
            catch (HypervisorException ex)
            {
                return CliErrors.Fail(ex.Kind == HypervisorErrorKind.InvalidArgument || ex.Kind == HypervisorErrorKind.NotFound ? CliErrors.BadInput : CliErrors.Failure,
                    $"{ex.Kind}: {ex.Message}");
            }
        }));
        return command;
    }

    private static async Task<int> RunAsync(HypervisorProvider provider, string[] configured, CapturedWarnings warnings, string? vm, string? target, bool json, CancellationToken ct)
    {
        if ((vm is null) != (target is null))
        {
            throw new ArgumentException("--migrate and --to go together.");
        }

        MigrationResult? migration = null;
        if (vm is not null)
        {
            var operation = await provider.StartMigrationAsync(new MigrationRequest(new VmId(vm), new HostId(target!)), ct);
            await foreach (var p in operation.WatchProgressAsync(ct))
            {
                if (!json)
                {
                    CliOutput.Line(string.Create(CultureInfo.InvariantCulture,
                        $"  {operation.Source} → {operation.Target}: {p.Phase} {p.Percent,5:F1}% {p.BytesTransferred / 1048576.0,8:F1} MiB sent"));
                }
            }

            migration = await operation.Completion;
        }

        var inventory = await provider.GetInventoryAsync(ct);

        // A host the provider could not read is skipped by it (one host down must not blind a control plane); the
        // sample says so, and fails when it could read none of them.
        var unreachable = configured.Where(n => !inventory.Hosts.Any(h => h.Id.Value == n && h.State != HostState.Offline)).ToList();
        foreach (var name in unreachable)
        {
            CliErrors.Warn($"host {name} is unreachable: {warnings.ReasonFor(name) ?? "no answer"}");
        }

        if (unreachable.Count == configured.Length)
        {
            return CliErrors.Fail(CliErrors.BadInput, $"none of the {configured.Length} libvirt host(s) could be read; nothing to show.");
        }

        var samples = provider.Capabilities.HasFlag(HypervisorCapabilities.VmMetrics) ? await provider.GetVmMetricsAsync(null, ct) : [];
        var hostSamples = provider.Capabilities.HasFlag(HypervisorCapabilities.HostMetrics) ? await provider.GetHostMetricsAsync(ct) : [];
        if (json)
        {
            CliOutput.Line(Json.Line(new
            {
                hosts = inventory.Hosts.Select(h => new { id = h.Id.Value, state = h.State.ToString(), cores = h.Capacity.CpuCores, memoryMiB = h.Capacity.MemoryMiB }),
                vms = inventory.Vms.Select(v => new
                {
                    id = v.Id.Value,
                    host = inventory.TryGetHostOf(v.Id, out var h) ? h.Value : null,
                    state = v.State.ToString(),
                    vcpus = v.Allocation.CpuCores,
                    memoryMiB = v.Allocation.MemoryMiB,
                }),
                vmMetrics = samples,
                hostMetrics = hostSamples,
                migration = migration is null ? null : new { outcome = migration.Outcome.ToString(), finalHost = migration.FinalHost.Value, seconds = migration.Duration.TotalSeconds, bytes = migration.BytesTransferred, error = migration.Error?.Message },
            }));
            return migration is null or { Outcome: MigrationOutcome.Succeeded } ? 0 : CliErrors.Failure;
        }

        var table = new Table().AddColumns("VM", "host", "state", "vCPUs", "memory MiB", "CPU %", "disk IOPS", "net Mbit/s");
        foreach (var v in inventory.Vms.OrderBy(v => v.Id.Value, StringComparer.Ordinal))
        {
            var s = samples.FirstOrDefault(x => x.Vm == v.Id);
            bool sampled = samples.Any(x => x.Vm == v.Id);
            table.AddRow([.. new[]
            {
                v.Id.Value, inventory.TryGetHostOf(v.Id, out var h) ? h.Value : "?", v.State.ToString(),
                $"{v.Allocation.CpuCores}/{v.MaxAllocation.CpuCores}", F(v.Allocation.MemoryMiB),
                sampled ? F(100 * s.CpuUtilization) : "-", sampled ? F(s.DiskReadIops + s.DiskWriteIops) : "-",
                sampled ? F(s.NetworkRxMbps + s.NetworkTxMbps) : "-",
            }.Select(CliText.Cell)]);
        }

        CliOutput.Ansi.Write(table);
        foreach (var h in inventory.Hosts)
        {
            var s = hostSamples.FirstOrDefault(x => x.Host == h.Id);
            CliOutput.Line(CliText.Plain($"host {h.Id}: {h.State}, {h.Capacity.CpuCores} cores, {F(h.Capacity.MemoryMiB)} MiB; CPU {F(100 * s.CpuUtilization)}%, memory used {F(s.MemoryUsedMiB)} MiB"));
        }

        if (migration is not null)
        {
            CliOutput.Line(CliText.Plain(string.Create(CultureInfo.InvariantCulture,
                $"migration of {vm}: {migration.Outcome} on {migration.FinalHost} after {migration.Duration.TotalSeconds:F1} s, {migration.BytesTransferred / 1048576.0:F1} MiB{(migration.Error is { } e ? $" ({e.Message})" : string.Empty)}")));
        }

        return migration is null or { Outcome: MigrationOutcome.Succeeded } ? 0 : CliErrors.Failure;
    }

    private static List<(string Name, string Value)> Pairs(string[] items, string option)
    {
        var list = new List<(string, string)>();
        foreach (var item in items)
        {
            int eq = item.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0 || eq == item.Length - 1)
            {
                throw new ArgumentException($"{option} takes NAME=VALUE; got '{item.Split('@')[^1]}'.");
            }

            list.Add((item[..eq], item[(eq + 1)..]));
        }

        return list;
    }

    private static string F(double v) => v.ToString("0.#", CultureInfo.InvariantCulture);
}
