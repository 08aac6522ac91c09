namespace VmEcosystem.Forecasting;

/// <summary>A forecaster that can hand back the samples it keeps, so its warm state can be saved and refitted later.</summary>
internal interface IRetainedHistory
{
    /// <summary>Copies the retained samples, oldest first, into <paramref name="destination"/>; returns how many.</summary>
    int CopyHistory(Span<double> destination);

    /// <summary>Samples retained.</summary>
    int RetainedCount { get; }
}
