using System.Net;
using System.Text.Json;

namespace VmEcosystem.AspNetCore.Tests;

/// <summary>Reads answers: JSON bodies, and problem details with their per-path errors.</summary>
internal static class ApiAssert
{
    public static async Task<JsonElement> JsonAsync(HttpResponseMessage response, HttpStatusCode expected = HttpStatusCode.OK)
    {
        string text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == expected, $"{(int)response.StatusCode} (expected {(int)expected}): {text}");
        using var document = JsonDocument.Parse(text);
        return document.RootElement.Clone();
    }

    /// <summary>A problem-details answer with <paramref name="status"/>; returns it.</summary>
    public static async Task<JsonElement> ProblemAsync(HttpResponseMessage response, HttpStatusCode status)
    {
        string text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == status, $"{(int)response.StatusCode} (expected {(int)status}): {text}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        using var document = JsonDocument.Parse(text);
        var root = document.RootElement.Clone();
        Assert.Equal((int)status, root.GetProperty("status").GetInt32());
        Assert.DoesNotContain("   at ", text, StringComparison.Ordinal); // no stack trace
        return root;
    }

    /// <summary>A 400 validation problem whose errors name <paramref name="path"/>; returns that path's messages.</summary>
    public static async Task<string[]> ValidationAsync(HttpResponseMessage response, string path)
    {
        var problem = await ProblemAsync(response, HttpStatusCode.BadRequest);
        var errors = problem.GetProperty("errors");
        Assert.True(errors.TryGetProperty(path, out var messages), $"no error at {path}: {errors}");
        return [.. messages.EnumerateArray().Select(m => m.GetString()!)];
    }
}
