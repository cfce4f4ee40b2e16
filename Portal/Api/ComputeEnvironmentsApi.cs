using BatchPortal.Engine.Domain;
using BatchPortal.Engine.Resources;

namespace BatchPortal.Portal.Api;

internal static class ComputeEnvironmentsApi
{
    public static async Task<IResult> CreateAsync(HttpContext http, AwsRequest request)
    {
        var input = request.Bind<CreateComputeEnvironmentRequest>();
        if (input.Error is { } error)
        {
            return AwsErrorResult.From(error);
        }

        var arns = http.Service<Arns>();
        var result = await http.Service<ComputeEnvironmentService>().CreateAsync(input.Value!, http.RequestAborted);
        return BatchApi.Reply(result, ce => new { computeEnvironmentName = ce.Name, computeEnvironmentArn = arns.ComputeEnvironment(ce.Name) });
    }

    public static async Task<IResult> UpdateAsync(HttpContext http, AwsRequest request)
    {
        var input = request.Bind<UpdateComputeEnvironmentRequest>();
        if (input.Error is { } error)
        {
            return AwsErrorResult.From(error);
        }

        var arns = http.Service<Arns>();
        var result = await http.Service<ComputeEnvironmentService>().UpdateAsync(input.Value!, http.RequestAborted);
        return BatchApi.Reply(result, ce => new { computeEnvironmentName = ce.Name, computeEnvironmentArn = arns.ComputeEnvironment(ce.Name) });
    }

    public static async Task<IResult> DeleteAsync(HttpContext http, AwsRequest request)
    {
        var input = request.Bind<DeleteRequest>();
        if (input.Error is { } error)
        {
            return AwsErrorResult.From(error);
        }

        if (string.IsNullOrWhiteSpace(input.Value!.ComputeEnvironment))
        {
            return AwsErrorResult.Client("computeEnvironment (name or ARN) is required.");
        }

        var result = await http.Service<ComputeEnvironmentService>().DeleteAsync(input.Value.ComputeEnvironment, http.RequestAborted);
        return BatchApi.Reply(result, _ => new { });
    }

    public static async Task<IResult> DescribeAsync(HttpContext http, AwsRequest request)
    {
        var input = request.Bind<DescribeRequest>();
        if (input.Error is { } error)
        {
            return AwsErrorResult.From(error);
        }

        var r = input.Value!;
        if (r.ComputeEnvironments is { Count: > 100 })
        {
            return AwsErrorResult.Client($"computeEnvironments can name at most 100 environments ({r.ComputeEnvironments.Count} given).");
        }

        var size = PageToken.Size(r.MaxResults, 100, 100);
        var start = PageToken.Decode(r.NextToken);
        if ((size.Error ?? start.Error) is { } bad)
        {
            return AwsErrorResult.From(bad);
        }

        var all = await http.Service<ComputeEnvironmentService>().ListAsync(http.RequestAborted);
        var wanted = r.ComputeEnvironments is { Count: > 0 } names
            ? all.Where(c => names.Select(n => Arns.NameFrom(n, "compute-environment")).Contains(c.Name)).ToList()
            : all.ToList();
        var offset = (int)(start.Value ?? 0);
        var page = wanted.Skip(offset).Take(size.Value).ToList();
        var arns = http.Service<Arns>();
        return new AwsOkResult(new
        {
            computeEnvironments = page.Select(c => Detail(c, arns)),
            nextToken = offset + page.Count < wanted.Count ? PageToken.Encode(offset + page.Count) : null,
        });
    }

    public static object Detail(ComputeEnvironment ce, Arns arns) => new
    {
        computeEnvironmentName = ce.Name,
        computeEnvironmentArn = arns.ComputeEnvironment(ce.Name),
        ecsClusterArn = $"arn:aws:ecs:{arns.Region}:{arns.AccountId}:cluster/{ce.Name}_Batch_{ce.Uuid}",
        tags = ce.Tags,
        type = ce.Type.ToString().ToUpperInvariant(),
        state = ce.State.ToString().ToUpperInvariant(),
        status = ce.Status.ToString().ToUpperInvariant(),
        statusReason = ce.StatusReason,
        computeResources = ce.ComputeResources,
        serviceRole = ce.ServiceRole,
        unmanagedvCpus = ce.UnmanagedvCpus,
        uuid = ce.Uuid,
        containerOrchestrationType = "ECS",
        dockerEndpoint = ce.DockerEndpoint,
    };

    private sealed class DeleteRequest
    {
        public string? ComputeEnvironment { get; set; }
    }

    private sealed class DescribeRequest
    {
        public List<string>? ComputeEnvironments { get; set; }

        public int? MaxResults { get; set; }

        public string? NextToken { get; set; }
    }
}
