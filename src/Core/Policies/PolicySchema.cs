namespace VmEcosystem.Policies;

/// <summary>The JSON Schema of resizing-policy documents, shipped in the assembly and in the package (<c>schema/</c>).</summary>
public static class PolicySchema
{
    /// <summary>File name of the schema in the package.</summary>
    public const string FileName = "vm-ecosystem-policies.schema.json";

    /// <summary>The schema's text.</summary>
    public static string Json { get; } = IO.EmbeddedText.Read(FileName);
}
