namespace VmEcosystem.Runtime;

/// <summary>Time arithmetic that saturates instead of overflowing (an expiry past the calendar's end is "never").</summary>
internal static class TimeMath
{
    public static DateTimeOffset Add(DateTimeOffset time, TimeSpan span)
    {
        if (span >= TimeSpan.Zero)
        {
            return span >= DateTimeOffset.MaxValue - time ? DateTimeOffset.MaxValue : time + span;
        }

        return -span >= time - DateTimeOffset.MinValue ? DateTimeOffset.MinValue : time + span;
    }
}
