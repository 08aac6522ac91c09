using System.CommandLine;
using System.Globalization;
using Spectre.Console;
using VmEcosystem.ConsoleHost.Reporting;
using VmEcosystem.Experiments;
using VmEcosystem.Policies;
using VmEcosystem.Simulation;

namespace VmEcosystem.ConsoleHost.Commands;

/// <summary>`benchmark resizing`: a day of per-VM allocations, once per resizing mode, in one process.</summary>
internal static class ResizingBenchmark
{
    // The benchmark's default controller ticks every minute (the Kubernetes VPA recommender's default interval) and
    // sizes for the 70% interval; `--tick-seconds 300 --confidence 0.9 --policies data/resizing-policies.json` is the
    // 5-minute setting.
    private const int DefaultTickSeconds = 60;
    private const double DefaultConfidence = 0.7;

    public static Command Create()
    {
        var traceDir = TraceDirOption();
        var policies = new Option<FileInfo>("--policies")
        {
            Description = "Resizing policy file (default: the sample's data/resizing-policies-minute.json; data/resizing-policies.json is the 5-minute one).",
        };
        var modes = new Option<string>("--modes")
        {
            Description = "Modes to run, comma-separated: static, reactive, predictive, oracle (oracle knows the future: a bound, not a controller).",
            DefaultValueFactory = _ => "static,reactive,predictive",
        };
        var confidence = new Option<double>("--confidence") { Description = "Confidence of the forecast interval the predictive mode sizes for.", DefaultValueFactory = _ => DefaultConfidence };
        confidence.Validators.Add(r => { if (r.GetValueOrDefault<double>() is not (> 0.5 and < 1)) { r.AddError("--confidence must be within (0.5, 1)."); } });
        var tick = new Option<int>("--tick-seconds")
        {
            Description = "The controller's interval, seconds (it sees the traces' demand at each tick; forecasts retrain hourly).",
            DefaultValueFactory = _ => DefaultTickSeconds,
        };
        tick.Validators.Add(r => { if (r.GetValueOrDefault<int>() is < 10 or > 3600) { r.AddError("--tick-seconds must be within [10, 3600]."); } });
        var quotaDelay = new Option<int>("--quota-delay-seconds")
        {
            Description = "Seconds a CPU quota change takes to take effect (memory changes take the hot-plug delay, 60 s).",
            DefaultValueFactory = _ => (int)new ResizingRunOptions().QuotaDelay.TotalSeconds,
        };
        quotaDelay.Validators.Add(r => { if (r.GetValueOrDefault<int>() is < 0 or > 600) { r.AddError("--quota-delay-seconds must be within [0, 600]."); } });
        var forecaster = new Option<string>("--forecaster")
        {
            Description = "Per-VM forecaster of the predictive mode: ses (level), holt (linear trend) or damped (damped trend).",
            DefaultValueFactory = _ => new ResizingRunOptions().Forecaster,
        };
        forecaster.AcceptOnlyFromAmong("ses", "holt", "damped");
        var json = new Option<bool>("--json") { Description = "One JSON object per mode, one per line." };
        var command = new Command("resizing", "Run a day of per-VM allocations once per resizing mode: static, reactive (VPA-style), predictive.")
        {
            traceDir, policies, modes, confidence, tick, quotaDelay, forecaster, json,
        };
        command.SetAction((parse, ct) => CliErrors.RunAsync(() =>
        {
            var selected = ParseModes(parse.GetValue(modes)!);
            var dir = parse.GetValue(traceDir)!;
            string policyPath = parse.GetValue(policies)?.FullName ?? SampleData.MinuteResizingPolicies;
            var set = new PolicyParser().Parse(File.ReadAllBytes(policyPath)).GetOrThrow();
            var traces = TraceFolders.ReadFolder(dir.FullName, out var format);
            int tickSeconds = parse.GetValue(tick);
            var options = new ResizingRunOptions
            {
                Confidence = parse.GetValue(confidence),
                Tick = TimeSpan.FromSeconds(tickSeconds),
                RetrainEveryTicks = Math.Max(1, 3600 / tickSeconds),
                QuotaDelay = TimeSpan.FromSeconds(parse.GetValue(quotaDelay)),
                Forecaster = parse.GetValue(forecaster)!,
            };
            bool asJson = parse.GetValue(json);
            var inv = CultureInfo.InvariantCulture;
            var table = new Table().AddColumns("mode", "SLO violation min", "unserved core-h", "CPU slack %", "memory slack %", "resizes", "rollbacks", "planner requests", "wall s");
            foreach (var mode in selected)
            {
                ct.ThrowIfCancellationRequested();
                var r = ResizingExperiment.Run(traces, set, mode, options, ct);
                if (asJson)
                {
                    CliOutput.Line(Json.Line(new
                    {
                        mode = mode.ToString().ToLowerInvariant(),
                        traces = dir.Name,
                        format = format == TraceFormat.GoogleCluster ? "google-cluster" : "planetlab",
                        vms = r.Vms,
                        hosts = r.Hosts,
                        memory = r.WithMemory,
                        sloViolationMinutes = r.SloViolationMinutes,
                        violationMinutesByPriority = r.ViolationMinutesByPriority,
                        unservedCoreHours = r.UnservedCoreHours,
                        unservedMemoryGiBHours = r.WithMemory ? r.UnservedMemoryGiBHours : (double?)null,
                        slackPercent = r.SlackPercent,
                        memorySlackPercent = r.WithMemory ? r.MemorySlackPercent : (double?)null,
                        resizes = r.Resizes,
                        rollbacks = r.Rollbacks,
                        plannerRequests = r.PlannerRequests,
                        outOfPolicyMinutes = r.OutOfPolicyMinutes,
                        policyVersion = r.PolicyVersion,
                        policies = Path.GetFileName(policyPath),
                        confidence = options.Confidence,
                        tickSeconds = tickSeconds,
                        quotaDelaySeconds = options.QuotaDelay.TotalSeconds,
                        forecaster = options.Forecaster,
                        wallSeconds = r.WallSeconds,
                    }));
                }
                else
                {
                    table.AddRow(mode.ToString().ToLowerInvariant(), r.SloViolationMinutes.ToString(inv), r.UnservedCoreHours.ToString("F1", inv),
                        r.SlackPercent.ToString("F1", inv), r.WithMemory ? r.MemorySlackPercent.ToString("F1", inv) : "-", r.Resizes.ToString(inv),
                        r.Rollbacks.ToString(inv), r.PlannerRequests.ToString(inv), r.WallSeconds.ToString("F1", inv));
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

    /// <summary>The required <c>--trace-dir</c> of the resizing and borrowing benchmarks (either trace format, detected).</summary>
    internal static Option<DirectoryInfo> TraceDirOption() => new("--trace-dir")
    {
        Description = "Folder of traces: a PlanetLab day (CPU) or Google-cluster-derived VMs (CPU and memory); the format is detected.",
        Required = true,
    };

    private static List<ResizingMode> ParseModes(string text)
    {
        var result = new List<ResizingMode>();
        foreach (var part in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            result.Add(part.ToLowerInvariant() switch
            {
                "static" => ResizingMode.Static,
                "reactive" => ResizingMode.Reactive,
                "predictive" => ResizingMode.Predictive,
                "oracle" => ResizingMode.Oracle,
                _ => throw new ArgumentException($"--modes: '{part}' is not one of static, reactive, predictive, oracle."),
            });
        }

        return result.Count > 0 ? result : throw new ArgumentException("--modes needs at least one of static, reactive, predictive, oracle.");
    }
}
