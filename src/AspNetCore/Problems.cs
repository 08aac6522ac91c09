using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;

namespace VmEcosystem.AspNetCore;

/// <summary>RFC 9457 problem details for every error the API answers (never a stack trace, never a secret).</summary>
internal static class Problems
{
    public static ProblemHttpResult Status(int status, string title, string? detail = null, IDictionary<string, object?>? extensions = null) =>
        TypedResults.Problem(detail: detail, statusCode: status, title: title, extensions: extensions);

    public static ValidationProblem Validation(IEnumerable<(string Path, string Message)> errors, string title = "The request is not valid.")
    {
        var grouped = errors
            .GroupBy(e => e.Path, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.Select(e => e.Message).ToArray(), StringComparer.Ordinal);
        return TypedResults.ValidationProblem(grouped, title: title);
    }

    public static ValidationProblem Validation(string path, string message) => Validation([(path, message)]);

    public static ProblemHttpResult NotFound(string what) => Status(StatusCodes.Status404NotFound, "Not found.", what);

    public static ProblemHttpResult Conflict(string detail) => Status(StatusCodes.Status409Conflict, "The request conflicts with the current state.", detail);

    public static ProblemHttpResult Unavailable(string detail) => Status(StatusCodes.Status503ServiceUnavailable, "Not available.", detail);
}
