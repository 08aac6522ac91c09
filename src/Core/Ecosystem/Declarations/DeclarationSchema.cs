namespace VmEcosystem.Ecosystem.Declarations;

/// <summary>The JSON Schema of declaration documents, shipped in the assembly and in the package (<c>schema/</c>).</summary>
public static class DeclarationSchema
{
    /// <summary>File name of the schema in the package.</summary>
    public const string FileName = "vm-ecosystem-declaration.schema.json";

    /// <summary>The schema's text.</summary>
    public static string Json { get; } = IO.EmbeddedText.Read(FileName);
}
