using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using Spectre.Console;
using QuikGraph;
using QuikGraph.Algorithms;
using QuikGraph.Algorithms.Search;
using VmEcosystem.Cluster;
using VmEcosystem.ConsoleHost.Reporting;
using VmEcosystem.Ecosystem.Declarations;
using VmEcosystem.Ecosystem.Graph;

namespace VmEcosystem.ConsoleHost.Commands;

/// <summary>`benchmark graph`: build, score, incremental moves and whole-graph algorithms of the ecosystem graph.</summary>
internal static class GraphBenchmarkCommand
{
    // QuikGraph 2.5 BidirectionalGraph on 100,000 vertices / 400,000 random edges, median ms, measured on a
    // 2-core machine of this kind (.NET 10, Release): the anchor figures shipped with the task. The same operations
    // run here in-process on QuikGraph itself (the library's graph package), so the ratio checks this machine and
    // this use of QuikGraph against the anchor.
    private static readonly (string Name, double Ms) QuikGraphConstruction = ("construction", 86.9);
    private static readonly (string Name, double Ms) QuikGraphWcc = ("weaklyConnectedComponents", 83.1);
    private static readonly (string Name, double Ms) QuikGraphScc = ("stronglyConnectedComponents", 135.7);
    private static readonly (string Name, double Ms) QuikGraphBfs = ("breadthFirstSearch", 52.3);

    public static Command Create()
    {
        var vms = new Option<int>("--vms") { Description = "VMs (vertices).", DefaultValueFactory = _ => 100_000 };
        var edges = new Option<int>("--edges") { Description = "Edges (dependency to matching VM).", DefaultValueFactory = _ => 400_000 };
        var moves = new Option<int>("--moves") { Description = "Single-VM moves timed.", DefaultValueFactory = _ => 10_000 };
        var seed = new Option<int>("--seed") { Description = "Seed.", DefaultValueFactory = _ => 42 };
        var json = new Option<bool>("--json") { Description = "One JSON object." };
        vms.Validators.Add(r => { if (r.GetValueOrDefault<int>() is < 10 or > CliLimits.MaxVms) { r.AddError($"--vms must be between 10 and {CliLimits.MaxVms}."); } });
        edges.Validators.Add(r => { if (r.GetValueOrDefault<int>() is < 1 or > 10 * CliLimits.MaxVms) { r.AddError($"--edges must be between 1 and {10 * CliLimits.MaxVms}."); } });
        moves.Validators.Add(r => { if (r.GetValueOrDefault<int>() is < 1 or > CliLimits.MaxVms) { r.AddError($"--moves must be between 1 and {CliLimits.MaxVms}."); } });
        var command = new Command("graph", "Build the ecosystem graph from declarations, score it, time incremental moves and graph algorithms.")
        {
            vms, edges, moves, seed, json,
        };
        command.SetAction((parse, ct) => CliErrors.RunAsync(() =>
        {
            var r = Run(parse.GetValue(vms), parse.GetValue(edges), parse.GetValue(moves), parse.GetValue(seed), ct);
            if (parse.GetValue(json))
            {
                CliOutput.Line(Json.Line(r));
            }
            else
            {
                var inv = CultureInfo.InvariantCulture;
                var t = new Table().AddColumns("measure", "value");
                t.AddRow("vms / edges / dependencies", $"{r.Vms} / {r.Edges} / {r.Dependencies}");
                t.AddRow("build s", r.BuildSeconds.ToString("F3", inv));
                t.AddRow("score all s", r.ScoreAllSeconds.ToString("F4", inv));
                t.AddRow("incremental move µs (median / p99)", $"{r.IncrementalMoveMicroseconds.ToString("F2", inv)} / {r.IncrementalMoveMicrosecondsP99.ToString("F2", inv)}");
                t.AddRow("incremental equals full rescore", r.IncrementalMatchesFull.ToString());
                t.AddRow("VM remove + re-add µs (median)", r.RemoveAddMicroseconds.ToString("F1", inv));
                t.AddRow("declarations parsed per s", r.DeclarationsParsedPerSecond.ToString("F0", inv));
                t.AddRow("required edges in QuikGraph; cycles / co-location groups ms", $"{r.RequiredEdges}; {r.RequiredCyclesMs.ToString("F1", inv)} / {r.CoLocationGroupsMs.ToString("F1", inv)}");
                foreach (var a in r.Algorithms)
                {
                    t.AddRow($"QuikGraph {a.Name} ms (anchor ms, ratio)", $"{a.Ms.ToString("F1", inv)} ({a.QuikGraphMs.ToString("F1", inv)}, {a.Ratio.ToString("F2", inv)})");
                }

                t.AddRow("peak MB", r.PeakMemoryMb.ToString("F0", inv));
                CliOutput.Ansi.Write(t);
            }

            return Task.FromResult(0);
        }));
        return command;
    }

    internal sealed record AlgorithmTiming(string Name, double Ms, double QuikGraphMs, double Ratio);

