using System.CommandLine;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using OpenTelemetry.Metrics;
using VmEcosystem.AspNetCore;
using VmEcosystem.ConsoleHost.Serve;
using VmEcosystem.Experiments;
using VmEcosystem.Hosting;
using VmEcosystem.Providers.Libvirt;
using VmEcosystem.Runtime;
using VmEcosystem.Simulation;

namespace VmEcosystem.ConsoleHost.Commands;

/// <summary>
/// `serve`: the daemon: the runtime, the HTTP API, the dashboard, health checks and Prometheus metrics under
/// Kestrel. On the simulator (the multi-tier ecosystem scenario in accelerated virtual time) unless the
/// configuration has a <c>VmEcosystem:Libvirt</c> section.
/// </summary>
internal static class ServeCommand
{
    public static Command Create()
    {
        var urls = new Option<string>("--urls") { Description = "Where Kestrel listens (port 0: any free port; the address is printed).", DefaultValueFactory = _ => "http://127.0.0.1:5080" };
        var config = new Option<FileInfo?>("--config") { Description = "An appsettings.json: sections VmEcosystem (the library) and Serve (API keys)." };
        var speed = new Option<double>("--speed") { Description = "Simulated seconds per real second.", DefaultValueFactory = _ => 30 };
        var mode = new Option<ExecutionMode?>("--mode") { Description = "Execution mode (default: approve, so the dashboard has plans to approve)." };
        var keys = new Option<string[]>("--api-key") { Description = "An API key as KEY=SCOPES (scopes space or comma separated, e.g. vmecosystem.operate). Repeatable." };
        var hours = new Option<int>("--hours") { Description = "Length of the simulated scenario.", DefaultValueFactory = _ => 24 };
        var instances = new Option<int>("--instances") { Description = "Replicas in this process, each on its own port (the given one, +1, ...), electing a leader in PostgreSQL.", DefaultValueFactory = _ => 1 };
        var postgres = new Option<string?>("--postgres") { Description = "An Npgsql connection string: the trail, checkpoints and (with --instances) the election in PostgreSQL." };
        var hostSets = new Option<int>("--host-sets") { Description = "Split the simulated hosts into this many host sets; with --instances, the replicas shard them." };
        var chaos = new Option<double>("--kill-leader-every") { Description = "Simulated minutes between kills of the leader's database connections (with --instances; 0: never)." };
        var command = new Command("serve", "Run the runtime with the HTTP API and the live dashboard (simulator by default).")
        {
            urls, config, speed, mode, keys, hours, instances, postgres, hostSets, chaos,
        };
        command.SetAction((parse, ct) => CliErrors.RunAsync(async () =>
        {
            double s = parse.GetValue(speed);
            if (!(s > 0) || s > 100_000)
            {
                throw new ArgumentException($"--speed must be above 0 and at most 100000; got {s}.");
            }

            int h = parse.GetValue(hours);
            if (h is < 1 or > 24 * 14)
            {
                throw new ArgumentException($"--hours must be from 1 to 336; got {h}.");
            }

            int n = parse.GetValue(instances);
            if (n is < 1 or > 16)
            {
                throw new ArgumentException($"--instances must be from 1 to 16; got {n}.");
            }

            if (parse.GetValue(hostSets) is < 0 or > 1000 || parse.GetValue(chaos) is < 0 or > 100_000)
            {
                throw new ArgumentException("--host-sets must be from 0 to 1000 and --kill-leader-every from 0 to 100000.");
            }

            var settings = new ServeSettings(parse.GetValue(urls)!, parse.GetValue(config), s, parse.GetValue(mode), parse.GetValue(keys) ?? [], h)
            {
                Instances = n,
                PostgreSql = parse.GetValue(postgres),
                HostSets = parse.GetValue(hostSets),
                KillLeaderEveryMinutes = parse.GetValue(chaos),
            };
            await using var served = ServeInstances.Build(settings);
            await served.StartAsync(ct);
            for (int i = 0; i < served.Apps.Count; i++)
            {
                foreach (var address in served.Apps[i].Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses ?? [])
                {
                    string who = served.Apps.Count > 1 ? $" instance serve-{i + 1}" : string.Empty;
                    CliOutput.Line($"vmeco serve{who}: listening on {address} (dashboard {address}/vmeco/dashboard, metrics {address}/metrics, health {address}/healthz)");
                }
            }

            await CliOutput.Writer.FlushAsync(ct);
            try
            {
                await served.Apps[0].WaitForShutdownAsync(ct);
            }
            catch (OperationCanceledException)
            {
                // Ctrl+C: the instances stop when disposed.
            }

            return 0;
        }));
        return command;
    }

    internal static List<ApiKeyEntry> ReadKeys(IConfiguration configuration, string[] given)
    {
        var keys = configuration.GetSection("Serve:ApiKeys").Get<List<ApiKeyEntry>>() ?? [];
        for (int i = 0; i < keys.Count; i++)
        {
            if (string.IsNullOrWhiteSpace(keys[i].Key) || keys[i].Key.Length < 8)
            {
                throw new ArgumentException($"Serve:ApiKeys:{i}:Key must have at least 8 characters.");
            }
        }

        foreach (var text in given)
        {
            int eq = text.IndexOf('=', StringComparison.Ordinal);
            if (eq < 8)
            {
                throw new ArgumentException("--api-key must be KEY=SCOPES with a key of at least 8 characters.");
            }

            keys.Add(new ApiKeyEntry { Name = $"cli-key-{keys.Count + 1}", Key = text[..eq], Scopes = text[(eq + 1)..].Replace(',', ' ') });
        }

        return keys;
    }
}
