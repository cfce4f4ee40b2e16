using BatchPortal.Portal.Access;
using BatchPortal.Engine.Access;
using BatchPortal.Engine.Domain;
using BatchPortal.Engine.Resources;

namespace BatchPortal.Portal.Api;

internal static class JobDefinitionsApi
{

    public static async Task<IResult> RegisterAsync(HttpContext http, RegisterJobDefinitionRequest r)
    {
        // What is root on the Docker host is an Admin's to register (AccessPolicy.PrivilegesOf says what counts).
        if (r.ContainerProperties is { } container && AccessPolicy.PrivilegesOf(container) is { Count: > 0 } privileges
            && http.Denied(Permission.RegisterPrivilegedJobDefinition, "RegisterJobDefinition") is { } denied)
        {
            return new AwsErrorResult(denied.StatusCode, denied.Type, $"{denied.Message} The definition asks for {string.Join(", ", privileges)}.");
        }

        var arns = http.Service<Arns>();
        var result = await http.Service<JobDefinitionService>().RegisterAsync(r, http.Caller(), http.RequestAborted);
        return BatchApi.Reply(result, d => new { jobDefinitionName = d.Name, jobDefinitionArn = arns.JobDefinition(d.Name, d.Revision), revision = d.Revision });
    }

    public static async Task<IResult> DeregisterAsync(HttpContext http, DeregisterRequest r)
    {
        if (string.IsNullOrWhiteSpace(r.JobDefinition))
        {
            return AwsErrorResult.Client("jobDefinition (name:revision or ARN) is required.");
        }

        var result = await http.Service<JobDefinitionService>().DeregisterAsync(r.JobDefinition, http.Caller(), http.RequestAborted);
        return BatchApi.Reply(result, _ => new { });
    }

    public static async Task<IResult> DescribeAsync(HttpContext http, DescribeRequest r)
    {
        if (r.JobDefinitions is { Count: > 100 })
        {
            return AwsErrorResult.Client($"jobDefinitions can name at most 100 revisions ({r.JobDefinitions.Count} given).");
        }

        if (r.Status is not null and not ("ACTIVE" or "INACTIVE"))
        {
            return AwsErrorResult.Client($"status must be ACTIVE or INACTIVE, not '{r.Status}'.");
        }

        var size = PageToken.Size(r.MaxResults, 100, 100);
        var start = PageToken.Decode(r.NextToken);
        if ((size.Error ?? start.Error) is { } bad)
        {
            return AwsErrorResult.From(bad);
        }

        IEnumerable<JobDefinition> all = await http.Service<JobDefinitionService>().ListAsync(includeInactive: true, http.RequestAborted);
        if (r.JobDefinitions is { Count: > 0 } refs)
        {
            var wanted = refs.Select(x => Arns.NameFrom(x, "job-definition")).ToHashSet(StringComparer.Ordinal);
            all = all.Where(d => wanted.Contains($"{d.Name}:{d.Revision}") || wanted.Contains(d.Name));
        }

        if (r.JobDefinitionName is { } name)
        {
            all = all.Where(d => d.Name == name);
        }

        if (r.Status is { } status)
        {
            all = all.Where(d => d.Status.ToString().Equals(status, StringComparison.OrdinalIgnoreCase));
        }

        var list = all.ToList();
        var offset = (int)(start.Value ?? 0);
        var page = list.Skip(offset).Take(size.Value).ToList();
        var arns = http.Service<Arns>();
        return new AwsOkResult(new
        {
            jobDefinitions = page.Select(d => Detail(d, arns)),
            nextToken = offset + page.Count < list.Count ? PageToken.Encode(offset + page.Count) : null,
        });
    }

    public static object Detail(JobDefinition d, Arns arns) => new
    {
        jobDefinitionName = d.Name,
        jobDefinitionArn = arns.JobDefinition(d.Name, d.Revision),
        revision = d.Revision,
        status = d.Status.ToString().ToUpperInvariant(),
        type = d.Type,
        schedulingPriority = d.SchedulingPriority,
        parameters = d.Parameters,
        retryStrategy = d.RetryStrategy,
        containerProperties = d.ContainerProperties,
        timeout = d.Timeout,
        tags = d.Tags,
        propagateTags = d.PropagateTags,
        platformCapabilities = d.PlatformCapabilities,
        containerOrchestrationType = "ECS",
    };

    internal sealed class DeregisterRequest
    {
        public string? JobDefinition { get; set; }
    }

    internal sealed class DescribeRequest
    {
        public List<string>? JobDefinitions { get; set; }

        public int? MaxResults { get; set; }

        public string? JobDefinitionName { get; set; }

        public string? Status { get; set; }

        public string? NextToken { get; set; }
    }
}
