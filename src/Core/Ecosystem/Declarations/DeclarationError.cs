namespace VmEcosystem.Ecosystem.Declarations;

/// <summary>One problem in a declaration document: where (a JSON path such as <c>$[2].dependencies.required[0].type</c>) and what was expected.</summary>
/// <param name="Path">JSON path of the offending value.</param>
/// <param name="Message">What is wrong and what was expected.</param>
public sealed record DeclarationError(string Path, string Message)
{
    /// <inheritdoc />
    public override string ToString() => $"{Path}: {Message}";
}

/// <summary>The outcome of parsing a declaration document: the valid declarations and every error found.</summary>
public sealed record DeclarationParseResult(IReadOnlyList<VmDeclaration> Declarations, IReadOnlyList<DeclarationError> Errors)
{
    /// <summary>True when the document had no errors.</summary>
    public bool Success => Errors.Count == 0;

    /// <summary>The declarations, or a <see cref="DeclarationException"/> listing every error.</summary>
    public IReadOnlyList<VmDeclaration> GetOrThrow() => Success ? Declarations : throw new DeclarationException(Errors);
}

/// <summary>Thrown for an invalid declaration document; <see cref="Errors"/> lists every problem with its JSON path.</summary>
public sealed class DeclarationException : Exception
{
    /// <summary>Creates the exception.</summary>
    public DeclarationException(IReadOnlyList<DeclarationError> errors)
        : base(Format(errors))
    {
        Errors = errors;
    }

    /// <summary>Every problem found.</summary>
    public IReadOnlyList<DeclarationError> Errors { get; }

    private static string Format(IReadOnlyList<DeclarationError> errors)
    {
        var shown = errors.Take(10).Select(e => "  " + e);
        string more = errors.Count > 10 ? $"{Environment.NewLine}  ... and {errors.Count - 10} more" : string.Empty;
        return $"Invalid dependency declarations ({errors.Count} error{(errors.Count == 1 ? string.Empty : "s")}):{Environment.NewLine}"
            + string.Join(Environment.NewLine, shown) + more;
    }
}
