using System.Security.Cryptography;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;

namespace VmEcosystem.AspNetCore;

/// <summary>
/// Remembers the answer of each <c>Idempotency-Key</c> of a caller on an endpoint, so a client that retries after a
/// timeout gets the first answer instead of a second action. A key reused with a different body is refused; a retry
/// that arrives while the first call still runs waits for its answer. Wall-clock time: keys outlive any simulated clock.
/// </summary>
internal sealed class IdempotencyKeys(IOptions<VmEcosystemApiOptions> options)
{
    public const string Header = "Idempotency-Key";
    private const int MaxKeyLength = 200;
    private readonly Dictionary<string, Entry> _entries = new(StringComparer.Ordinal);
    private readonly Queue<(string Key, DateTimeOffset Expires)> _order = new();
    private readonly VmEcosystemApiOptions _options = options.Value;

    /// <summary>The stored answer of a call: its status and JSON body.</summary>
    public sealed record Answer(int Status, object Body);

    /// <summary>
    /// Runs <paramref name="action"/> once per key (or every time when the request has no key) and answers with its
    /// result; a retry gets the stored one.
    /// </summary>
    public async Task<IResult> RunAsync(HttpContext context, string endpoint, byte[] body, Func<Task<Answer>> action)
    {
        if (!context.Request.Headers.TryGetValue(Header, out var values))
        {
            return ToResult(await action().ConfigureAwait(false), replayed: false);
        }

        string? key = values.Count == 1 ? values[0] : null;
        if (string.IsNullOrEmpty(key) || key.Length > MaxKeyLength || key.Any(c => c < 0x21 || c > 0x7e))
        {
            return Problems.Validation($"header:{Header}", $"expected one key of 1 to {MaxKeyLength} visible ASCII characters");
        }

        var scoped = $"{endpoint}\n{context.User.Identity?.Name}\n{key}";
        var hash = SHA256.HashData(body);
        Entry entry;
        bool first;
        lock (_entries)
        {
            Expire();
            first = !_entries.TryGetValue(scoped, out entry!);
            if (first)
            {
                entry = new Entry(hash);
                _entries[scoped] = entry;
                _order.Enqueue((scoped, DateTimeOffset.UtcNow + _options.IdempotencyKeyLifetime));
            }
        }

        if (!first && !entry.BodyHash.AsSpan().SequenceEqual(hash))
        {
            return Problems.Status(StatusCodes.Status422UnprocessableEntity, "Idempotency-Key reused.",
                $"the key '{key}' was used with a different request body; use a new key for a new request");
        }

        if (first)
        {
            try
            {
                entry.Answer.SetResult(await action().ConfigureAwait(false));
            }
            catch (Exception ex)
            {
                // A call that failed is not remembered: the client's retry runs it again.
                lock (_entries)
                {
                    _entries.Remove(scoped);
                }

                entry.Answer.SetException(ex);
                throw;
            }

            return ToResult(await entry.Answer.Task.ConfigureAwait(false), replayed: false);
        }

        var answer = await entry.Answer.Task.WaitAsync(context.RequestAborted).ConfigureAwait(false);
        return ToResult(answer, replayed: true);
    }

    private static IResult ToResult(Answer answer, bool replayed)
    {
        var result = TypedResults.Json(answer.Body, ApiJson.Options, answer.Status >= 400 ? "application/problem+json" : null, answer.Status);
        return replayed ? new Replayed(result) : result;
    }

    private void Expire()
    {
        var now = DateTimeOffset.UtcNow;
        while (_order.TryPeek(out var oldest) && (oldest.Expires <= now || _order.Count > _options.IdempotencyKeyCapacity))
        {
            _order.Dequeue();
            _entries.Remove(oldest.Key);
        }
    }

    private sealed class Entry(byte[] bodyHash)
    {
        public byte[] BodyHash { get; } = bodyHash;

        public TaskCompletionSource<Answer> Answer { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    /// <summary>Marks a replayed answer with <c>Idempotent-Replayed: true</c>.</summary>
    private sealed class Replayed(IResult inner) : IResult
    {
        public Task ExecuteAsync(HttpContext httpContext)
        {
            httpContext.Response.Headers["Idempotent-Replayed"] = "true";
            return inner.ExecuteAsync(httpContext);
        }
    }
}
