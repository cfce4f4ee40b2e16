using BatchPortal.Portal.Access;
using BatchPortal.Engine.Domain;
using BatchPortal.Engine.Resources;

namespace BatchPortal.Portal.Api;

internal static class ComputeEnvironmentsApi
{
    public static async Task<IResult> CreateAsync(HttpContext http, CreateComputeEnvironmentRequest r)
    {
        var arns = http.Service<Arns>();
        var result = await http.Service<ComputeEnvironmentService>().CreateAsync(r, http.Caller(), http.RequestAborted);
        return BatchApi.Reply(result, ce => new { computeEnvironmentName = ce.Name, computeEnvironmentArn = arns.ComputeEnvironment(ce.Name) });
    }

    public static async Task<IResult> UpdateAsync(HttpContext http, UpdateComputeEnvironmentRequest r)
    {
        var arns = http.Service<Arns>();
        var result = await http.Service<ComputeEnvironmentService>().UpdateAsync(r, http.Caller(), http.RequestAborted);
        return BatchApi.Reply(result, ce => new { computeEnvironmentName = ce.Name, computeEnvironmentArn = arns.ComputeEnvironment(ce.Name) });
    }

    public static async Task<IResult> DeleteAsync(HttpContext http, DeleteRequest r)
    {
        if (string.IsNullOrWhiteSpace(r.ComputeEnvironment))
        {
            return AwsErrorResult.Client("computeEnvironment (name or ARN) is required.");
        }

        var result = await http.Service<ComputeEnvironmentService>().DeleteAsync(r.ComputeEnvironment, http.Caller(), http.RequestAborted);
        return BatchApi.Reply(result, _ => new { });
    }

    public static async Task<IResult> DescribeAsync(HttpContext http, DescribeRequest r)
    {
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

    internal sealed class DeleteRequest
    {
        public string? ComputeEnvironment { get; set; }
    }

    internal sealed class DescribeRequest
    {
        public List<string>? ComputeEnvironments { get; set; }

        public int? MaxResults { get; set; }

        public string? NextToken { get; set; }
    }
}
