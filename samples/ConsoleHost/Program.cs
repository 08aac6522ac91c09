using System.CommandLine;
using VmEcosystem.ConsoleHost.Commands;

var root = new RootCommand("VmEcosystem sample host: simulate a cluster day and benchmark the library.")
{
    SimulateCommand.Create(),
    BenchmarkCommand.Create(),
};

return await root.Parse(args).InvokeAsync();
