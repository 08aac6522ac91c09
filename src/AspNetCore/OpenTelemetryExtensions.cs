using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;
using VmEcosystem.Runtime;

namespace VmEcosystem.AspNetCore;

/// <summary>Adds the library's meter and activity source to an OpenTelemetry registration.</summary>
public static class VmEcosystemInstrumentationExtensions
{
    /// <summary>Collects the runtime's metrics (meter <c>VmEcosystem</c>): actions by kind and outcome, migrations, queues, audit.</summary>
    public static MeterProviderBuilder AddVmEcosystemInstrumentation(this MeterProviderBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.AddMeter(RuntimeTelemetry.MeterName);
    }

    /// <summary>Collects the runtime's spans (source <c>VmEcosystem</c>): planning passes, executions, migrations.</summary>
    public static TracerProviderBuilder AddVmEcosystemInstrumentation(this TracerProviderBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.AddSource(RuntimeTelemetry.ActivitySourceName);
    }
}
