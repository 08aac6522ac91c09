using System.CommandLine;
using System.Globalization;
using Spectre.Console;
using VmEcosystem.ConsoleHost.Reporting;
using VmEcosystem.Ecosystem;
using VmEcosystem.Ecosystem.Declarations;
using VmEcosystem.Experiments;

namespace VmEcosystem.ConsoleHost.Commands;

/// <summary>`ecosystem`: the multi-tier application scenario on the simulator, score before and after, the moves that raised it.</summary>
internal static class EcosystemCommand
{
    public static Command Create()
    {
        var apps = new Option<int>("--apps") { Description = "Applications (web tier, cache, database each).", DefaultValueFactory = _ => 12 };
        var hours = new Option<double>("--hours") { Description = "Simulated hours.", DefaultValueFactory = _ => 2 };
        var failures = new Option<double>("--failure-rate") { Description = "Probability that a migration fails.", DefaultValueFactory = _ => 0.05 };
        var noLearn = new Option<bool>("--no-learn") { Description = "Do not learn weights and costs from outcomes." };
        var seed = new Option<int>("--seed") { Description = "Seed of traces, placement and faults.", DefaultValueFactory = _ => 42 };
        var declarations = new Option<FileInfo?>("--declarations") { Description = "Check a declaration file against the parser and schema, then run with the generated scenario." };
        var writeDeclarations = new Option<FileInfo?>("--write-declarations") { Description = "Write the scenario's declarations (JSON) to this file." };
        var moves = new Option<int>("--moves") { Description = "Moves to print with their explanations.", DefaultValueFactory = _ => 10 };
        var json = new Option<bool>("--json") { Description = "One JSON object instead of tables." };
        apps.Validators.Add(r => { if (r.GetValueOrDefault<int>() is < 1 or > 10_000) { r.AddError("--apps must be between 1 and 10000."); } });
        hours.Validators.Add(r => { if (r.GetValueOrDefault<double>() is not (> 0 and <= 48)) { r.AddError("--hours must be in (0, 48]."); } });
        failures.Validators.Add(r => { if (r.GetValueOrDefault<double>() is not (>= 0 and < 1)) { r.AddError("--failure-rate must be in [0, 1)."); } });
        var command = new Command("ecosystem", "Run the multi-tier ecosystem scenario: dependency declarations, satisfaction, proactive moves, learning.")
        {
            apps, hours, failures, noLearn, seed, declarations, writeDeclarations, moves, json,
        };
        command.SetAction((parse, ct) => CliErrors.RunAsync(() =>
        {
            if (parse.GetValue(writeDeclarations) is { } target)
            {
                CliFiles.CheckOutput(target.FullName, "--write-declarations");
            }

            if (parse.GetValue(declarations) is { } file)
            {
                var parsed = new DeclarationParser().ParseFile(file.FullName).GetOrThrow();
                CliOutput.Line($"{file.Name}: {parsed.Count} valid declaration(s).");
            }

            var setup = EcosystemScenario.Create(new EcosystemScenarioOptions
            {
                Applications = parse.GetValue(apps),
                Duration = TimeSpan.FromHours(parse.GetValue(hours)),
                Seed = parse.GetValue(seed),
            });
            if (parse.GetValue(writeDeclarations) is { } output)
            {
                File.WriteAllText(output.FullName, setup.DeclarationsJson);
            }

            // The shipped declarations go through the same strict parser users' files do.
            var reparsed = new DeclarationParser().Parse(setup.DeclarationsJson).GetOrThrow();
            setup = setup with { Declarations = reparsed };
            var result = EcosystemExperiment.Run(setup, new EcosystemExperimentOptions
            {
                Learn = !parse.GetValue(noLearn),
                MigrationFailureProbability = parse.GetValue(failures),
                Seed = parse.GetValue(seed),
            });
            if (parse.GetValue(json))
            {
                CliOutput.Line(Json.Line(Summary(result, setup)));
            }
            else
            {
                Print(result, setup, parse.GetValue(moves));
            }

            return Task.FromResult(0);
        }));
        return command;
    }

