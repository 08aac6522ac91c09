using System.Text;
using Spectre.Console;

namespace VmEcosystem.ConsoleHost.Commands;

/// <summary>
/// Text from outside (trace file names and lines, VM names, provider messages) made safe for a terminal: control
/// characters (an escape sequence could rewrite the screen) are shown as <c>\xNN</c>, and markup is escaped where
/// Spectre would interpret it.
/// </summary>
internal static class CliText
{
    /// <summary>Control characters escaped; for plain lines.</summary>
    public static string Plain(string? text)
    {
        if (string.IsNullOrEmpty(text))
        {
            return text ?? string.Empty;
        }

        bool clean = true;
        foreach (char c in text)
        {
            clean &= !IsControl(c);
        }

        if (clean)
        {
            return text;
        }

        var b = new StringBuilder(text.Length + 16);
        foreach (char c in text)
        {
            if (IsControl(c))
            {
                b.Append("\\x").Append(((int)c).ToString("X2", System.Globalization.CultureInfo.InvariantCulture));
            }
            else
            {
                b.Append(c);
            }
        }

        return b.ToString();
    }

    /// <summary>Control characters and markup escaped; for table cells and markup lines.</summary>
    public static string Cell(string? text) => Markup.Escape(Plain(text));

    private static bool IsControl(char c) => c < 0x20 || c is >= '\u007f' and <= '\u009f';
}
