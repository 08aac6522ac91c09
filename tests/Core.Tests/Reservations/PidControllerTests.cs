using VmEcosystem.Reservations;

namespace VmEcosystem.Tests.Reservations;

/// <summary>The PID controller against a first-order plant: step response, saturation and anti-windup, rate limit.</summary>
public sealed class PidControllerTests
{
    // An allocation that takes effect with a first-order lag of tau seconds (exact discretisation).
    private static (List<double> Measured, List<double> Outputs) Run(PidController pid, Func<double, double> setpoint, double dt, double seconds, double tau = 5)
    {
        double y = 0;
        var measured = new List<double>();
        var outputs = new List<double>();
        for (double t = 0; t < seconds; t += dt)
        {
            double u = pid.Update(setpoint(t), y, dt);
            y += (u - y) * (1 - Math.Exp(-dt / tau));
            measured.Add(y);
            outputs.Add(u);
        }

        return (measured, outputs);
    }

    private static double SettlingSeconds(List<double> ys, double target, double dt, int from = 0)
    {
        for (int i = from; i < ys.Count; i++)
        {
            if (ys.Skip(i).All(v => Math.Abs(v - target) <= 0.02 * Math.Abs(target)))
            {
                return (i - from + 1) * dt;
            }
        }

        return double.PositiveInfinity;
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(5)]
    public void A_step_settles_within_30_s_with_at_most_5_percent_overshoot_at_the_default_gains(double dt)
    {
        var (ys, _) = Run(new PidController(), _ => 100, dt, 300);
        double overshoot = (ys.Max() - 100) / 100;
        double settling = SettlingSeconds(ys, 100, dt);
        Assert.True(overshoot <= 0.05, $"overshoot {overshoot:P1} at {dt} s ticks");
        Assert.True(settling <= 30, $"settling {settling} s at {dt} s ticks");
    }

    [Fact]
    public void Higher_gains_settle_faster_and_overshoot_more()
    {
        var (soft, _) = Run(new PidController(new PidOptions { Kp = 0.2, Ki = 0.1, Kd = 0 }), _ => 100, 1, 300);
        var (hard, _) = Run(new PidController(new PidOptions { Kp = 0.8, Ki = 0.3, Kd = 0.05 }), _ => 100, 1, 300);
        Assert.True(SettlingSeconds(hard, 100, 1) < SettlingSeconds(soft, 100, 1));
        Assert.True(hard.Max() > soft.Max());
    }

    [Fact]
    public void A_saturated_output_does_not_wind_up_and_recovers_at_once_when_the_setpoint_drops()
    {
        // Capped at 60 while asked for 100 for a minute, then asked for 40.
        var pid = new PidController(new PidOptions { MaxOutput = 60 });
        var (ys, us) = Run(pid, t => t < 60 ? 100 : 40, 1, 200);
        Assert.All(us, u => Assert.InRange(u, 0, 60));
        Assert.Equal(60, us[59], 6);
        double recovery = SettlingSeconds(ys, 40, 1, from: 60);
        Assert.True(recovery <= 30, $"recovered in {recovery} s"); // a plain integral, wound up by a minute at the cap, would hold the output there long after the drop
    }

    [Fact]
    public void The_rate_limit_bounds_every_change_and_the_derivative_does_not_kick_on_a_setpoint_step()
    {
        var limited = new PidController(new PidOptions { MaxRatePerSecond = 4 });
        var (_, us) = Run(limited, _ => 100, 1, 60);
        Assert.Equal(4, us[0], 6);
        for (int i = 1; i < us.Count; i++)
        {
            Assert.True(Math.Abs(us[i] - us[i - 1]) <= 4 + 1e-9);
        }

        // Derivative on measurement: with the measurement unchanged, a setpoint step moves the output by Kp and Ki only.
        var pid = new PidController(new PidOptions { Kp = 1, Ki = 0, Kd = 100 }, initialOutput: 10);
        Assert.Equal(10, pid.Update(0, 0, 1), 9);
        Assert.Equal(60, pid.Update(50, 0, 1), 9);
    }

    [Fact]
    public void Bad_settings_and_inputs_are_refused()
    {
        var ex = Assert.Throws<ArgumentException>(() => new PidController(new PidOptions { Kp = -1, MinOutput = 5, MaxOutput = 1 }));
        Assert.Contains("Pid: Kp, Ki and Kd", ex.Message, StringComparison.Ordinal);
        Assert.Contains("Pid:MinOutput", ex.Message, StringComparison.Ordinal);
        var pid = new PidController();
        Assert.Throws<ArgumentOutOfRangeException>(() => pid.Update(1, 0, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => pid.Update(double.NaN, 0, 1));
    }
}
