using System.Collections.Frozen;
using BatchPortal.Engine.Access;
using BatchPortal.Engine.Domain;
using BatchPortal.Engine.Jobs;
using BatchPortal.Engine.Resources;
using BatchPortal.Portal.Access;

namespace BatchPortal.Portal.Api;

/// <summary>
/// The AWS Batch API (REST-JSON, 2016-08-10) at <c>/v1</c>: <c>POST /v1/&lt;operation&gt;</c> with a JSON body, and the tag
/// routes <c>/v1/tags/{resourceArn}</c>. Every client mistake is HTTP 400 ClientException; an operation the caller's
/// role does not hold is 403 AccessDeniedException (<see cref="AccessPolicy"/>).
/// </summary>
internal static class BatchApi
{
    /// <summary>
    /// Every operation, once: its name, the permission it takes, the request type its body binds to, AWS's body limit,
    /// the members it refuses rather than drops, and its handler. Reading the body, binding it and answering a bad one happen here, for all.
    /// </summary>
    private static readonly FrozenDictionary<string, AwsOperation> Operations = new AwsOperation[]
    {
        AwsOperation.Of<CreateComputeEnvironmentRequest>("CreateComputeEnvironment", Permission.ManageComputeEnvironments, ComputeEnvironmentsApi.CreateAsync),
        AwsOperation.Of<UpdateComputeEnvironmentRequest>("UpdateComputeEnvironment", Permission.ManageComputeEnvironments, ComputeEnvironmentsApi.UpdateAsync),
        AwsOperation.Of<ComputeEnvironmentsApi.DeleteRequest>("DeleteComputeEnvironment", Permission.ManageComputeEnvironments, ComputeEnvironmentsApi.DeleteAsync),
        AwsOperation.Of<ComputeEnvironmentsApi.DescribeRequest>("DescribeComputeEnvironments", Permission.Read, ComputeEnvironmentsApi.DescribeAsync),
        AwsOperation.Of<CreateJobQueueRequest>("CreateJobQueue", Permission.ManageJobQueues, JobQueuesApi.CreateAsync),
        AwsOperation.Of<UpdateJobQueueRequest>("UpdateJobQueue", Permission.ManageJobQueues, JobQueuesApi.UpdateAsync),
        AwsOperation.Of<JobQueuesApi.QueueRequest>("DeleteJobQueue", Permission.ManageJobQueues, JobQueuesApi.DeleteAsync),
        AwsOperation.Of<JobQueuesApi.DescribeRequest>("DescribeJobQueues", Permission.Read, JobQueuesApi.DescribeAsync),
        AwsOperation.Of<JobQueuesApi.QueueRequest>("GetJobQueueSnapshot", Permission.Read, JobQueuesApi.SnapshotAsync),
        AwsOperation.Of<RegisterJobDefinitionRequest>("RegisterJobDefinition", Permission.RegisterJobDefinition, JobDefinitionsApi.RegisterAsync, 24 * 1024) with
        {
            Unsupported = ["nodeProperties", "eksProperties", "ecsProperties", "consumableResourceProperties"],
            UnsupportedHint = "register a container job definition with containerProperties",
        },
        AwsOperation.Of<JobDefinitionsApi.DeregisterRequest>("DeregisterJobDefinition", Permission.DeregisterJobDefinition, JobDefinitionsApi.DeregisterAsync),
        AwsOperation.Of<JobDefinitionsApi.DescribeRequest>("DescribeJobDefinitions", Permission.Read, JobDefinitionsApi.DescribeAsync),
        AwsOperation.Of<SubmitJobRequest>("SubmitJob", Permission.SubmitJob, JobsApi.SubmitAsync, 30 * 1024) with
        {
            Unsupported = ["nodeOverrides", "eksPropertiesOverride", "ecsPropertiesOverride", "consumableResourcePropertiesOverride", "shareIdentifier"],
            UnsupportedHint = "it is not supported yet",
        },
        AwsOperation.Of<JobsApi.DescribeRequest>("DescribeJobs", Permission.Read, JobsApi.DescribeAsync),
        AwsOperation.Of<JobsApi.ListRequest>("ListJobs", Permission.Read, JobsApi.ListAsync),
        AwsOperation.Of<JobsApi.StopRequest>("CancelJob", Permission.StopJob, JobsApi.CancelAsync),
        AwsOperation.Of<JobsApi.StopRequest>("TerminateJob", Permission.StopJob, JobsApi.TerminateAsync),
    }.ToFrozenDictionary(o => o.Name.ToLowerInvariant(), StringComparer.OrdinalIgnoreCase);

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

