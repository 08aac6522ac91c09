namespace VmEcosystem.Policies;

/// <summary>One problem in a policy document: where (a JSON path such as <c>$.policies[2].cpu.max</c>) and what was expected.</summary>
/// <param name="Path">JSON path of the offending value.</param>
/// <param name="Message">What is wrong and what was expected.</param>
public sealed record PolicyError(string Path, string Message)
{
    /// <inheritdoc />
    public override string ToString() => $"{Path}: {Message}";
}

/// <summary>The outcome of parsing a policy document: the set (when valid) and every error found.</summary>
/// <param name="Set">The policies, or null when the document had errors.</param>
/// <param name="Errors">Every problem found (up to the parser's limit).</param>
public sealed record PolicyParseResult(PolicySet? Set, IReadOnlyList<PolicyError> Errors)
{
    /// <summary>True when the document had no errors.</summary>
    public bool Success => Errors.Count == 0;

    /// <summary>The set, or a <see cref="PolicyException"/> listing every error.</summary>
    public PolicySet GetOrThrow() => Set ?? throw new PolicyException(Errors);
}

/// <summary>Thrown for an invalid policy document; <see cref="Errors"/> lists every problem with its JSON path.</summary>
public sealed class PolicyException : Exception
{
    /// <summary>Creates the exception.</summary>
    public PolicyException(IReadOnlyList<PolicyError> errors)
        : base($"Invalid resizing policies ({errors.Count} error{(errors.Count == 1 ? string.Empty : "s")}):{Environment.NewLine}"
            + string.Join(Environment.NewLine, errors.Take(10).Select(e => "  " + e)) + (errors.Count > 10 ? $"{Environment.NewLine}  ... and {errors.Count - 10} more" : string.Empty))
    {
        Errors = errors;
    }

    /// <summary>Every problem found.</summary>
    public IReadOnlyList<PolicyError> Errors { get; }
}
