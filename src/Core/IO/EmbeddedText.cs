namespace VmEcosystem.IO;

/// <summary>Text files embedded in the assembly (the JSON Schemas shipped with it).</summary>
internal static class EmbeddedText
{
    /// <summary>The text of the embedded resource <paramref name="name"/>.</summary>
    /// <exception cref="InvalidOperationException">The resource is missing (a build error).</exception>
    public static string Read(string name)
    {
        using var stream = typeof(EmbeddedText).Assembly.GetManifestResourceStream(name)
            ?? throw new InvalidOperationException($"The embedded resource '{name}' is missing.");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}
