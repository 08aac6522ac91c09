namespace VmEcosystem.Simulation;

/// <summary>A trace folder or file is missing or malformed. The message names the file and, where relevant, the line.</summary>
public sealed class TraceFormatException : Exception
{
    /// <summary>Creates the exception.</summary>
    public TraceFormatException(string message, string? path = null, int? line = null, Exception? inner = null)
        : base(message, inner)
    {
        Path = path;
        Line = line;
    }

    /// <summary>The offending file or folder.</summary>
    public string? Path { get; }

    /// <summary>The 1-based line number, when a line is at fault.</summary>
    public int? Line { get; }
}
