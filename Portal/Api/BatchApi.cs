using System.Collections.Frozen;
using BatchPortal.Engine.Domain;

namespace BatchPortal.Portal.Api;

/// <summary>
/// The AWS Batch API (REST-JSON, 2016-08-10) at <c>/v1</c>: <c>POST /v1/&lt;operation&gt;</c> with a JSON body, and the tag
/// routes <c>/v1/tags/{resourceArn}</c>. Any credentials are accepted. Every client mistake is HTTP 400 ClientException.
/// </summary>
internal static class BatchApi
{
    private const int DefaultBodyLimit = 256 * 1024;

    private delegate Task<IResult> Operation(HttpContext http, AwsRequest request);

    private static readonly FrozenDictionary<string, (Operation Handler, int Limit)> Operations = new Dictionary<string, (Operation, int)>
    {
        ["createcomputeenvironment"] = (ComputeEnvironmentsApi.CreateAsync, DefaultBodyLimit),
        ["updatecomputeenvironment"] = (ComputeEnvironmentsApi.UpdateAsync, DefaultBodyLimit),
        ["deletecomputeenvironment"] = (ComputeEnvironmentsApi.DeleteAsync, DefaultBodyLimit),
        ["describecomputeenvironments"] = (ComputeEnvironmentsApi.DescribeAsync, DefaultBodyLimit),
        ["createjobqueue"] = (JobQueuesApi.CreateAsync, DefaultBodyLimit),
        ["updatejobqueue"] = (JobQueuesApi.UpdateAsync, DefaultBodyLimit),
        ["deletejobqueue"] = (JobQueuesApi.DeleteAsync, DefaultBodyLimit),
        ["describejobqueues"] = (JobQueuesApi.DescribeAsync, DefaultBodyLimit),
        ["getjobqueuesnapshot"] = (JobQueuesApi.SnapshotAsync, DefaultBodyLimit),
        ["registerjobdefinition"] = (JobDefinitionsApi.RegisterAsync, 24 * 1024),
        ["deregisterjobdefinition"] = (JobDefinitionsApi.DeregisterAsync, DefaultBodyLimit),
        ["describejobdefinitions"] = (JobDefinitionsApi.DescribeAsync, DefaultBodyLimit),
        ["submitjob"] = (JobsApi.SubmitAsync, 30 * 1024),
        ["describejobs"] = (JobsApi.DescribeAsync, DefaultBodyLimit),
        ["listjobs"] = (JobsApi.ListAsync, DefaultBodyLimit),
        ["canceljob"] = (JobsApi.CancelAsync, DefaultBodyLimit),
        ["terminatejob"] = (JobsApi.TerminateAsync, DefaultBodyLimit),
    }.ToFrozenDictionary(StringComparer.OrdinalIgnoreCase);

    public static WebApplication MapBatchApi(this WebApplication app)
    {
        var v1 = app.MapGroup("/v1").AddEndpointFilter(async (context, next) =>
        {
            var http = context.HttpContext;
            http.Response.Headers["x-amzn-RequestId"] = Guid.NewGuid().ToString();
            try
            {
                return await next(context);
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !http.RequestAborted.IsCancellationRequested)
            {
                http.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger("BatchPortal.Api")
                    .LogError(ex, "Batch API {Path} failed", http.Request.Path);
                return AwsErrorResult.Server($"The server failed to handle {http.Request.Path}: {ex.GetType().Name}.");
            }
        });

        v1.MapPost("/{operation}", HandleAsync);
        v1.MapGet("/tags/{**resourceArn}", TagsApi.ListAsync);
        v1.MapPost("/tags/{**resourceArn}", TagsApi.TagAsync);
        v1.MapDelete("/tags/{**resourceArn}", TagsApi.UntagAsync);
        return app;
    }

    private static async Task<IResult> HandleAsync(string operation, HttpContext http)
    {
        if (!Operations.TryGetValue(operation, out var op))
        {
            return AwsErrorResult.Client($"Operation '{operation}' is not supported by BatchPortal. Supported: {string.Join(", ", Operations.Keys.Order())}.");
        }

        var request = await AwsRequest.ReadAsync(http.Request, op.Limit, operation, http.RequestAborted);
        return request.Error is { } error ? AwsErrorResult.From(error) : await op.Handler(http, request.Value!);
    }

    /// <summary>Maps an engine result to AWS's shape: the body on success, a ClientException otherwise.</summary>
    public static IResult Reply<T>(Result<T> result, Func<T, object> body) =>
        result.Error is { } error ? AwsErrorResult.From(error) : new AwsOkResult(body(result.Value!));

    public static T Service<T>(this HttpContext http)
        where T : notnull => http.RequestServices.GetRequiredService<T>();
}

/// <summary>The opaque <c>nextToken</c> of paginated operations: a position, base64url-encoded.</summary>
internal static class PageToken
{
    public static string Encode(long position) =>
        Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes($"bp1:{position}")).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    public static Result<long?> Decode(string? token)
    {
        if (string.IsNullOrEmpty(token))
        {
            return (long?)null;
        }

        try
        {
            var padded = token.Replace('-', '+').Replace('_', '/');
            padded += new string('=', (4 - (padded.Length % 4)) % 4);
            var text = System.Text.Encoding.UTF8.GetString(Convert.FromBase64String(padded));
            if (text.StartsWith("bp1:", StringComparison.Ordinal) && long.TryParse(text[4..], out var position) && position >= 0)
            {
                return (long?)position;
            }
        }
        catch (FormatException)
        {
        }

        return new ValidationFailed("nextToken", $"nextToken '{token}' is not one this API handed out.");
    }

    /// <summary>Checks <c>maxResults</c> against AWS's range for the operation.</summary>
    public static Result<int> Size(int? maxResults, int max, int fallback)
    {
        if (maxResults is null)
        {
            return fallback;
        }

        return maxResults is < 1 || maxResults > max
            ? new ValidationFailed("maxResults", $"maxResults must be from 1 to {max}, not {maxResults}.")
            : maxResults.Value;
    }
}