    internal sealed record Result(
        int Vms, long Edges, int Dependencies, double BuildSeconds, double ScoreAllSeconds, double IncrementalMoveMicroseconds,
        double IncrementalMoveMicrosecondsP99, bool IncrementalMatchesFull, double RemoveAddMicroseconds, double DeclarationsParsedPerSecond,
        double ClusterScore, int RequiredEdges, double RequiredCyclesMs, double CoLocationGroupsMs, AlgorithmTiming[] Algorithms, double PeakMemoryMb);

    internal static Result Run(int vmCount, int edgeCount, int moveCount, int seed, CancellationToken ct)
    {
        var random = new Random(seed);
        // 10 VMs per host, 20 hosts per rack, 25 racks per zone; every service type offered by two VMs.
        int hostCount = Math.Max(2, vmCount / 10);
        var hosts = new HostInfo[hostCount];
        for (int h = 0; h < hostCount; h++)
        {
            hosts[h] = new HostInfo(new HostId($"h{h:D6}"), new ResourceVector(32, 32 * 2600, 256 * 1024))
            {
                Location = new TopologyLocation($"zone-{h / 500}", $"rack-{h / 20}"),
            };
        }

        int types = Math.Max(2, vmCount / 2);
        int depsPerVm = Math.Max(1, (int)Math.Round(edgeCount / (2.0 * vmCount)));
        var vms = new VmInfo[vmCount];
        var placements = new Placement[vmCount];
        for (int v = 0; v < vmCount; v++)
        {
            vms[v] = new VmInfo(new VmId($"vm{v:D7}"), new ResourceVector(2, 5200, 4096))
            {
                Name = $"vm{v:D7}",
                Profile = new VmProfile { Type = $"svc{v % types}", SoftwareStack = [new SoftwareComponent("app", "1.0")] },
            };
            placements[v] = new Placement(vms[v].Id, hosts[random.Next(hostCount)].Id);
        }

        LatencyBound?[] bounds = [LatencyBound.Parse("< 300us"), LatencyBound.Parse("< 1ms"), null];
        var declarations = new VmDeclaration[vmCount];
        for (int v = 0; v < vmCount; v++)
        {
            var required = new List<DependencySpec>();
            var preferred = new List<DependencySpec>();
            for (int d = 0; d < depsPerVm; d++)
            {
                int type;
                do
                {
                    type = random.Next(types);
                }
                while (type == v % types);

                var spec = new DependencySpec { Type = $"svc{type}", Latency = bounds[random.Next(bounds.Length)] };
                (random.NextDouble() < 0.3 ? required : preferred).Add(spec);
            }

            declarations[v] = new VmDeclaration { VmName = vms[v].Name, Required = required, Preferred = preferred };
        }

        var inventory = new InventorySnapshot(hosts, vms, placements, DateTimeOffset.UnixEpoch);
        ct.ThrowIfCancellationRequested();

        // Parsing: a document of up to 10,000 declarations in the documented JSON shape.
        int parseCount = Math.Min(vmCount, 10_000);
        var doc = new StringBuilder("[");
        for (int v = 0; v < parseCount; v++)
        {
            var d = declarations[v];
            doc.Append(v == 0 ? string.Empty : ",").Append("{\"vm_name\":\"").Append(d.VmName).Append("\",\"dependencies\":{\"required\":[");
            doc.AppendJoin(',', d.Required.Select(Spec)).Append("],\"preferred\":[").AppendJoin(',', d.Preferred.Select(Spec)).Append("]}}");
        }

        doc.Append(']');
        var bytes = Encoding.UTF8.GetBytes(doc.ToString());
        var parser = new DeclarationParser(new DeclarationParserOptions { MaxDocumentBytes = int.MaxValue });
        parser.Parse(bytes); // warm-up
        var parseWatch = Stopwatch.StartNew();
        var parsed = parser.Parse(bytes);
        parseWatch.Stop();
        if (!parsed.Success || parsed.Declarations.Count != parseCount)
        {
            throw new InvalidOperationException($"The generated declarations did not parse: {parsed.Errors.FirstOrDefault()}");
        }

        // Build (one warm-up on a smaller graph keeps JIT out of the figure).
        new EcosystemGraph().Load(new InventorySnapshot(hosts, vms[..Math.Min(1000, vmCount)], placements[..Math.Min(1000, vmCount)], DateTimeOffset.UnixEpoch), declarations[..Math.Min(1000, vmCount)]);
        // The build is memory-bound and this machine's memory speed varies run to run: median of three fresh builds.
        var builds = new List<double>();
        EcosystemGraph graph = null!;
        for (int i = 0; i < 3; i++)
        {
            // The previous build's graph is garbage now; collecting it is not this build's work.
            graph = null!;
            GC.Collect();
            GC.WaitForPendingFinalizers();
            graph = new EcosystemGraph();
            long start = Stopwatch.GetTimestamp();
            graph.Load(inventory, declarations);
            builds.Add(Stopwatch.GetElapsedTime(start).TotalSeconds);
        }

        var scoreTimes = new List<double>();
        for (int i = 0; i < 5; i++)
        {
            var w = Stopwatch.StartNew();
            graph.Rescore();
            scoreTimes.Add(w.Elapsed.TotalSeconds);
        }

        // Incremental single-VM moves.
        var moveTimes = new double[moveCount];
        for (int i = 0; i < Math.Min(1000, moveCount); i++)
        {
            graph.MoveVm(vms[random.Next(vmCount)].Id, hosts[random.Next(hostCount)].Id);
        }

        for (int i = 0; i < moveCount; i++)
        {
            var vm = vms[random.Next(vmCount)].Id;
            var host = hosts[random.Next(hostCount)].Id;
            long start = Stopwatch.GetTimestamp();
            graph.MoveVm(vm, host);
            moveTimes[i] = Stopwatch.GetElapsedTime(start).TotalMicroseconds;
        }

        double incremental = graph.ClusterScore;
        graph.Rescore();
        bool matches = Math.Abs(incremental - graph.ClusterScore) < 1e-9;

        // Removing a VM and adding it back (deploy / scale events).
        var removeAdd = new List<double>();
        for (int i = 0; i < 1000; i++)
        {
            int v = random.Next(vmCount);
            var host = hosts[random.Next(hostCount)].Id;
            long start = Stopwatch.GetTimestamp();
            graph.RemoveVm(vms[v].Id);
            graph.UpsertVm(vms[v], host);
            removeAdd.Add(Stopwatch.GetElapsedTime(start).TotalMicroseconds);
        }

        // Whole-graph algorithms on a random graph of the same size as QuikGraph's anchor (100k vertices, 400k edges).
        var from = new int[edgeCount];
        var to = new int[edgeCount];
        var edgeRandom = new Random(42);
        for (int e = 0; e < edgeCount; e++)
        {
            from[e] = edgeRandom.Next(vmCount);
            to[e] = edgeRandom.Next(vmCount);
        }

        BidirectionalGraph<int, SEquatableEdge<int>> Construct()
        {
            var g = new BidirectionalGraph<int, SEquatableEdge<int>>(allowParallelEdges: true, vmCount);
            for (int v = 0; v < vmCount; v++)
            {
                g.AddVertex(v);
            }

            for (int e = 0; e < edgeCount; e++)
            {
                g.AddEdge(new SEquatableEdge<int>(from[e], to[e]));
            }

            return g;
        }

        Construct().StronglyConnectedComponents(new Dictionary<int, int>()); // warm-up
        var algorithms = new List<AlgorithmTiming>();
        BidirectionalGraph<int, SEquatableEdge<int>>? quik = null;
        algorithms.Add(Time(QuikGraphConstruction, () => quik = Construct()));
        algorithms.Add(Time(QuikGraphWcc, () => quik!.WeaklyConnectedComponents(new Dictionary<int, int>(vmCount))));
        algorithms.Add(Time(QuikGraphScc, () => quik!.StronglyConnectedComponents(new Dictionary<int, int>(vmCount))));
        algorithms.Add(Time(QuikGraphBfs, () => new BreadthFirstSearchAlgorithm<int, SEquatableEdge<int>>(quik!).Compute(0)));

        // The ecosystem graph's own whole-graph queries (QuikGraph on its required-dependency graph).
        var requiredCycles = Time(("requiredCycles", double.NaN), () => graph.RequiredCycles());
        var coLocation = Time(("coLocationGroups", double.NaN), () => graph.CoLocationGroups());

        static double Median(IEnumerable<double> x)
        {
            var sorted = x.Order().ToArray();
            return sorted[sorted.Length / 2];
        }

        var sortedMoves = moveTimes.Order().ToArray();
        return new Result(vmCount, graph.EdgeCount, graph.DependencyCount, Median(builds), Median(scoreTimes),
            sortedMoves[sortedMoves.Length / 2], sortedMoves[(int)(sortedMoves.Length * 0.99)], matches, Median(removeAdd),
            parseCount / parseWatch.Elapsed.TotalSeconds, graph.ClusterScore, graph.RequiredEdgeCount, requiredCycles.Ms, coLocation.Ms, [.. algorithms],
            Process.GetCurrentProcess().PeakWorkingSet64 / (1024.0 * 1024.0));
    }

    private static AlgorithmTiming Time((string Name, double Ms) anchor, Action action)
    {
        var times = new List<double>();
        for (int i = 0; i < 5; i++)
        {
            long start = Stopwatch.GetTimestamp();
            action();
            times.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
        }

        double median = times.Order().ElementAt(2);
        return new AlgorithmTiming(anchor.Name, median, anchor.Ms, double.IsNaN(anchor.Ms) ? double.NaN : median / anchor.Ms);
    }

    private static string Spec(DependencySpec s) =>
        s.Latency is { } l ? $"{{\"type\":\"{s.Type}\",\"network_latency_requirement\":\"{l}\"}}" : $"{{\"type\":\"{s.Type}\"}}";
}