        var request = await AwsRequest.ReadAsync(http.Request, op.BodyLimit, operation, http.RequestAborted);
        return request.Error is { } error ? AwsErrorResult.From(error) : await op.RunAsync(http, request.Value!);
    }

    /// <summary>Maps an engine result to AWS's shape: the body on success, a ClientException otherwise.</summary>
    public static IResult Reply<T>(Result<T> result, Func<T, object> body) =>
        result.Error is { } error ? AwsErrorResult.From(error) : new AwsOkResult(body(result.Value!));

    /// <summary>403 AccessDeniedException, AWS's shape, when the caller's role does not hold <paramref name="permission"/>.</summary>
    public static AwsErrorResult? Denied(this HttpContext http, Permission permission, string operation)
    {
        var caller = http.Caller();
        if (caller is null)
        {
            return new AwsErrorResult(StatusCodes.Status403Forbidden, "AccessDeniedException", $"batch:{operation} needs a signed request or a signed-in user.");
        }

        return AccessPolicy.Allows(caller.Role, permission)
            ? null
            : new AwsErrorResult(
                StatusCodes.Status403Forbidden,
                "AccessDeniedException",
                $"User: {caller.Name} ({caller.Role}) is not authorized to perform: batch:{operation}; it takes the {AccessPolicy.LeastRoleFor(permission)} role.");
    }

    public static T Service<T>(this HttpContext http)
        where T : notnull => http.RequestServices.GetRequiredService<T>();
}

/// <summary>One AWS Batch operation of the table: who may call it, how its request is read and bound, and what handles it.</summary>
internal sealed record AwsOperation(string Name, Permission Permission, int BodyLimit, Func<HttpContext, AwsRequest, Task<IResult>> Handle)
{
    public const int DefaultBodyLimit = 256 * 1024;

    /// <summary>Members of the request this portal refuses with a clear error rather than drops.</summary>
    public IReadOnlyList<string> Unsupported { get; init; } = [];

    /// <summary>What the refusal adds, after the member's name.</summary>
    public string UnsupportedHint { get; init; } = "it is not supported";

    public static AwsOperation Of<TRequest>(string name, Permission permission, Func<HttpContext, TRequest, Task<IResult>> handle, int bodyLimit = DefaultBodyLimit)
        where TRequest : new() =>
        new(name, permission, bodyLimit, async (http, request) =>
        {
            var bound = request.Bind<TRequest>();
            return bound.Error is { } error ? AwsErrorResult.From(error) : await handle(http, bound.Value!);
        });

    public Task<IResult> RunAsync(HttpContext http, AwsRequest request)
    {
        if (http.Denied(Permission, Name) is { } denied)
        {
            return Task.FromResult<IResult>(denied);
        }

        foreach (var member in Unsupported)
        {
            // SDKs send a member they have no value for as nothing, or as an empty list.
            if (request.Body.TryGetProperty(member, out var value)
                && value.ValueKind is not (System.Text.Json.JsonValueKind.Null or System.Text.Json.JsonValueKind.Undefined)
                && !(value.ValueKind == System.Text.Json.JsonValueKind.Array && value.GetArrayLength() == 0))
            {
                return Task.FromResult<IResult>(AwsErrorResult.Client($"{member} is not supported by BatchPortal: {UnsupportedHint}."));
            }
        }

        return Handle(http, request);
    }
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
