using System.CommandLine;

namespace VmEcosystem.ConsoleHost.Commands;

/// <summary>`benchmark ...`: measurements of the library, JSON lines with `--json`.</summary>
internal static class BenchmarkCommand
{
    public static Command Create() => new("benchmark", "Measure the library (add --json for one JSON object per line).")
    {
        ConsolidationBenchmark.Create(),
        ForecastBenchmarkCommand.Create(),
        ForecastThroughputCommand.Create(),
        PlannerScaleCommand.Create(),
        GraphBenchmarkCommand.Create(),
        ReservationBenchmark.Create(),
        ResizingBenchmark.Create(),
        BorrowingBenchmark.Create(),
        GaBenchmarkCommand.Create(),
        TuningBenchmarkCommand.Create(),
    };
}
