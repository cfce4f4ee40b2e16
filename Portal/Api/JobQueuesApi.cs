using BatchPortal.Portal.Access;
using BatchPortal.Engine.Domain;
using BatchPortal.Engine.Resources;
using BatchPortal.Engine.Storage;

namespace BatchPortal.Portal.Api;

internal static class JobQueuesApi
{
    public static async Task<IResult> CreateAsync(HttpContext http, CreateJobQueueRequest r)
    {
        var arns = http.Service<Arns>();
        var result = await http.Service<JobQueueService>().CreateAsync(r, http.Caller(), http.RequestAborted);
        return BatchApi.Reply(result, q => new { jobQueueName = q.Name, jobQueueArn = arns.JobQueue(q.Name) });
    }

    public static async Task<IResult> UpdateAsync(HttpContext http, UpdateJobQueueRequest r)
    {
        var arns = http.Service<Arns>();
        var result = await http.Service<JobQueueService>().UpdateAsync(r, http.Caller(), http.RequestAborted);
        return BatchApi.Reply(result, q => new { jobQueueName = q.Name, jobQueueArn = arns.JobQueue(q.Name) });
    }

    public static async Task<IResult> DeleteAsync(HttpContext http, QueueRequest r)
    {
        if (string.IsNullOrWhiteSpace(r.JobQueue))
        {
            return AwsErrorResult.Client("jobQueue (name or ARN) is required.");
        }

        var result = await http.Service<JobQueueService>().DeleteAsync(r.JobQueue, http.Caller(), http.RequestAborted);
        return BatchApi.Reply(result, _ => new { });
    }

    public static async Task<IResult> DescribeAsync(HttpContext http, DescribeRequest r)
    {
        if (r.JobQueues is { Count: > 100 })
        {
            return AwsErrorResult.Client($"jobQueues can name at most 100 queues ({r.JobQueues.Count} given).");
        }

        var size = PageToken.Size(r.MaxResults, 100, 100);
        var start = PageToken.Decode(r.NextToken);
        if ((size.Error ?? start.Error) is { } bad)
        {
            return AwsErrorResult.From(bad);
        }

        var all = (await http.Service<JobQueueService>().ListAsync(http.RequestAborted)).OrderBy(q => q.Name, StringComparer.Ordinal).ToList();
        var wanted = r.JobQueues is { Count: > 0 } names
            ? all.Where(q => names.Select(n => Arns.NameFrom(n, "job-queue")).Contains(q.Name)).ToList()
            : all;
        var offset = (int)(start.Value ?? 0);
        var page = wanted.Skip(offset).Take(size.Value).ToList();
        var arns = http.Service<Arns>();
        return new AwsOkResult(new
        {
            jobQueues = page.Select(q => Detail(q, arns)),
            nextToken = offset + page.Count < wanted.Count ? PageToken.Encode(offset + page.Count) : null,
        });
    }

    /// <summary>GetJobQueueSnapshot: the first 100 RUNNABLE jobs in the order they will be dispatched.</summary>
    public static async Task<IResult> SnapshotAsync(HttpContext http, QueueRequest r)
    {
        if (string.IsNullOrWhiteSpace(r.JobQueue))
        {
            return AwsErrorResult.Client("jobQueue (name or ARN) is required.");
        }

        var queue = await http.Service<JobQueueService>().GetAsync(r.JobQueue, http.RequestAborted);
        if (queue is null)
        {
            return AwsErrorResult.From(new ResourceNotFound("Job queue", r.JobQueue));
        }

        var arns = http.Service<Arns>();
        var front = await http.Service<JobQueries>().FrontOfQueueAsync(queue.Name, 100, http.RequestAborted);
        return new AwsOkResult(new
        {
            frontOfQueue = new
            {
                jobs = front.Select(j => new { jobArn = arns.Job(j.Id), earliestTimeAtPosition = AwsJson.Millis(j.CreatedAt) }),
                lastUpdatedAt = AwsJson.Millis(http.Service<TimeProvider>().GetUtcNow()),
            },
        });
    }

    public static object Detail(JobQueue q, Arns arns) => new
    {
        jobQueueName = q.Name,
        jobQueueArn = arns.JobQueue(q.Name),
        state = q.State.ToString().ToUpperInvariant(),
        status = q.Status.ToString().ToUpperInvariant(),
        statusReason = q.StatusReason,
        priority = q.Priority,
        computeEnvironmentOrder = q.ComputeEnvironmentOrder.OrderBy(o => o.Order).Select(o => new { order = o.Order, computeEnvironment = arns.ComputeEnvironment(o.ComputeEnvironment) }),
        jobStateTimeLimitActions = q.JobStateTimeLimitActions,
        tags = q.Tags,
        jobQueueType = "ECS",
    };

    internal sealed class QueueRequest
    {
        public string? JobQueue { get; set; }
    }

    internal sealed class DescribeRequest
    {
        public List<string>? JobQueues { get; set; }

        public int? MaxResults { get; set; }

        public string? NextToken { get; set; }
    }
}
