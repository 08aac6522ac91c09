using System.Globalization;
using Microsoft.AspNetCore.Http;

namespace VmEcosystem.AspNetCore.Endpoints;

/// <summary>
/// Reads query parameters as text and checks them here, so a wrong type is a problem answer naming the parameter
/// (the framework's binding would answer 400 with no body).
/// </summary>
internal sealed class Query(HttpRequest request)
{
    public List<(string Path, string Message)> Errors { get; } = [];

    public string? Text(string name)
    {
        var values = request.Query[name];
        if (values.Count > 1)
        {
            Errors.Add(($"query:{name}", "expected one value"));
            return null;
        }

        return values.Count == 1 && !string.IsNullOrWhiteSpace(values[0]) ? values[0] : null;
    }

    public int Int(string name, int fallback, int min, int max)
    {
        if (Text(name) is not { } text)
        {
            return fallback;
        }

        if (!int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out int value) || value < min || value > max)
        {
            Errors.Add(($"query:{name}", $"expected an integer from {min} to {max}"));
            return fallback;
        }

        return value;
    }

    public long? Long(string name)
    {
        if (Text(name) is not { } text)
        {
            return null;
        }

        if (!long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out long value) || value < 0)
        {
            Errors.Add(($"query:{name}", "expected a non-negative integer"));
            return null;
        }

        return value;
    }

    public bool? Bool(string name)
    {
        if (Text(name) is not { } text)
        {
            return null;
        }

        if (!bool.TryParse(text, out bool value))
        {
            Errors.Add(($"query:{name}", "expected true or false"));
            return null;
        }

        return value;
    }

    public DateTimeOffset? Time(string name)
    {
        if (Text(name) is not { } text)
        {
            return null;
        }

        if (!DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var value))
        {
            Errors.Add(($"query:{name}", "expected an ISO 8601 time"));
            return null;
        }

        return value;
    }

    /// <summary>Offset and limit of a page.</summary>
    public (int Offset, int Limit) Page(int maxLimit, int defaultLimit = 100) =>
        (Int("offset", 0, 0, int.MaxValue), Int("limit", Math.Min(defaultLimit, maxLimit), 1, maxLimit));

    public IResult? Problem => Errors.Count > 0 ? Problems.Validation(Errors, "The query is not valid.") : null;
}

/// <summary>A page of items.</summary>
internal sealed record Page<T>(int Total, int Offset, int Limit, IReadOnlyList<T> Items);
