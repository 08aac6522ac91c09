using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using VmEcosystem.Borrowing;
using VmEcosystem.Hosting;

namespace VmEcosystem.Tests.Hosting;

/// <summary>UseHostSetBudgets: budgets bound from configuration, checked at start naming each setting, one loan book.</summary>
public sealed class BorrowingRegistrationTests
{
    [Fact]
    public void Budgets_bind_from_configuration_and_the_loans_service_is_registered_once()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["VmEcosystem:Borrowing:Budgets:tenant-a:Cores"] = "16",
            ["VmEcosystem:Borrowing:Budgets:tenant-a:MemoryMiB"] = "65536",
            ["VmEcosystem:Borrowing:ScaleOutLeadTime"] = "00:45:00",
        }).Build();
        var services = new ServiceCollection();
        services.AddVmEcosystem(configuration.GetSection("VmEcosystem"), b => b.UseSimulator().UseHostSetBudgets());
        services.AddVmEcosystem(configuration.GetSection("VmEcosystem"), b => b.UseSimulator().UseHostSetBudgets());
        using var sp = services.BuildServiceProvider();
        var o = sp.GetRequiredService<IOptions<BorrowingOptions>>().Value;
        Assert.Equal(16, o.Budgets["tenant-a"].Cores);
        Assert.Equal(65536, o.Budgets["tenant-a"].MemoryMiB);
        Assert.Null(o.Budgets["tenant-a"].DiskIops);
        Assert.Equal(TimeSpan.FromMinutes(45), o.ScaleOutLeadTime);
        Assert.Empty(sp.GetRequiredService<IHostSetLoans>().Open);
        Assert.Single(services, d => d.ServiceType == typeof(IHostSetLoans));
    }

    [Fact]
    public async Task Invalid_budgets_fail_at_start_naming_each_setting()
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Services.AddVmEcosystem(b => b.UseSimulator().UseHostSetBudgets(o =>
        {
            o.Budgets["web"] = new HostSetBudget { Cores = -2, MemoryMiB = double.NaN };
            o.Budgets["db"] = new HostSetBudget();
            o.ScaleOutLeadTime = TimeSpan.Zero;
            o.ScaleInShare = 1.5;
        }));
        using var host = builder.Build();
        var ex = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());
        foreach (string setting in new[] { "Budgets:web:Cores", "Budgets:web:MemoryMiB", "Budgets:db", "ScaleOutLeadTime", "ScaleInShare" })
        {
            Assert.Contains($"VmEcosystem:Borrowing:{setting}", ex.Message, StringComparison.Ordinal);
        }
    }
}