    private static object Summary(EcosystemRunResult r, EcosystemScenarioSetup setup)
    {
        var atHour = r.Timeline.LastOrDefault(t => t.Minutes <= 60.0001) ?? r.Timeline.FirstOrDefault();
        return new
        {
            vms = setup.Simulation.Vms.Count,
            hosts = setup.Simulation.Hosts.Count,
            scoreBefore = r.Initial.Score,
            optimum = r.Initial.Optimum,
            scoreAfterOneHour = atHour?.Score,
            ofOptimumAfterOneHour = atHour is null ? (double?)null : atHour.Score / atHour.Optimum,
            scoreAfter = r.Final.Score,
            ofOptimumAfter = r.Final.OfOptimum,
            minutesTo95PercentOfOptimum = r.MinutesTo95PercentOfOptimum,
            migrations = r.Moves.Count,
            migrationsFailed = r.MigrationsFailed,
            requiredBroken = r.RequiredBroken,
            peakInFlightPerHost = r.PeakInFlightPerHost,
            peakInFlightCluster = r.PeakInFlightCluster,
            meanWebLatencyMsBefore = r.MeanWebLatencyMs.Before,
            meanWebLatencyMsAfter = r.MeanWebLatencyMs.After,
            impossible = r.Impossible.Select(i => $"{i.Vm}: {i.Status.Reason}").ToArray(),
            learned = r.LearnedWeights.Select(w => new
            {
                w.OwnerType, w.DependencyType, w.LatencySensitivity, w.Multiplier, w.Observations,
                truth = setup.Truth.CallsPerRequest.GetValueOrDefault(w.DependencyType),
            }).ToArray(),
            patterns = r.Patterns,
        };
    }

    private static void Print(EcosystemRunResult r, EcosystemScenarioSetup setup, int movesToShow)
    {
        var inv = CultureInfo.InvariantCulture;
        CliOutput.Ansi.MarkupLine($"[bold]Ecosystem scenario[/]: {setup.Simulation.Vms.Count} VMs on {setup.Simulation.Hosts.Count} hosts, {setup.Declarations.Count} declarations");
        var summary = new Table().AddColumns("", "before", "after");
        summary.AddRow("cluster satisfaction", r.Initial.Score.ToString("F3", inv), r.Final.Score.ToString("F3", inv));
        summary.AddRow("optimum", r.Initial.Optimum.ToString("F3", inv), r.Final.Optimum.ToString("F3", inv));
        summary.AddRow("share of optimum", r.Initial.OfOptimum.ToString("P1", inv), r.Final.OfOptimum.ToString("P1", inv));
        summary.AddRow("required unmet", r.Initial.RequiredUnmet.ToString(inv), r.Final.RequiredUnmet.ToString(inv));
        summary.AddRow("preferred unmet", r.Initial.PreferredUnmet.ToString(inv), r.Final.PreferredUnmet.ToString(inv));
        summary.AddRow("mean web latency ms", r.MeanWebLatencyMs.Before.ToString("F1", inv), r.MeanWebLatencyMs.After.ToString("F1", inv));
        CliOutput.Ansi.Write(summary);
        CliOutput.Ansi.MarkupLine(string.Create(inv,
            $"95 % of optimum after [bold]{(r.MinutesTo95PercentOfOptimum is { } m ? $"{m:F0} min" : "never")}[/]; {r.Moves.Count} migrations ({r.MigrationsFailed} failed), peak {r.PeakInFlightPerHost} per host / {r.PeakInFlightCluster} in the cluster; required dependencies broken on the way: {r.RequiredBroken}"));
        var timeline = new Table().AddColumns("minute", "score", "of optimum", "web latency ms", "migrations", "in flight");
        foreach (var t in r.Timeline.Where((t, i) => i % 10 == 0 || i == r.Timeline.Count - 1))
        {
            timeline.AddRow(t.Minutes.ToString("F0", inv), t.Score.ToString("F3", inv), (t.Score / t.Optimum).ToString("P1", inv), t.MeanWebLatencyMs.ToString("F1", inv),
                t.MigrationsStarted.ToString(inv), t.InFlight.ToString(inv));
        }

        CliOutput.Ansi.Write(timeline);
        CliOutput.Ansi.MarkupLine("[bold]Moves that raised it[/] (first ones, with the rule, trigger and cost breakdown):");
        foreach (var d in r.Moves.Take(movesToShow))
        {
            string costs = string.Join(", ", d.Costs.Select(c => string.Create(inv, $"{c.Scorer} {c.WeightedCost:+0.000;-0.000}")));
            CliOutput.Ansi.MarkupLineInterpolated($"  {d.Vm}: {d.Source} -> {d.Target} [grey]({d.Stage}/{d.Rule})[/] {d.Trigger.Detail} [grey][[{costs}]][/]");
        }

        if (r.LearnedWeights.Count > 0)
        {
            var learned = new Table().AddColumns("dependent", "dependency", "learned ms per ms", "truth (calls/request)", "weight multiplier", "observations");
            foreach (var w in r.LearnedWeights)
            {
                learned.AddRow(CliText.Cell(w.OwnerType ?? "?"), CliText.Cell(w.DependencyType), w.LatencySensitivity.ToString("F1", inv),
                    setup.Truth.CallsPerRequest.GetValueOrDefault(w.DependencyType).ToString("F0", inv), w.Multiplier.ToString("F2", inv), w.Observations.ToString(inv));
            }

            CliOutput.Ansi.Write(learned);
        }

        foreach (var (vm, status) in r.Impossible.Take(5))
        {
            CliOutput.Ansi.MarkupLineInterpolated($"[yellow]impossible:[/] {vm}: {status.Reason}");
        }
    }
}
