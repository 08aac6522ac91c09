namespace VmEcosystem.Reservations;

/// <summary>
/// Gains and limits of a <see cref="PidController"/>. The default gains were chosen on an allocation that takes
/// effect with a 5 s first-order lag, ticked every 1, 2 or 5 s: a step settles within 2 % in at most 23 s with at most
/// 2 % overshoot at every one of those tick lengths, and after a minute saturated at its cap the output follows a
/// setpoint drop within 24 s (<c>PidControllerTests</c> checks 30 s and 5 %).
/// </summary>
public sealed record PidOptions
{
    /// <summary>Proportional gain (output units per unit of error).</summary>
    public double Kp { get; init; } = 0.5;

    /// <summary>Integral gain (output units per unit of error and second).</summary>
    public double Ki { get; init; } = 0.18;

    /// <summary>Derivative gain (output units per unit of measurement change per second); acts on the measurement, not the error, so a setpoint step causes no kick.</summary>
    public double Kd { get; init; } = 0.05;

    /// <summary>Time constant of the first-order filter on the derivative, seconds (0: unfiltered).</summary>
    public double DerivativeFilterSeconds { get; init; } = 2;

    /// <summary>Lowest output.</summary>
    public double MinOutput { get; init; }

    /// <summary>Highest output.</summary>
    public double MaxOutput { get; init; } = double.MaxValue;

    /// <summary>Most the output may change per second, either way (infinity: unlimited).</summary>
    public double MaxRatePerSecond { get; init; } = double.PositiveInfinity;

    /// <summary>Problems with these settings, each naming the setting (empty when valid).</summary>
    public IEnumerable<string> Validate(string prefix = "Pid")
    {
        if (!(Kp >= 0) || !(Ki >= 0) || !(Kd >= 0) || double.IsInfinity(Kp) || double.IsInfinity(Ki) || double.IsInfinity(Kd))
        {
            yield return $"{prefix}: Kp, Ki and Kd must be finite numbers >= 0 (were {Kp}, {Ki}, {Kd}).";
        }

        if (!(DerivativeFilterSeconds >= 0) || double.IsInfinity(DerivativeFilterSeconds))
        {
            yield return $"{prefix}:DerivativeFilterSeconds must be a finite number >= 0 (was {DerivativeFilterSeconds}).";
        }

        if (double.IsNaN(MinOutput) || double.IsNaN(MaxOutput) || MinOutput > MaxOutput)
        {
            yield return $"{prefix}:MinOutput ({MinOutput}) must not exceed MaxOutput ({MaxOutput}).";
        }

        if (!(MaxRatePerSecond > 0))
        {
            yield return $"{prefix}:MaxRatePerSecond must be above 0 (was {MaxRatePerSecond}).";
        }
    }
}

/// <summary>
/// A discrete PID controller for steering an allocation toward a setpoint (what a VM uses, plus headroom): the
/// proportional term on the error, the integral with anti-windup by conditional integration (the integral does not
/// grow while the output is saturated in the direction the error pushes, so it never has to unwind), the derivative
/// on the filtered measurement (no kick when the setpoint steps), then clamping to [<see cref="PidOptions.MinOutput"/>,
/// <see cref="PidOptions.MaxOutput"/>] and a rate limit. Ticks may be irregular (each passes its own elapsed time).
/// Plain arithmetic, no allocation; deterministic.
/// </summary>
public sealed class PidController
{
    private readonly PidOptions _options;
    private double _integral;
    private double _lastMeasurement;
    private double _derivative;
    private bool _started;

    /// <summary>Creates a controller whose output starts at <paramref name="initialOutput"/> (bumpless: the integral holds it).</summary>
    /// <exception cref="ArgumentException">Invalid options; the message names the setting.</exception>
    public PidController(PidOptions? options = null, double initialOutput = 0)
    {
        _options = options ?? new PidOptions();
        var errors = _options.Validate().ToArray();
        if (errors.Length > 0)
        {
            throw new ArgumentException(string.Join(" ", errors), nameof(options));
        }

        Output = Math.Clamp(initialOutput, _options.MinOutput, _options.MaxOutput);
        _integral = Output;
    }

    /// <summary>The last output.</summary>
    public double Output { get; private set; }

    /// <summary>True when the last output was clamped to a limit (or held back by the rate limit).</summary>
    public bool Saturated { get; private set; }

    /// <summary>Advances by <paramref name="elapsedSeconds"/> with the current setpoint and measurement; returns the new output.</summary>
    /// <exception cref="ArgumentOutOfRangeException">Elapsed time not positive, or a value not finite.</exception>
    public double Update(double setpoint, double measurement, double elapsedSeconds)
    {
        if (!(elapsedSeconds > 0) || double.IsInfinity(elapsedSeconds))
        {
            throw new ArgumentOutOfRangeException(nameof(elapsedSeconds), elapsedSeconds, "Elapsed time must be a finite number > 0.");
        }

        if (!double.IsFinite(setpoint) || !double.IsFinite(measurement))
        {
            throw new ArgumentOutOfRangeException(nameof(measurement), measurement, "Setpoint and measurement must be finite.");
        }

        double error = setpoint - measurement;
        if (_started)
        {
            // Derivative on the measurement, low-pass filtered: dm/dt smoothed over DerivativeFilterSeconds.
            double raw = (measurement - _lastMeasurement) / elapsedSeconds;
            double alpha = _options.DerivativeFilterSeconds > 0 ? elapsedSeconds / (_options.DerivativeFilterSeconds + elapsedSeconds) : 1;
            _derivative += alpha * (raw - _derivative);
        }

        _started = true;
        _lastMeasurement = measurement;
        double candidateIntegral = _integral + (_options.Ki * error * elapsedSeconds);
        double unclamped = (_options.Kp * error) + candidateIntegral - (_options.Kd * _derivative);
        double limited = Math.Clamp(unclamped, _options.MinOutput, _options.MaxOutput);
        double step = _options.MaxRatePerSecond * elapsedSeconds;
        limited = Math.Clamp(limited, Output - step, Output + step);
        Saturated = limited != unclamped;

        // Conditional integration: keep the new integral unless the output is held at a limit and the error would
        // push it further past that limit (that growth would only have to unwind later: windup).
        bool pushingPast = Saturated && ((unclamped > limited && error > 0) || (unclamped < limited && error < 0));
        if (!pushingPast)
        {
            _integral = candidateIntegral;
        }

        Output = limited;
        return Output;
    }
}
