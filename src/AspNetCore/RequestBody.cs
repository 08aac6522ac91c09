using System.Buffers;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace VmEcosystem.AspNetCore;

/// <summary>
/// Reads a request body within the configured size, whatever the server (Kestrel cuts it off too when the
/// feature can still be changed): the handlers parse bodies themselves so every malformed one is a problem answer
/// naming its JSON path, never a framework exception.
/// </summary>
internal static class RequestBody
{
    public const int MaxDepth = 32;

    /// <summary>The body, or null when it is larger than <paramref name="limit"/>.</summary>
    public static async Task<byte[]?> ReadAsync(HttpContext context, int limit, CancellationToken cancellationToken)
    {
        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } size)
        {
            size.MaxRequestBodySize = limit + 1L;
        }

        if (context.Request.ContentLength > limit)
        {
            return null;
        }

        var buffer = ArrayPool<byte>.Shared.Rent(Math.Min(limit + 1, 64 * 1024));
        try
        {
            int length = 0;
            while (true)
            {
                if (length == buffer.Length)
                {
                    if (buffer.Length > limit)
                    {
                        return null;
                    }

                    var bigger = ArrayPool<byte>.Shared.Rent(Math.Min(limit + 1, buffer.Length * 2));
                    buffer.AsSpan(0, length).CopyTo(bigger);
                    ArrayPool<byte>.Shared.Return(buffer);
                    buffer = bigger;
                }

                int read;
                try
                {
                    read = await context.Request.Body.ReadAsync(buffer.AsMemory(length), cancellationToken).ConfigureAwait(false);
                }
                catch (BadHttpRequestException ex) when (ex.StatusCode == StatusCodes.Status413PayloadTooLarge)
                {
                    return null;
                }

                if (read == 0)
                {
                    break;
                }

                length += read;
                if (length > limit)
                {
                    return null;
                }
            }

            return buffer.AsSpan(0, length).ToArray();
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>Parses a small JSON body strictly (bounded depth, no comments or trailing commas); the error names the position.</summary>
    public static JsonDocument? ParseJson(byte[] body, out string? error)
    {
        if (!System.Text.Unicode.Utf8.IsValid(body))
        {
            // The reader checks encoding only when a string is read, so a handler would meet it as an exception.
            error = "not valid UTF-8";
            return null;
        }

        try
        {
            error = null;
            return JsonDocument.Parse(body, new JsonDocumentOptions { MaxDepth = MaxDepth });
        }
        catch (JsonException ex)
        {
            error = ex.LineNumber is { } line
                ? $"not valid JSON at line {line + 1}, byte {ex.BytePositionInLine + 1}"
                : "not valid JSON";
            return null;
        }
        catch (ArgumentException)
        {
            error = "not valid UTF-8";
            return null;
        }
    }

    /// <summary>The problem for a body over the limit.</summary>
    public static IResult TooLarge(int limit) =>
        Problems.Status(StatusCodes.Status413PayloadTooLarge, "The request body is too large.", $"at most {limit} bytes (VmEcosystem:Api:MaxRequestBodyBytes)");
}
