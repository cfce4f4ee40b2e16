using BatchPortal.Portal.Access;
using System.Globalization;
using BatchPortal.Engine.Domain;
using BatchPortal.Engine.Jobs;
using BatchPortal.Engine.Storage;

namespace BatchPortal.Portal.Api;

internal static class JobsApi
{

    public static async Task<IResult> SubmitAsync(HttpContext http, SubmitJobRequest r)
    {
        var arns = http.Service<Arns>();
        var result = await http.Service<JobService>().SubmitAsync(r, http.Caller(), http.RequestAborted);
        return BatchApi.Reply(result, j => new { jobArn = arns.Job(j.Id), jobName = j.Name, jobId = j.Id });
    }

    public static async Task<IResult> DescribeAsync(HttpContext http, DescribeRequest r)
    {
        var ids = r.Jobs;
        if (ids is null)
        {
            return AwsErrorResult.Client("jobs is required: a list of up to 100 job IDs.");
        }

        if (ids.Count > 100)
        {
            return AwsErrorResult.Client($"Maximum number of jobs supported is 100 ({ids.Count} given).");
        }

        var arns = http.Service<Arns>();
        var store = http.Service<JobQueries>();
        var jobs = await store.GetManyAsync([.. ids.Select(id => Arns.NameFrom(id, "job"))], http.RequestAborted);
        var order = ids.Select((id, i) => (Arns.NameFrom(id, "job"), i)).GroupBy(x => x.Item1).ToDictionary(g => g.Key, g => g.First().i);
        var details = new List<object>(jobs.Count);
        foreach (var job in jobs.OrderBy(j => order[j.Id]))
        {
            var summary = job.IsArrayParent ? await store.ArraySummaryAsync(job.Id, http.RequestAborted) : null;
            details.Add(Detail(job, arns, summary));
        }

        return new AwsOkResult(new { jobs = details });
    }

    public static async Task<IResult> ListAsync(HttpContext http, ListRequest r)
    {
        if (r.MultiNodeJobId is not null)
        {
            return AwsErrorResult.Client("multiNodeJobId is not supported by BatchPortal: it runs no multi-node parallel jobs.");
        }

        if (string.IsNullOrWhiteSpace(r.JobQueue) == string.IsNullOrWhiteSpace(r.ArrayJobId))
        {
            return AwsErrorResult.Client("Give exactly one of jobQueue (name or ARN) and arrayJobId.");
        }

        var filters = r.Filters ?? [];
        if (filters.Count > 1)
        {
            return AwsErrorResult.Client($"ListJobs takes at most one filter ({filters.Count} given).");
        }

        JobStatus? status = null;
        if (filters.Count == 0)
        {
            if (r.JobStatus is null)
            {
                status = JobStatus.Running;
            }
            else if (JobStatusExtensions.TryParseWire(r.JobStatus, out var parsed) && !r.JobStatus.Any(char.IsLower))
            {
                status = parsed;
            }
            else
            {
                return AwsErrorResult.Client($"jobStatus must be one of SUBMITTED, PENDING, RUNNABLE, STARTING, RUNNING, SUCCEEDED, FAILED, not '{r.JobStatus}'.");
            }
        }

        var size = PageToken.Size(r.MaxResults, filters.Count > 0 ? 100 : 1000, 100);
        var start = PageToken.Decode(r.NextToken);
        if ((size.Error ?? start.Error) is { } bad)
        {
            return AwsErrorResult.From(bad);
        }

        var filter = new JobFilter
        {
            Queue = r.JobQueue is null ? null : Arns.NameFrom(r.JobQueue, "job-queue"),
            ParentJobId = r.ArrayJobId is null ? null : Arns.NameFrom(r.ArrayJobId, "job"),
            TopLevelOnly = r.ArrayJobId is null,
            Statuses = status is { } s ? [s] : null,
        };
        if (filters.Count == 1)
        {
            var built = Apply(filter, filters[0]);
            if (built.Error is { } filterError)
            {
                return AwsErrorResult.From(filterError);
            }

            filter = built.Value!;
        }

        var page = await http.Service<JobQueries>().FindAsync(filter, new PageRequest(size.Value, start.Value), http.RequestAborted);
        var arns = http.Service<Arns>();
        return new AwsOkResult(new
        {
            jobSummaryList = page.Items.Select(j => Summary(j, arns)),
            nextToken = page.NextBeforeSeq is { } next ? PageToken.Encode(next) : null,
        });
    }

    public static async Task<IResult> CancelAsync(HttpContext http, StopRequest r)
    {
        if (string.IsNullOrWhiteSpace(r.JobId))
        {
            return AwsErrorResult.Client("jobId is required.");
        }

        var result = await http.Service<JobService>().CancelAsync(r.JobId, r.Reason, http.Caller(), http.RequestAborted);
        return BatchApi.Reply(result, _ => new { });
    }

    public static async Task<IResult> TerminateAsync(HttpContext http, StopRequest r)
    {
        if (string.IsNullOrWhiteSpace(r.JobId))
        {
            return AwsErrorResult.Client("jobId is required.");
        }

        var result = await http.Service<JobService>().TerminateAsync(r.JobId, r.Reason, http.Caller(), http.RequestAborted);
        return BatchApi.Reply(result, _ => new { });
    }

