using System.Threading.RateLimiting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace VmEcosystem.AspNetCore;

/// <summary>
/// Token-bucket rate limit per caller (user name, or remote address when anonymous), as an endpoint filter so it
/// works without the application adding the rate-limiting middleware. A refused call is a 429 problem with Retry-After.
/// </summary>
internal sealed class ApiRateLimit : IDisposable
{
    private readonly PartitionedRateLimiter<HttpContext>? _limiter;

    public ApiRateLimit(IOptions<VmEcosystemApiOptions> options)
    {
        var o = options.Value;
        if (o.RequestsPerSecond <= 0)
        {
            return;
        }

        int perPeriod = Math.Max(1, (int)Math.Ceiling(o.RequestsPerSecond / 10));
        var period = TimeSpan.FromSeconds(perPeriod / o.RequestsPerSecond);
        _limiter = PartitionedRateLimiter.Create<HttpContext, string>(context => RateLimitPartition.GetTokenBucketLimiter(
            context.User.Identity?.Name is { Length: > 0 } name ? "u:" + name : "a:" + context.Connection.RemoteIpAddress,
            _ => new TokenBucketRateLimiterOptions
            {
                TokenLimit = o.Burst,
                TokensPerPeriod = perPeriod,
                ReplenishmentPeriod = period,
                QueueLimit = 0,
                AutoReplenishment = true,
            }));
    }

    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        if (_limiter is null)
        {
            return await next(context).ConfigureAwait(false);
        }

        using var lease = _limiter.AttemptAcquire(context.HttpContext);
        if (!lease.IsAcquired)
        {
            if (lease.TryGetMetadata(MetadataName.RetryAfter, out var retry))
            {
                context.HttpContext.Response.Headers.RetryAfter = Math.Max(1, (int)Math.Ceiling(retry.TotalSeconds)).ToString(System.Globalization.CultureInfo.InvariantCulture);
            }

            return Problems.Status(StatusCodes.Status429TooManyRequests, "Too many requests.", "the caller's rate limit is spent (VmEcosystem:Api:RequestsPerSecond, Burst)");
        }

        return await next(context).ConfigureAwait(false);
    }

    public void Dispose() => _limiter?.Dispose();
}

/// <summary>
/// Turns an exception no handler expected into a 500 problem with the trace id (logged with its stack trace here,
/// never sent); a cancelled request is left to the server.
/// </summary>
internal sealed partial class ApiErrors(ILogger<ApiErrors> logger)
{
    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        try
        {
            return await next(context).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (context.HttpContext.RequestAborted.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception ex)
        {
            Log.Unexpected(logger, ex, context.HttpContext.Request.Method, context.HttpContext.Request.Path);
            return Problems.Status(StatusCodes.Status500InternalServerError, "The request failed.",
                "an unexpected error; the server's log has it under this trace id",
                new Dictionary<string, object?> { ["traceId"] = context.HttpContext.TraceIdentifier });
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 1, Level = LogLevel.Error, Message = "VmEcosystem API {Method} {Path} failed")]
        public static partial void Unexpected(ILogger logger, Exception exception, string method, string path);
    }
}
