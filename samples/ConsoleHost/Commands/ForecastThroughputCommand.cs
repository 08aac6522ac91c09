using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using Spectre.Console;
using VmEcosystem.ConsoleHost.Reporting;
using VmEcosystem.Forecasting;
using VmEcosystem.Simulation;

namespace VmEcosystem.ConsoleHost.Commands;

/// <summary>`benchmark forecast-throughput`: one-step forecast updates per second of the incremental path.</summary>
internal static class ForecastThroughputCommand
{
    public static Command Create()
    {
        var series = new Option<int>("--series") { Description = "Number of series (VMs).", DefaultValueFactory = _ => 2000 };
        var steps = new Option<int>("--steps") { Description = "Updates per series after the fit.", DefaultValueFactory = _ => 500 };
        var methods = new Option<string>("--methods") { Description = "Comma-separated methods.", DefaultValueFactory = _ => "ses,holt_damped,seasonal,ssa,median24" };
        var json = new Option<bool>("--json") { Description = "One JSON object per method, one per line." };
        series.Validators.Add(r => { if (r.GetValueOrDefault<int>() < 2) { r.AddError("--series must be at least 2."); } });
        steps.Validators.Add(r => { if (r.GetValueOrDefault<int>() < 1) { r.AddError("--steps must be at least 1."); } });
        var command = new Command("forecast-throughput",
            "Incremental path speed: each update adds a sample and produces a one-step forecast with its interval (no refit), " +
            "over many series, on one core and on every core.")
        {
            series, steps, methods, json,
        };
        command.SetAction((parse, ct) => CliErrors.RunAsync(() =>
        {
            int n = parse.GetValue(series);
            int k = parse.GetValue(steps);
            var traces = SyntheticWorkload.Generate(new SyntheticWorkloadOptions { VmCount = n, Samples = 192 + k, Seed = 1 });
            var data = traces.Select(t => t.Cpu.ToArray().Select(v => v * 100).ToArray()).ToArray();
            var table = new Table().AddColumns("method", "updates/s (1 core)", $"updates/s ({Environment.ProcessorCount} cores)");
            foreach (string method in parse.GetValue(methods)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                if (!ForecastBenchmark.LocalMethods.Contains(method))
                {
                    throw new ArgumentException($"Unknown local method '{method}'. Known: {string.Join(", ", ForecastBenchmark.LocalMethods)}.");
                }

                Measure(method, data[..Math.Min(50, n)], Math.Min(k, 50), parallel: false); // JIT warm-up
                double single = Measure(method, data, k, parallel: false);
                double all = Measure(method, data, k, parallel: true);
                if (parse.GetValue(json))
                {
                    CliOutput.Line(Json.Line(new { method, series = n, steps = k, updatesPerSecond = single, updatesPerSecondAllCores = all, cores = Environment.ProcessorCount }));
                }
                else
                {
                    table.AddRow(method, single.ToString("N0", CultureInfo.InvariantCulture), all.ToString("N0", CultureInfo.InvariantCulture));
                }
            }

            if (!parse.GetValue(json))
            {
                CliOutput.Ansi.Write(table);
            }

            return Task.FromResult(0);
        }));
        return command;
    }

    private static double Measure(string method, double[][] data, int steps, bool parallel)
    {
        var forecasters = data.Select(y =>
        {
            var f = ForecastBenchmark.CreateLocal(method);
            f.Fit(y.AsSpan(0, 192));
            return f;
        }).ToArray();
        double sink = 0;
        var watch = Stopwatch.StartNew();
        if (parallel)
        {
            var partial = new double[Environment.ProcessorCount];
            Parallel.For(0, Environment.ProcessorCount, worker =>
            {
                double local = 0;
                for (int i = worker; i < forecasters.Length; i += Environment.ProcessorCount)
                {
                    var f = forecasters[i];
                    var y = data[i];
                    for (int t = 0; t < steps; t++)
                    {
                        f.Update(y[192 + t]);
                        local += f.Forecast(1).Upper;
                    }
                }

                partial[worker] = local;
            });
            sink = partial.Sum();
        }
        else
        {
            for (int i = 0; i < forecasters.Length; i++)
            {
                var f = forecasters[i];
                var y = data[i];
                for (int t = 0; t < steps; t++)
                {
                    f.Update(y[192 + t]);
                    sink += f.Forecast(1).Upper;
                }
            }
        }

        double seconds = watch.Elapsed.TotalSeconds;
        GC.KeepAlive(sink);
        return (double)forecasters.Length * steps / seconds;
    }
}
