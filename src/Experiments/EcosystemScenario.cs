using System.Globalization;
using VmEcosystem.Cluster;
using VmEcosystem.Ecosystem;
using VmEcosystem.Ecosystem.Declarations;
using VmEcosystem.Simulation;

namespace VmEcosystem.Experiments;

/// <summary>Settings of the synthetic multi-tier scenario.</summary>
public sealed record EcosystemScenarioOptions
{
    /// <summary>Applications (each: web tier, cache, database).</summary>
    public int Applications { get; init; } = 12;

    /// <summary>Web VMs per application.</summary>
    public int WebPerApplication { get; init; } = 3;

    /// <summary>Shared analytics VMs (all in the first zone).</summary>
    public int AnalyticsVms { get; init; } = 3;

    /// <summary>Zones.</summary>
    public int Zones { get; init; } = 3;

    /// <summary>Racks per zone.</summary>
    public int RacksPerZone { get; init; } = 3;

    /// <summary>Hosts per rack.</summary>
    public int HostsPerRack { get; init; } = 2;

    /// <summary>Simulated duration.</summary>
    public TimeSpan Duration { get; init; } = TimeSpan.FromHours(2);

    /// <summary>Planning tick.</summary>
    public TimeSpan Tick { get; init; } = TimeSpan.FromMinutes(1);

    /// <summary>Seed of traces and initial placement.</summary>
    public int Seed { get; init; } = 42;
}

/// <summary>A generated scenario: the simulation, the declarations, the initial placement and the hidden latency truth.</summary>
public sealed record EcosystemScenarioSetup(
    SimulationScenario Simulation,
    IReadOnlyList<VmDeclaration> Declarations,
    int[] InitialPlacement,
    CoLocationLatencyModel Truth,
    string DeclarationsJson);

/// <summary>
/// A synthetic application set for the ecosystem map: per application a web tier that requires its database
/// within 1 ms (the same zone), prefers a high-memory cache within 300 µs (the same rack) and, for every third
/// application, a shared analytics service found by fuzzy match within 1 ms; one application also requires a
/// search service nobody offers (reported as impossible). The initial placement scatters tiers across zones.
/// The hidden truth: web latency grows with the network latency to each dependency times its calls per
/// request (database 30, cache 60, analytics 2), which the learner has to discover.
/// </summary>
public static class EcosystemScenario
{
    private static readonly string[] Databases = ["PostgreSQL 12.17", "PostgreSQL 13.13", "PostgreSQL 14.9", "PostgreSQL 15.5", "PostgreSQL 16.1", "MySQL 8.0.35", "MySQL 5.7.44"];
    private static readonly string[] Caches = ["Redis 6.2.14", "Redis 7.2.3", "Memcached 1.6.22", "Redis 5.0.14"];

