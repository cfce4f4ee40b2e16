using BatchPortal.Engine.Access;
using System.ComponentModel.DataAnnotations;
using System.Threading.RateLimiting;
using BatchPortal.Portal.Access;
using Microsoft.Extensions.Options;

namespace BatchPortal.Portal.Api;

/// <summary>How much of the API one caller may hold at once (section <c>Api:Throttle</c>).</summary>
public sealed class ApiThrottleOptions
{
    public const string Section = "Api:Throttle";

    /// <summary>Requests of one caller (an access key, else an address) being answered at once.</summary>
    [Range(1, 10_000, ErrorMessage = "Api:Throttle:ConcurrentRequests must be between 1 and 10000.")]
    public int ConcurrentRequests { get; set; } = 32;

    /// <summary>Requests of one caller waiting for a turn, oldest first; past them it gets 429 TooManyRequestsException.</summary>
    [Range(0, 100_000, ErrorMessage = "Api:Throttle:QueuedRequests must be between 0 and 100000.")]
    public int QueuedRequests { get; set; } = 256;
}

/// <summary>
/// A caller that sends more than its share waits behind its own requests, not in front of everyone else's: each access
/// key (or, without keys, each client address) gets <see cref="ApiThrottleOptions.ConcurrentRequests"/> answers at once
/// and a queue; past the queue it gets 429 <c>TooManyRequestsException</c>, which the AWS SDKs and the CLI take as
/// "slow down and retry". A rate in requests per second would cap the one client of a small team for no reason; a
/// share of the server's concurrency leaves the others their turn whatever one of them does.
/// </summary>
internal static class ApiThrottle
{
    public static WebApplication UseApiThrottle(this WebApplication app)
    {
        var options = app.Services.GetRequiredService<IOptions<ApiThrottleOptions>>().Value;
        var limiter = PartitionedRateLimiter.Create<HttpContext, string>(http =>
            RateLimitPartition.GetConcurrencyLimiter(PartitionOf(http), _ => new ConcurrencyLimiterOptions
            {
                PermitLimit = options.ConcurrentRequests,
                QueueLimit = options.QueuedRequests,
                QueueProcessingOrder = QueueProcessingOrder.OldestFirst,
            }));
        app.Lifetime.ApplicationStopped.Register(limiter.Dispose);

        app.Use(async (http, next) =>
        {
            if (!SigV4.IsApiRequest(http.Request))
            {
                await next(http);
                return;
            }

            using var lease = await limiter.AcquireAsync(http, 1, http.RequestAborted);
            if (!lease.IsAcquired)
            {
                await new AwsErrorResult(StatusCodes.Status429TooManyRequests, "TooManyRequestsException", $"Too many requests at once from {PartitionOf(http)}: at most {options.ConcurrentRequests} are answered and {options.QueuedRequests} wait (Api:Throttle).").ExecuteAsync(http);
                return;
            }

            await next(http);
        });
        return app;
    }

    private static string PartitionOf(HttpContext http) =>
        http.Features.Get<Actor>() is { Via: ActorVia.ApiKey, AccessKeyId: { } key } ? $"access key {key}" : $"address {http.Connection.RemoteIpAddress}";
}
