using System.Text.RegularExpressions;
using BatchPortal.Engine.Domain;
using BatchPortal.Engine.Execution;
using BatchPortal.Engine.Resources;
using BatchPortal.Engine.Storage;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace BatchPortal.Engine.Jobs;

/// <summary>AWS's <c>SubmitJob</c> members.</summary>
public sealed class SubmitJobRequest
{
    public string? JobName { get; set; }

    public string? JobQueue { get; set; }

    public string? JobDefinition { get; set; }

    public Dictionary<string, string>? Parameters { get; set; }

    public ContainerOverrides? ContainerOverrides { get; set; }

    public RetryStrategy? RetryStrategy { get; set; }

    public JobTimeout? Timeout { get; set; }

    public bool? PropagateTags { get; set; }

    public Dictionary<string, string>? Tags { get; set; }
}

public sealed class ContainerOverrides
{
    public List<string>? Command { get; set; }

    public List<EnvironmentVariable>? Environment { get; set; }

    public List<ResourceRequirement>? ResourceRequirements { get; set; }

    public int? Vcpus { get; set; }

    public int? Memory { get; set; }
}

/// <summary>Submit, cancel and terminate: what a caller does to jobs. The dispatcher and the runner do the rest.</summary>
public sealed partial class JobService(
    IDbContextFactory<BatchDbContext> dbFactory,
    JobStore jobs,
    JobDefinitionService definitions,
    IContainerRuntimeFactory runtimes,
    IOptions<DockerOptions> dockerOptions,
    TimeProvider time)
{
    public const int MaxReasonLength = 1024;

    public async Task<Result<Job>> SubmitAsync(SubmitJobRequest r, CancellationToken ct = default)
    {
        var errors = new List<FieldError>();
        if (Names.CheckJobName(r.JobName) is { } nameError)
        {
            errors.Add(new("jobName", nameError));
        }

        if (r.ContainerOverrides is { } o)
        {
            var probe = new ContainerProperties
            {
                Command = o.Command ?? [],
                Environment = o.Environment ?? [],
                ResourceRequirements = o.ResourceRequirements ?? [],
                Vcpus = o.Vcpus,
                Memory = o.Memory,
            };
            JobDefinitionService.ValidateContainer(probe, "containerOverrides", errors, requireImage: false);
        }

        JobDefinitionService.ValidateRetryStrategy(r.RetryStrategy, errors);
        JobDefinitionService.ValidateTimeout(r.Timeout, errors);
        ComputeEnvironmentService.ValidateTags(r.Tags, errors);

        JobQueue? queue = null;
        if (string.IsNullOrWhiteSpace(r.JobQueue))
        {
            errors.Add(new("jobQueue", "Job queue is required."));
        }
        else
        {
            var queueName = Arns.NameFrom(r.JobQueue, "job-queue");
            await using var db = await dbFactory.CreateDbContextAsync(ct);
            queue = await db.JobQueues.AsNoTracking().FirstOrDefaultAsync(q => q.Name == queueName, ct);
            if (queue is null)
            {
                errors.Add(new("jobQueue", $"Job queue {r.JobQueue} does not exist."));
            }
            else if (queue.State != ResourceState.Enabled)
            {
                errors.Add(new("jobQueue", $"Job queue {queue.Name} is DISABLED and accepts no new jobs."));
            }
        }

        JobDefinition? definition = null;
        var resolved = await definitions.ResolveAsync(r.JobDefinition, ct);
        if (!resolved.IsSuccess)
        {
            errors.Add(new("jobDefinition", resolved.Error!.Message));
        }
        else if (resolved.Value!.Status != JobDefinitionStatus.Active)
        {
            errors.Add(new("jobDefinition", $"Job definition {resolved.Value.Name}:{resolved.Value.Revision} is INACTIVE."));
        }
        else
        {
            definition = resolved.Value;
        }

        if (errors.Count > 0)
        {
            return new ValidationFailed(errors);
        }

        var parameters = new Dictionary<string, string>(definition!.Parameters);
        foreach (var (k, v) in r.Parameters ?? [])
        {
            parameters[k] = v;
        }

        var container = Resolve(definition.ContainerProperties, r.ContainerOverrides, parameters);
        var job = new Job
        {
            Id = Guid.NewGuid().ToString(),
            Name = r.JobName!,
            QueueName = queue!.Name,
            JobDefinitionName = definition.Name,
            JobDefinitionRevision = definition.Revision,
            CreatedAt = time.GetUtcNow(),
            Container = container,
            Vcpus = container.EffectiveVcpus,
            MemoryMiB = container.EffectiveMemoryMiB,
            Parameters = parameters,
            RetryStrategy = r.RetryStrategy ?? definition.RetryStrategy,
            Timeout = r.Timeout ?? definition.Timeout,
            Tags = MergeTags(r, definition),
        };
        await jobs.AddAsync(job, ct);
        return job;
    }

    /// <summary>
    /// CancelJob: a job that has not started (SUBMITTED, PENDING, RUNNABLE) fails with the reason; on any other state it
    /// does nothing, and that is not an error, as in AWS.
    /// </summary>
    public async Task<Result<bool>> CancelAsync(string jobId, string? reason, CancellationToken ct = default)
    {
        if (CheckReason(reason) is { } error)
        {
            return error;
        }

        var job = await jobs.GetAsync(jobId, ct);
        if (job is null)
        {
            return new ResourceNotFound("Job", jobId);
        }

        if (job.Status is JobStatus.Submitted or JobStatus.Pending or JobStatus.Runnable)
        {
            var moved = await jobs.TryTransitionAsync(jobId, job.Status, JobStatus.Failed, reason, (j, _) => j.IsCancelled = true, ct);
            return moved.IsApplied;
        }

        return false;
    }

    /// <summary>TerminateJob: as cancel, and a STARTING or RUNNING job's container is stopped (SIGTERM, then SIGKILL).</summary>
    public async Task<Result<bool>> TerminateAsync(string jobId, string? reason, CancellationToken ct = default)
    {
        if (CheckReason(reason) is { } error)
        {
            return error;
        }

        var job = await jobs.GetAsync(jobId, ct);
        if (job is null)
        {
            return new ResourceNotFound("Job", jobId);
        }

        switch (job.Status)
        {
            case JobStatus.Submitted or JobStatus.Pending or JobStatus.Runnable or JobStatus.Starting:
                // A STARTING job's launch sees the job FAILED when it tries to move it to RUNNING, and stops its container.
                var moved = await jobs.TryTransitionAsync(jobId, job.Status, JobStatus.Failed, reason, (j, _) => j.IsTerminated = true, ct);
                if (!moved.IsApplied && moved.Outcome == TransitionOutcome.NotApplied)
                {
                    return await TerminateAsync(jobId, reason, ct);
                }

                return moved.IsApplied;
            case JobStatus.Running:
                if (!await jobs.MarkTerminatingAsync(jobId, reason!, ct))
                {
                    return await TerminateAsync(jobId, reason, ct);
                }

                var attempt = job.Attempts.FirstOrDefault(a => a.Number == job.AttemptCount);
                if (attempt?.ContainerId is { } containerId)
                {
                    await using var db = await dbFactory.CreateDbContextAsync(ct);
                    var endpoint = await db.ComputeEnvironments.Where(c => c.Name == attempt.ComputeEnvironmentName).Select(c => c.DockerEndpoint).FirstOrDefaultAsync(ct);
                    await runtimes.ForEndpoint(endpoint).StopAsync(containerId, dockerOptions.Value.StopGracePeriod, ct);
                }

                return true;
            default:
                return false;
        }
    }

    /// <summary>The definition's container with the submit's overrides merged in and <c>Ref::name</c> placeholders filled.</summary>
    internal static ContainerProperties Resolve(ContainerProperties definition, ContainerOverrides? overrides, IReadOnlyDictionary<string, string> parameters)
    {
        var c = definition.Clone();
        if (overrides is not null)
        {
            if (overrides.Command is { Count: > 0 } command)
            {
                c.Command = [.. command];
            }

            foreach (var e in overrides.Environment ?? [])
            {
                c.Environment.RemoveAll(x => x.Name == e.Name);
                c.Environment.Add(new EnvironmentVariable { Name = e.Name, Value = e.Value });
            }

            foreach (var req in overrides.ResourceRequirements ?? [])
            {
                c.SetRequirement(req.Type ?? string.Empty, req.Value ?? string.Empty);
            }

            if (overrides.Vcpus is { } vcpus)
            {
                c.Vcpus = vcpus;
                c.ResourceRequirements.RemoveAll(x => string.Equals(x.Type, "VCPU", StringComparison.OrdinalIgnoreCase));
            }

            if (overrides.Memory is { } memory)
            {
                c.Memory = memory;
                c.ResourceRequirements.RemoveAll(x => string.Equals(x.Type, "MEMORY", StringComparison.OrdinalIgnoreCase));
            }
        }

        c.Command = [.. c.Command.Select(arg => Placeholder().Replace(arg, m => parameters.TryGetValue(m.Groups[1].Value, out var v) ? v : m.Value))];
        return c;
    }

    private static Dictionary<string, string> MergeTags(SubmitJobRequest r, JobDefinition definition)
    {
        var tags = new Dictionary<string, string>();
        if (r.PropagateTags ?? definition.PropagateTags)
        {
            foreach (var (k, v) in definition.Tags)
            {
                tags[k] = v;
            }
        }

        foreach (var (k, v) in r.Tags ?? [])
        {
            tags[k] = v;
        }

        return tags;
    }

    private static ValidationFailed? CheckReason(string? reason) =>
        string.IsNullOrWhiteSpace(reason) ? new ValidationFailed("reason", "A reason is required; it is shown as the job's status reason.")
        : reason.Length > MaxReasonLength ? new ValidationFailed("reason", $"Reason must be at most {MaxReasonLength} characters (it has {reason.Length}).")
        : null;

    [GeneratedRegex("Ref::([A-Za-z0-9_-]+)")]
    private static partial Regex Placeholder();
}