    /// <summary>Builds the scenario.</summary>
    public static EcosystemScenarioSetup Create(EcosystemScenarioOptions? options = null)
    {
        options ??= new EcosystemScenarioOptions();
        if (options.Applications < 1 || options.WebPerApplication < 1 || options.Zones < 1 || options.RacksPerZone < 1 || options.HostsPerRack < 1
            || options.AnalyticsVms < 0 || options.Duration <= TimeSpan.Zero || options.Tick <= TimeSpan.Zero)
        {
            throw new ArgumentException("EcosystemScenarioOptions: counts must be positive (analytics may be 0), duration and tick positive.");
        }

        var random = new Random(options.Seed);
        var hosts = new List<HostInfo>();
        for (int z = 0; z < options.Zones; z++)
        {
            for (int r = 0; r < options.RacksPerZone; r++)
            {
                for (int h = 0; h < options.HostsPerRack; h++)
                {
                    hosts.Add(new HostInfo(new HostId($"z{z}-r{r}-h{h}"), new ResourceVector(16, 16 * 2600, 128 * 1024, 10_000, 20_000))
                    {
                        Location = new TopologyLocation($"zone-{z}", $"rack-{r}"),
                        PowerModel = new LinearPowerModel(120, 280),
                    });
                }
            }
        }

        int samples = (int)Math.Ceiling(options.Duration / options.Tick) + 2;
        var vms = new List<SimulatedVm>();
        var declarations = new List<VmDeclaration>();
        var json = new List<string>();
        var zoneOf = new List<int>();
        var synthetic = new SyntheticWorkloadOptions { Samples = samples, IntervalSeconds = options.Tick.TotalSeconds, Seed = options.Seed };

        void AddVm(string name, string type, string? software, double cores, double memoryGiB, double slowdown, int zone, IReadOnlyCollection<string>? tags = null)
        {
            var cls = type switch
            {
                "web" => SyntheticWorkloadClass.Web,
                "database" => SyntheticWorkloadClass.Database,
                "caching" => SyntheticWorkloadClass.Cache,
                _ => SyntheticWorkloadClass.Batch,
            };
            var trace = SyntheticWorkload.GenerateOne(name, cls, synthetic, random);
            var info = new VmInfo(new VmId(name), new ResourceVector(cores, cores * 2600, memoryGiB * 1024, 1000, 2000))
            {
                Name = name,
                Profile = new VmProfile
                {
                    Type = type,
                    SoftwareStack = software is null ? [] : [SoftwareComponent.Parse(software)],
                    StorageType = type == "database" ? "nvme" : "ssd",
                    Tags = tags ?? [],
                },
                Slo = type == "database" ? SloClass.Critical : SloClass.Standard,
            };
            vms.Add(new SimulatedVm(info, trace) { MigrationSlowdown = slowdown });
            zoneOf.Add(zone);
        }

        for (int k = 0; k < options.AnalyticsVms; k++)
        {
            AddVm($"analytics-{k}", "analytics", "Spark 3.5.0", 4, 32, 1.3, 0, ["ml", "model", "signature", "inference", "spark"]);
        }

        for (int a = 0; a < options.Applications; a++)
        {
            string app = $"shop{a:00}";
            string db = Databases[a % Databases.Length];
            string cache = Caches[a % Caches.Length];
            var dbVersion = SoftwareComponent.Parse(db);
            var cacheVersion = SoftwareComponent.Parse(cache);
            string dbRequirement = $"{dbVersion.Name} {dbVersion.Version.Split('.')[0]}";
            string cacheRequirement = $"{cacheVersion.Name} {cacheVersion.Version.Split('.')[0]}";
            int zone = a % options.Zones;
            AddVm($"{app}-db", "database", db, 4, 16, 1.8, (zone + 1) % options.Zones);
            AddVm($"{app}-cache", "caching", cache, 2, 32, 2.5, (zone + 2) % options.Zones);
            for (int w = 0; w < options.WebPerApplication; w++)
            {
                string name = $"{app}-web{w}";
                AddVm(name, "web", "nginx 1.24.0", 2, 4, 1.1, (zone + w) % options.Zones);
                var required = new List<DependencySpec>
                {
                    new() { Type = "database", Version = VersionRequirement.TryParse(dbRequirement, out _), Latency = LatencyBound.Parse("< 1ms") },
                };
                var preferred = new List<DependencySpec>
                {
                    new() { Type = "caching", Version = VersionRequirement.TryParse(cacheRequirement, out _), Latency = LatencyBound.Parse("< 300us"), ResourceProfile = "high-memory" },
                };
                var jsonRequired = new List<string> { $$"""{ "type": "database", "version": "{{dbRequirement}}", "network_latency_requirement": "< 1ms" }""" };
                var jsonPreferred = new List<string> { $$"""{ "type": "caching", "version": "{{cacheRequirement}}", "network_latency_requirement": "< 300us", "resource_profile": "high-memory" }""" };
                if (a % 3 == 0 && options.AnalyticsVms > 0)
                {
                    preferred.Add(new() { Type = "analytics", Fuzzy = FuzzyQuery.FromText("similar ML model signature"), Latency = LatencyBound.Parse("< 1ms") });
                    jsonPreferred.Add("""{ "type": "analytics", "fuzzy_match": "similar ML model signature", "network_latency_requirement": "< 1ms" }""");
                }

                if (a == options.Applications - 1)
                {
                    required.Add(new() { Type = "search", Version = VersionRequirement.TryParse("Elasticsearch 8", out _) });
                    jsonRequired.Add("""{ "type": "search", "version": "Elasticsearch 8" }""");
                }

                declarations.Add(new VmDeclaration { VmName = name, Required = required, Preferred = preferred });
                json.Add($$"""
                      { "vm_name": "{{name}}",
                        "dependencies": {
                          "required": [ {{string.Join(", ", jsonRequired)}} ],
                          "preferred": [ {{string.Join(", ", jsonPreferred)}} ] } }
                    """);
            }
        }

        var model = SimulationModel.Default with
        {
            TickIntervalSeconds = options.Tick.TotalSeconds,
            DurationSeconds = options.Duration.TotalSeconds,
            StartSeconds = 0.1,
        };
        var scenario = new SimulationScenario("ecosystem", hosts, vms, model, NetworkTopology.Default);
        var placement = Scatter(hosts, vms, zoneOf, options, random);
        var truth = new CoLocationLatencyModel(new Dictionary<string, double>(StringComparer.OrdinalIgnoreCase)
        {
            ["database"] = 30, ["caching"] = 60, ["analytics"] = 2, ["search"] = 5,
        });
        return new EcosystemScenarioSetup(scenario, declarations, placement, truth, "[\n" + string.Join(",\n", json) + "\n]\n");
    }

    // Each VM to a random host of its assigned zone that has room (cores and memory), else anywhere with room.
    private static int[] Scatter(List<HostInfo> hosts, List<SimulatedVm> vms, List<int> zoneOf, EcosystemScenarioOptions options, Random random)
    {
        var cores = new double[hosts.Count];
        var memory = new double[hosts.Count];
        var placement = new int[vms.Count];
        int perZone = options.RacksPerZone * options.HostsPerRack;
        for (int v = 0; v < vms.Count; v++)
        {
            var need = vms[v].Info.Allocation;
            int chosen = -1;
            int start = zoneOf[v] * perZone;
            for (int attempt = 0; attempt < 4 * perZone && chosen < 0; attempt++)
            {
                int h = start + random.Next(perZone);
                if (Fits(h))
                {
                    chosen = h;
                }
            }

            for (int h = 0; h < hosts.Count && chosen < 0; h++)
            {
                if (Fits(h))
                {
                    chosen = h;
                }
            }

            if (chosen < 0)
            {
                throw new InvalidOperationException(string.Create(CultureInfo.InvariantCulture, $"The scenario's {vms.Count} VMs do not fit on {hosts.Count} hosts."));
            }

            cores[chosen] += need.CpuCores;
            memory[chosen] += need.MemoryMiB;
            placement[v] = chosen;

            bool Fits(int h) => cores[h] + need.CpuCores <= hosts[h].Capacity.CpuCores && memory[h] + need.MemoryMiB <= hosts[h].Capacity.MemoryMiB;
        }

        return placement;
    }
}
