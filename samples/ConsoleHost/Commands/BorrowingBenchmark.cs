using System.CommandLine;
using System.Globalization;
using Spectre.Console;
using VmEcosystem.ConsoleHost.Reporting;
using VmEcosystem.Experiments;
using VmEcosystem.Policies;
using VmEcosystem.Simulation;

namespace VmEcosystem.ConsoleHost.Commands;

/// <summary>`benchmark borrowing`: a day of host sets under budgets, resizing alone and resizing with borrowing, in one process.</summary>
internal static class BorrowingBenchmark
{
    public static Command Create()
    {
        var traceDir = ResizingBenchmark.TraceDirOption();
        var policies = new Option<FileInfo>("--policies") { Description = "Resizing policy file with loan rules (default: the sample's data/borrowing-policies.json)." };
        var sizes = new Option<string>("--set-sizes")
        {
            Description = "Host set sizes, comma-separated: consecutive VMs form sets whose sizes cycle through the list.",
            DefaultValueFactory = _ => "8,10,12,14,16",
        };
        var budget = new Option<double>("--budget-share")
        {
            Description = "Each host set's budget per resource, as a share of the set's peak aggregate demand over the day.",
            DefaultValueFactory = _ => BorrowingDefaults.BudgetShare,
        };
        budget.Validators.Add(r => { if (r.GetValueOrDefault<double>() is not (> 0 and <= 10)) { r.AddError("--budget-share must be within (0, 10]."); } });
        var lead = new Option<int>("--lead-minutes") { Description = "Scale-out lead time: how far ahead a set's aggregate forecast is compared with its budget.", DefaultValueFactory = _ => 30 };
        lead.Validators.Add(r => { if (r.GetValueOrDefault<int>() is < 5 or > 720) { r.AddError("--lead-minutes must be within [5, 720]."); } });
        var json = new Option<bool>("--json") { Description = "One JSON object per run, one per line." };
        var command = new Command("borrowing", "Run a day of host sets under budgets twice: resizing alone, and resizing with loans between the VMs of a set.")
        {
            traceDir, policies, sizes, budget, lead, json,
        };
        command.SetAction((parse, ct) => CliErrors.RunAsync(() =>
        {
            var dir = parse.GetValue(traceDir)!;
            string policyPath = parse.GetValue(policies)?.FullName ?? SampleData.DefaultBorrowingPolicies;
            var set = new PolicyParser().Parse(File.ReadAllBytes(policyPath)).GetOrThrow();
            var setSizes = ParseSizes(parse.GetValue(sizes)!);
            var traces = TraceFolders.ReadFolder(dir.FullName, out var format);
            var options = new ResizingRunOptions
            {
                HostSetSizes = setSizes,
                BudgetShare = parse.GetValue(budget),
                ScaleOutLeadTime = TimeSpan.FromMinutes(parse.GetValue(lead)),
            };
            bool asJson = parse.GetValue(json);
            var inv = CultureInfo.InvariantCulture;
            var table = new Table().AddColumns("run", "SLO violation min", "CPU slack %", "memory slack %", "loans", "loan min", "forced returns", "lender violations", "scale-outs", "wall s");
            foreach (bool borrowing in new[] { false, true })
            {
                ct.ThrowIfCancellationRequested();
                var r = ResizingExperiment.Run(traces, set, ResizingMode.Predictive, options with { Borrowing = borrowing }, ct);
                string run = borrowing ? "borrowing" : "resizing";
                if (asJson)
                {
                    CliOutput.Line(Json.Line(new
                    {
                        run,
                        traces = dir.Name,
                        format = format == TraceFormat.GoogleCluster ? "google-cluster" : "planetlab",
                        vms = r.Vms,
                        hostSets = r.Hosts,
                        setSizes,
                        budgetShare = options.BudgetShare,
                        memory = r.WithMemory,
                        sloViolationMinutes = r.SloViolationMinutes,
                        violationMinutesByPriority = r.ViolationMinutesByPriority,
                        unservedCoreHours = r.UnservedCoreHours,
                        unservedMemoryGiBHours = r.WithMemory ? r.UnservedMemoryGiBHours : (double?)null,
                        slackPercent = r.SlackPercent,
                        memorySlackPercent = r.WithMemory ? r.MemorySlackPercent : (double?)null,
                        loans = r.Loans,
                        loanMinutes = r.LoanMinutes,
                        forcedReturns = r.ForcedReturns,
                        lenderViolations = r.LenderViolations,
                        scaleOutRequests = r.ScaleOuts.Count,
                        scaleInRequests = r.ScaleInRequests,
                        resizes = r.Resizes,
                        outOfPolicyMinutes = r.OutOfPolicyMinutes,
                        policyVersion = r.PolicyVersion,
                        wallSeconds = r.WallSeconds,
                    }));
                }
                else
                {
                    table.AddRow(run, r.SloViolationMinutes.ToString(inv), r.SlackPercent.ToString("F1", inv), r.WithMemory ? r.MemorySlackPercent.ToString("F1", inv) : "-",
                        r.Loans.ToString(inv), r.LoanMinutes.ToString("F0", inv), r.ForcedReturns.ToString(inv), r.LenderViolations.ToString(inv),
                        r.ScaleOuts.Count.ToString(inv), r.WallSeconds.ToString("F1", inv));
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

    private static int[] ParseSizes(string text)
    {
        var parts = text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var result = new int[parts.Length];
        for (int i = 0; i < parts.Length; i++)
        {
            if (!int.TryParse(parts[i], NumberStyles.None, CultureInfo.InvariantCulture, out result[i]) || result[i] is < 2 or > 1000)
            {
                throw new ArgumentException($"--set-sizes: '{parts[i]}' is not a whole number within [2, 1000].");
            }
        }

        return result.Length > 0 ? result : throw new ArgumentException("--set-sizes needs at least one size.");
    }
}

/// <summary>The borrowing benchmark's defaults (shared with its tests).</summary>
internal static class BorrowingDefaults
{
    /// <summary>A set's budget: 1.2 times its peak aggregate demand.</summary>
    public const double BudgetShare = 1.2;
}
