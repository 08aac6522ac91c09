using System.CommandLine;
using System.Globalization;
using Spectre.Console;
using VmEcosystem.ConsoleHost.Reporting;
using VmEcosystem.Forecasting;
using VmEcosystem.Simulation;

namespace VmEcosystem.ConsoleHost.Commands;

/// <summary>`benchmark forecast`: the rolling-origin protocol on a PlanetLab day.</summary>
internal static class ForecastBenchmarkCommand
{
    public static Command Create()
    {
        var traceDir = new Option<DirectoryInfo>("--trace-dir") { Description = "Folder of PlanetLab trace files (one day).", Required = true };
        var vmList = new Option<FileInfo?>("--vm-list") { Description = "File of DAY/FILE lines; only those series of the day are evaluated (all VMs still train pooled models)." };
        var methods = new Option<string>("--methods")
        {
            Description = $"Comma-separated methods: {string.Join(", ", ForecastBenchmark.Methods)}.",
            DefaultValueFactory = _ => string.Join(',', ForecastBenchmark.Methods),
        };
        var groups = new Option<string>("--groups") { Description = "How VMs are grouped for pooled models: slice (the PlanetLab slice in the file name) or none.", DefaultValueFactory = _ => "slice" };
        groups.AcceptOnlyFromAmong("slice", "none");
        var json = new Option<bool>("--json") { Description = "One JSON object per method per horizon, one per line." };
        var command = new Command("forecast", "Rolling-origin forecast accuracy (train on the first 192 samples, origins 192..276, horizons 1, 3, 12).")
        {
            traceDir, vmList, methods, groups, json,
        };
        command.SetAction((parse, ct) => CliErrors.RunAsync(() =>
        {
            var dir = parse.GetValue(traceDir)!;
            var traces = PlanetLabTraces.ReadFolder(dir.FullName);
            var names = traces.Select(t => t.Name).ToList();
            var series = traces.Select(t => t.Cpu.ToArray().Select(v => v * 100).ToArray()).ToList();
            var evaluated = Enumerable.Range(0, series.Count).ToList();
            if (parse.GetValue(vmList) is { } list)
            {
                if (VmEcosystem.IO.InputFile.Problem(list.FullName, 16 * 1024 * 1024) is { } problem)
                {
                    throw new ArgumentException($"VM list: {problem}.");
                }

                var index = names.Select((n, i) => (n, i)).ToDictionary(x => x.n, x => x.i, StringComparer.Ordinal);
                evaluated = [];
                int line = 0;
                foreach (string raw in VmEcosystem.IO.InputFile.ReadAllLines(list.FullName, 16 * 1024 * 1024))
                {
                    line++;
                    if (raw.Length == 0)
                    {
                        continue;
                    }

                    int slash = raw.IndexOf('/', StringComparison.Ordinal);
                    if (slash <= 0)
                    {
                        throw new ArgumentException($"VM list '{list.FullName}', line {line}: expected DAY/FILE, got '{raw}'.");
                    }

                    if (raw[..slash] != dir.Name)
                    {
                        continue;
                    }

                    if (!index.TryGetValue(raw[(slash + 1)..], out int i))
                    {
                        throw new ArgumentException($"VM list '{list.FullName}', line {line}: no trace file '{raw[(slash + 1)..]}' in '{dir.FullName}'.");
                    }

                    evaluated.Add(i);
                }

                if (evaluated.Count == 0)
                {
                    throw new ArgumentException($"VM list '{list.FullName}' names no series of day '{dir.Name}'.");
                }
            }

            IReadOnlyList<int>? groupIds = parse.GetValue(groups) == "slice" ? PlanetLabGroups.BySlice(names) : null;
            var chosen = parse.GetValue(methods)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            foreach (string m in chosen)
            {
                if (!ForecastBenchmark.Methods.Contains(m))
                {
                    throw new ArgumentException($"Unknown method '{m}'. Known: {string.Join(", ", ForecastBenchmark.Methods)}.");
                }
            }

            var results = ForecastBenchmark.Run(series, evaluated, chosen, groupIds);
            bool asJson = parse.GetValue(json);
            var table = new Table().AddColumns("method", "h", "series", "MAE", "MASE", "cover95", "width95", "origins/s");
            foreach (var r in results)
            {
                if (asJson)
                {
                    CliOutput.Line(Json.Line(new
                    {
                        method = r.Method,
                        horizon = r.Horizon,
                        series = r.Series,
                        day = dir.Name,
                        mae = r.Mae,
                        rmse = r.Rmse,
                        mase = r.Mase,
                        maseMedian = r.MaseMedian,
                        coverage95 = r.Coverage95,
                        aboveUpperRate = r.AboveUpperRate,
                        belowLowerRate = r.BelowLowerRate,
                        meanWidth95 = r.MeanWidth95,
                        meanWidth95Unclipped = r.MeanWidth95Unclipped,
                        forecastsPerSecond = r.ForecastsPerSecond,
                    }));
                }
                else
                {
                    var inv = CultureInfo.InvariantCulture;
                    table.AddRow(r.Method, r.Horizon.ToString(inv), r.Series.ToString(inv), r.Mae.ToString("F4", inv), r.Mase.ToString("F4", inv),
                        r.Coverage95.ToString("F4", inv), r.MeanWidth95.ToString("F2", inv), r.ForecastsPerSecond.ToString("F0", inv));
                }
            }

            if (!asJson)
            {
                CliOutput.Ansi.Write(table);
            }

            return Task.FromResult(0);
        }));
        return command;
    }
}

/// <summary>Groups PlanetLab VMs by slice (the application a tenant runs on many nodes).</summary>
public static class PlanetLabGroups
{
    /// <summary>
    /// PlanetLab file names are NODE_SLICE with dots turned into underscores; a slice (an application run by one
    /// tenant on many nodes) is its last two tokens ("princeton_codeen"), or "root". VMs of one slice form a group.
    /// </summary>
    public static IReadOnlyList<int> BySlice(IReadOnlyList<string> names)
    {
        var ids = new Dictionary<string, int>(StringComparer.Ordinal);
        var result = new int[names.Count];
        for (int i = 0; i < names.Count; i++)
        {
            var parts = names[i].Replace(' ', '_').Split('_', StringSplitOptions.RemoveEmptyEntries);
            string slice = parts[^1] == "root" || parts.Length < 2 ? parts[^1] : $"{parts[^2]}_{parts[^1]}";
            if (!ids.TryGetValue(slice, out int id))
            {
                ids[slice] = id = ids.Count;
            }

            result[i] = id;
        }

        return result;
    }
}
