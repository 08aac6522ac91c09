using VmEcosystem.Cluster;
using VmEcosystem.Ecosystem.Declarations;

namespace VmEcosystem.Tests.Ecosystem;

/// <summary>Small hand-made clusters for graph and planner tests: hosts named zZ-rR-hH.</summary>
internal static class EcosystemTestCluster
{
    public static List<HostInfo> Hosts(int zones, int racks, int hostsPerRack, double cores = 16, double memoryGiB = 128) =>
        (from z in Enumerable.Range(0, zones)
         from r in Enumerable.Range(0, racks)
         from h in Enumerable.Range(0, hostsPerRack)
         select new HostInfo(new HostId($"z{z}-r{r}-h{h}"), new ResourceVector(cores, cores * 2600, memoryGiB * 1024, 10_000))
         {
             Location = new TopologyLocation($"zone-{z}", $"rack-{r}"),
         }).ToList();

    public static VmInfo Vm(string name, string type, string? software = null, double cores = 2, double memoryGiB = 4, IReadOnlyCollection<string>? tags = null,
        IReadOnlyList<double>? signature = null, SloClass slo = SloClass.Standard) =>
        new(new VmId(name), new ResourceVector(cores, cores * 2600, memoryGiB * 1024))
        {
            Name = name,
            Profile = new VmProfile
            {
                Type = type,
                SoftwareStack = software is null ? [] : [SoftwareComponent.Parse(software)],
                Tags = tags ?? [],
                Signature = signature,
                StorageType = "ssd",
            },
            Slo = slo,
        };

    public static VmDeclaration Requires(string vm, string type, string? latency = null, string? version = null) => new()
    {
        VmName = vm,
        Required = [Spec(type, latency, version)],
    };

    public static DependencySpec Spec(string type, string? latency = null, string? version = null) => new()
    {
        Type = type,
        Latency = latency is null ? null : LatencyBound.Parse(latency),
        Version = version is null ? null : VersionRequirement.TryParse(version, out _),
    };

    public static InventorySnapshot Inventory(IReadOnlyList<HostInfo> hosts, params (VmInfo Vm, string Host)[] vms) =>
        new(hosts, vms.Select(v => v.Vm).ToList(), vms.Select(v => new Placement(v.Vm.Id, new HostId(v.Host))).ToList(), DateTimeOffset.UnixEpoch);
}