    private static Result<JobFilter> Apply(JobFilter filter, KeyValuesPair f)
    {
        var value = f.Values is { Count: 1 } v ? v[0] : null;
        if (value is null)
        {
            return new ValidationFailed("filters", $"Filter {f.Name} needs exactly one value.");
        }

        switch (f.Name)
        {
            case "JOB_NAME":
                return value.EndsWith('*') ? filter with { NamePrefix = value[..^1] } : filter with { Name = value };
            case "JOB_DEFINITION":
                var definition = Arns.NameFrom(value, "job-definition");
                return definition.EndsWith('*') ? filter with { JobDefinitionPrefix = definition[..^1] } : filter with { JobDefinition = definition };
            case "BEFORE_CREATED_AT" or "AFTER_CREATED_AT":
                if (!long.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var millis))
                {
                    return new ValidationFailed("filters", $"Filter {f.Name} takes a time in epoch milliseconds, not '{value}'.");
                }

                var at = DateTimeOffset.FromUnixTimeMilliseconds(millis);
                return f.Name == "BEFORE_CREATED_AT" ? filter with { CreatedBefore = at } : filter with { CreatedAfter = at };
            default:
                return new ValidationFailed("filters", $"Filter name must be JOB_NAME, JOB_DEFINITION, BEFORE_CREATED_AT or AFTER_CREATED_AT, not '{f.Name}'.");
        }
    }

    public static object Detail(Job j, Arns arns, IReadOnlyDictionary<JobStatus, int>? statusSummary = null)
    {
        var c = j.Container;
        return new
        {
            jobArn = arns.Job(j.Id),
            jobName = j.Name,
            jobId = j.Id,
            jobQueue = arns.JobQueue(j.QueueName),
            status = j.Status.ToWire(),
            attempts = j.Attempts.Where(a => a.StoppedAt is not null).OrderBy(a => a.Number).Select(a => new
            {
                container = new { exitCode = a.ExitCode, reason = a.Reason, logStreamName = a.LogStreamName, taskArn = TaskArn(arns, a.ContainerId) },
                startedAt = AwsJson.Millis(a.StartedAt),
                stoppedAt = AwsJson.Millis(a.StoppedAt),
                statusReason = a.StatusReason,
            }),
            statusReason = j.StatusReason,
            createdAt = AwsJson.Millis(j.CreatedAt),
            retryStrategy = j.RetryStrategy,
            startedAt = AwsJson.Millis(j.StartedAt),
            stoppedAt = AwsJson.Millis(j.StoppedAt),
            dependsOn = j.DependsOn,
            arrayProperties = j.IsArrayParent
                ? (object)new { size = j.ArraySize, statusSummary = (statusSummary ?? new Dictionary<JobStatus, int>()).ToDictionary(p => p.Key.ToWire(), p => p.Value), statusSummaryLastUpdatedAt = AwsJson.Millis(j.StoppedAt ?? j.CreatedAt) }
                : j.ArrayIndex is { } index ? new { index } : null,
            jobDefinition = arns.JobDefinition(j.JobDefinitionName, j.JobDefinitionRevision),
            parameters = j.Parameters,
            container = new
            {
                image = c.Image,
                vcpus = c.Vcpus,
                memory = c.Memory,
                command = c.Command,
                jobRoleArn = c.JobRoleArn,
                executionRoleArn = c.ExecutionRoleArn,
                volumes = c.Volumes,
                environment = c.Environment,
                mountPoints = c.MountPoints,
                readonlyRootFilesystem = c.ReadonlyRootFilesystem,
                ulimits = c.Ulimits,
                privileged = c.Privileged,
                user = c.User,
                exitCode = j.ExitCode,
                reason = j.ContainerReason,
                logStreamName = j.LogStreamName,
                taskArn = TaskArn(arns, j.Attempts.FirstOrDefault(a => a.Number == j.AttemptCount)?.ContainerId),
                resourceRequirements = c.ResourceRequirements,
            },
            timeout = j.Timeout,
            tags = j.Tags,
            propagateTags = j.PropagateTags,
            schedulingPriority = j.SchedulingPriority,
            platformCapabilities = new[] { "EC2" },
            isCancelled = j.IsCancelled,
            isTerminated = j.IsTerminated,
        };
    }

    public static object Summary(Job j, Arns arns) => new
    {
        jobArn = arns.Job(j.Id),
        jobId = j.Id,
        jobName = j.Name,
        createdAt = AwsJson.Millis(j.CreatedAt),
        status = j.Status.ToWire(),
        statusReason = j.StatusReason,
        startedAt = AwsJson.Millis(j.StartedAt),
        stoppedAt = AwsJson.Millis(j.StoppedAt),
        container = j.ExitCode is null && j.ContainerReason is null ? null : new { exitCode = j.ExitCode, reason = j.ContainerReason },
        arrayProperties = j.IsArrayParent ? (object)new { size = j.ArraySize } : j.ArrayIndex is { } index ? new { index } : null,
        jobDefinition = arns.JobDefinition(j.JobDefinitionName, j.JobDefinitionRevision),
    };

    private static string? TaskArn(Arns arns, string? containerId) =>
        containerId is null ? null : $"arn:aws:ecs:{arns.Region}:{arns.AccountId}:task/batchportal/{containerId[..Math.Min(32, containerId.Length)]}";

    internal sealed class DescribeRequest
    {
        public List<string>? Jobs { get; set; }
    }

    internal sealed class StopRequest
    {
        public string? JobId { get; set; }

        public string? Reason { get; set; }
    }

    internal sealed class ListRequest
    {
        public string? JobQueue { get; set; }

        public string? ArrayJobId { get; set; }

        public string? MultiNodeJobId { get; set; }

        public string? JobStatus { get; set; }

        public int? MaxResults { get; set; }

        public string? NextToken { get; set; }

        public List<KeyValuesPair>? Filters { get; set; }
    }

    internal sealed class KeyValuesPair
    {
        public string? Name { get; set; }

        public List<string>? Values { get; set; }
    }
}
