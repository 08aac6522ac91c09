using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using VmEcosystem.Borrowing;
using VmEcosystem.Runtime;

namespace VmEcosystem.Hosting;

/// <summary>Registers host-set budgets, loans and scale-out.</summary>
public static class BorrowingBuilderExtensions
{
    /// <summary>
    /// Gives host sets budgets (<see cref="BorrowingOptions"/>, bound from <c>VmEcosystem:Borrowing</c> and validated at
    /// start, every message naming the setting): the <c>resizing</c> controller (<c>UseResizingPolicies</c>) keeps each
    /// set within its budget and, when it is spent, opens loans between the set's VMs under each policy's <c>loans</c>
    /// rule. Open loans are kept in the audit trail and read back after a restart (<see cref="IHostSetLoans"/> lists them).
    /// With an <see cref="IScaleOutHandler"/> registered (<see cref="AddScaleOutHandler{THandler}"/>), a set whose
    /// forecast outgrows its budget asks it for instances.
    /// </summary>
    public static VmEcosystemBuilder UseHostSetBudgets(this VmEcosystemBuilder builder, Action<BorrowingOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var options = builder.Services.AddOptions<BorrowingOptions>().ValidateOnStart();
        if (builder.Section("Borrowing") is { } section)
        {
            options.Bind(section, b => b.ErrorOnUnknownConfiguration = true);
        }

        if (configure is not null)
        {
            options.Configure(configure);
        }

        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<BorrowingOptions>, BorrowingOptionsValidator>());
        builder.Services.TryAddSingleton(sp => new LoanBook(sp.GetRequiredService<IOptions<BorrowingOptions>>().Value));
        builder.Services.TryAddSingleton<IHostSetLoans>(sp => sp.GetRequiredService<LoanBook>());
        return builder;
    }

    /// <summary>
    /// Registers the simulator's scale-out handler: standby instances of the scenario (VMs labelled
    /// <c>vmeco.standby</c> with their host set's name) join the set on a scale-out and leave it on a scale-in.
    /// </summary>
    public static VmEcosystemBuilder AddSimulatorScaleOut(this VmEcosystemBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.TryAddSingleton<IScaleOutHandler>(sp => new VmEcosystem.Simulation.SimulatorScaleOutHandler(
            sp.GetRequiredService<VmEcosystem.Hypervisor.IHypervisor>() as VmEcosystem.Simulation.SimulatorHypervisor
                ?? throw new InvalidOperationException("AddSimulatorScaleOut needs the simulator (UseSimulator).")));
        return builder;
    }

    /// <summary>Registers the platform's <see cref="IScaleOutHandler"/> (a singleton): it receives the scale-out and scale-in requests of budgeted host sets.</summary>
    public static VmEcosystemBuilder AddScaleOutHandler<THandler>(this VmEcosystemBuilder builder)
        where THandler : class, IScaleOutHandler
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.TryAddSingleton<IScaleOutHandler, THandler>();
        return builder;
    }
}

/// <summary>Checks <see cref="BorrowingOptions"/> at start.</summary>
internal sealed class BorrowingOptionsValidator : IValidateOptions<BorrowingOptions>
{
    public ValidateOptionsResult Validate(string? name, BorrowingOptions options) =>
        options.Validate() is { Count: > 0 } errors ? ValidateOptionsResult.Fail(errors) : ValidateOptionsResult.Success;
}
