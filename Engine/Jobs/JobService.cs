using System.Text.RegularExpressions;
using BatchPortal.Engine.Access;
using BatchPortal.Engine.Domain;
using BatchPortal.Engine.Execution;
using BatchPortal.Engine.Resources;
using BatchPortal.Engine.Storage;
using Hangfire;
using Microsoft.EntityFrameworkCore;

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

    public List<JobDependency>? DependsOn { get; set; }

    public ArrayProperties? ArrayProperties { get; set; }

    /// <summary>Overrides the definition's <c>schedulingPriority</c> (0–9999); fair-share scheduling orders by it within a share.</summary>
    public int? SchedulingPriorityOverride { get; set; }
}

public sealed class ArrayProperties
{
    public int? Size { get; set; }
}

public sealed class ContainerOverrides
{
    public List<string>? Command { get; set; }

    public List<EnvironmentVariable>? Environment { get; set; }

    public List<ResourceRequirement>? ResourceRequirements { get; set; }

    public int? Vcpus { get; set; }

    public int? Memory { get; set; }
}

/// <summary>Where a submission came from, when a schedule made it: at most one job per schedule and fire time.</summary>
public sealed record SubmissionOrigin(string ScheduleName, DateTimeOffset FireTime);

/// <summary>Submit, cancel and terminate: what a caller does to jobs. The dispatcher and the runner do the rest.</summary>
public sealed partial class JobService(
    SubmitCatalog catalog,
    JobQueries jobs,
    JobSubmissions submissions,
    JobStateMachine stateMachine,
    RunJob runJob,
    AuditTrail audit,
    TimeProvider time)
{
    public const int MaxReasonLength = 1024;
    public const int MinMemoryMiB = 4;
    public const int MaxDependencies = 20;
    public const int MinArraySize = 2;
    public const int MaxArraySize = 10_000;
    public const string NToN = "N_TO_N";
    public const string Sequential = "SEQUENTIAL";

    // A submission whose queue or definition changed under it is checked again; a third change in a row is answered.
    private const int MaxSubmitAttempts = 3;

    /// <summary>Submits a job as <paramref name="by"/> (recorded on the job and in the audit trail, in the job's own write).</summary>
    public Task<Result<Job>> SubmitAsync(SubmitJobRequest r, Actor? by = null, CancellationToken ct = default) =>
        AccessPolicy.Refuse(by, Permission.SubmitJob, "SubmitJob") is { } refused ? Task.FromResult<Result<Job>>(refused) : SubmitAsync(r, null, by, ct);

    /// <summary>Submits a job; a schedule passes where it came from, and a second submission for one fire time is refused.</summary>
    public async Task<Result<Job>> SubmitAsync(SubmitJobRequest r, SubmissionOrigin? origin, Actor? by, CancellationToken ct = default)
    {
        by ??= origin is null ? Actor.Engine : Actor.Schedule(origin.ScheduleName);
        // The queue and the definition come from the catalog, which may be behind the database; the write checks them, and
        // a job whose queue or definition changed meanwhile is checked again against what is stored now.
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await SubmitOnceAsync(r, origin, by, ct);
            }
            catch (SubmissionBasisChangedException) when (attempt < MaxSubmitAttempts)
            {
                catalog.Forget();
            }
            catch (SubmissionBasisChangedException)
            {
                return new ResourceConflict($"Job queue {r.JobQueue} or job definition {r.JobDefinition} kept changing while the job was submitted; submit it again.");
            }
        }
    }

    /// <summary>
    /// What a submission gets wrong on its own, before the queue, the definition and the dependencies are read: the
    /// checks a form runs as the user types. The field names are SubmitJob's members.
    /// </summary>
    public static IReadOnlyList<FieldError> Validate(SubmitJobRequest r)
    {
        var errors = new List<FieldError>();
        Validate(r, errors);
        return errors;
    }

    private static void Validate(SubmitJobRequest r, List<FieldError> errors)
    {
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

        if (r.SchedulingPriorityOverride is < 0 or > 9999)
        {
            errors.Add(new("schedulingPriorityOverride", $"Scheduling priority must be from 0 to 9999, not {r.SchedulingPriorityOverride}."));
        }

        JobDefinitionService.ValidateRetryStrategy(r.RetryStrategy, errors);
        JobDefinitionService.ValidateTimeout(r.Timeout, errors);
        ComputeEnvironmentService.ValidateTags(r.Tags, errors);
        if (r.ArrayProperties is not null && r.ArrayProperties.Size is not (>= MinArraySize and <= MaxArraySize))
        {
            errors.Add(new("arrayProperties.size", $"Array size must be from {MinArraySize} to {MaxArraySize}, not {r.ArrayProperties.Size?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "missing"}."));
        }
    }

    private async Task<Result<Job>> SubmitOnceAsync(SubmitJobRequest r, SubmissionOrigin? origin, Actor by, CancellationToken ct)
    {
        var errors = new List<FieldError>();
        Validate(r, errors);

        // Taken before the queue and the definition are: the write compares it (SubmitCatalog says why).
        var catalogToken = await catalog.TokenAsync(ct);
        JobQueue? queue = null;
        if (string.IsNullOrWhiteSpace(r.JobQueue))
        {
            errors.Add(new("jobQueue", "Job queue is required."));
        }
        else
        {
            queue = await catalog.QueueAsync(Arns.NameFrom(r.JobQueue, "job-queue"), ct);
            if (queue is null)
            {
                errors.Add(new("jobQueue", $"Job queue {r.JobQueue} does not exist."));
            }
            else if (queue.State != ResourceState.Enabled)
            {
                errors.Add(new("jobQueue", $"Job queue {queue.Name} is DISABLED and accepts no new jobs."));
            }
        }

        var arraySize = r.ArrayProperties?.Size;

        JobDefinition? definition = null;
        var resolved = await catalog.DefinitionAsync(r.JobDefinition, ct);
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

        var edges = await CheckDependenciesAsync(r.DependsOn ?? [], arraySize, errors, ct);
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

        // As AWS requires: every job states its memory, in the definition or the overrides. Docker would otherwise run
        // it without a limit, and one job could take the host's memory from all the others.
        if (container.EffectiveMemoryMiB < MinMemoryMiB)
        {
            return new ValidationFailed(
                "containerOverrides.resourceRequirements",
                $"Memory is required: job definition {definition.Name}:{definition.Revision} gives none, so give a MEMORY resource requirement (MiB, at least {MinMemoryMiB}) in containerOverrides, or register a revision that has one.");
        }
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
            PropagateTags = r.PropagateTags ?? definition.PropagateTags,
            SchedulingPriority = r.SchedulingPriorityOverride ?? definition.SchedulingPriority,
            ArraySize = arraySize,
            DependsOn = r.DependsOn ?? [],
            ScheduleName = origin?.ScheduleName,
            ScheduledFireTime = origin?.FireTime,
            SubmittedBy = by.Name,
            SubmittedVia = by.Source,
        };
        var basis = new SubmissionBasis(catalogToken);
        try
        {
            await submissions.AddAsync(job, [.. edges.Select(d => new JobDependencyEdge { JobId = job.Id, DependsOnJobId = d })], basis, AuditEntry.For(by, "SubmitJob", job.Id, $"{job.Name} on {job.QueueName}", job.CreatedAt), ct);
        }
        catch (DbUpdateException) when (origin is not null)
        {
            return new ResourceConflict($"Schedule {origin.ScheduleName} already submitted a job for {origin.FireTime:u}.");
        }
        catch (DependencyGoneException gone)
        {
            // Not read before the write (see CheckDependenciesAsync), or read and then purged by retention: the answer is
            // the same as for a job that never existed.
            var i = (r.DependsOn ?? []).FindIndex(d => d.JobId is not null && Arns.NameFrom(d.JobId, "job") == gone.DependencyId);
            return new ValidationFailed($"dependsOn[{Math.Max(0, i)}].jobId", $"Job {gone.DependencyId} does not exist.");
        }

        return job;
    }

    /// <summary>
    /// AWS's dependency rules. Returns the job ids the new job waits for directly; N_TO_N and SEQUENTIAL edges are made
    /// between array children when the children are spawned.
    /// </summary>
    private async Task<List<string>> CheckDependenciesAsync(List<JobDependency> dependsOn, int? arraySize, List<FieldError> errors, CancellationToken ct)
    {
        var direct = new List<string>();
        if (dependsOn.Count > MaxDependencies)
        {
            errors.Add(new("dependsOn", $"A job can depend on at most {MaxDependencies} jobs ({dependsOn.Count} given)."));
            return direct;
        }

        if (dependsOn.Count == 0)
        {
            return direct;
        }

        // Only an N_TO_N edge needs its target's array size. Whether a plain dependency exists is checked where it must
        // be anyway, in the write (DependencyGoneException): read here only to list it with the request's other errors.
        var named = dependsOn.Where(d => !string.IsNullOrWhiteSpace(d.JobId)).Select(d => Arns.NameFrom(d.JobId!, "job")).Distinct(StringComparer.Ordinal).ToList();
        var readSizes = errors.Count > 0 || dependsOn.Any(d => string.Equals(d.Type, NToN, StringComparison.OrdinalIgnoreCase));
        IReadOnlyDictionary<string, int?> known = readSizes ? await jobs.ArraySizesAsync(named, ct) : named.ToDictionary(id => id, _ => (int?)null, StringComparer.Ordinal);
        foreach (var (dep, i) in dependsOn.Select((d, i) => (d, i)))
        {
            var field = $"dependsOn[{i}]";
            var type = dep.Type?.ToUpperInvariant();
            if (type is not (null or NToN or Sequential))
            {
                errors.Add(new($"{field}.type", $"Dependency type must be N_TO_N or SEQUENTIAL, not '{dep.Type}'."));
                continue;
            }

            if (type is not null && arraySize is null)
            {
                errors.Add(new($"{field}.type", $"A {type} dependency is for array jobs; give arrayProperties.size or leave the type out."));
                continue;
            }

            if (type == Sequential)
            {
                if (dep.JobId is not null)
                {
                    errors.Add(new($"{field}.jobId", "A SEQUENTIAL dependency chains the job's own children; it takes no jobId."));
                }

                continue;
            }

            if (string.IsNullOrWhiteSpace(dep.JobId))
            {
                errors.Add(new($"{field}.jobId", "A dependency needs the jobId it waits for."));
                continue;
            }

            var id = Arns.NameFrom(dep.JobId, "job");
            if (!known.TryGetValue(id, out var targetSize))
            {
                errors.Add(new($"{field}.jobId", $"Job {dep.JobId} does not exist."));
            }
            else if (type == NToN && targetSize != arraySize)
            {
                errors.Add(new($"{field}.jobId", $"An N_TO_N dependency needs an array job of the same size ({arraySize}); job {id} {(targetSize is { } n ? $"has size {n}" : "is not an array job")}."));
            }
            else if (type is null)
            {
                direct.Add(id);
            }
        }

        return [.. direct.Distinct(StringComparer.Ordinal)];
    }

    /// <summary>
    /// CancelJob: a job that has not started (SUBMITTED, PENDING, RUNNABLE) fails with the reason; on any other state it
    /// does nothing, and that is not an error, as in AWS. On an array parent it cascades to the children.
    /// </summary>
    public Task<Result<bool>> CancelAsync(string jobId, string? reason, Actor? by = null, CancellationToken ct = default) =>
        StopAsync(jobId, reason, terminate: false, by, ct);

    /// <summary>
    /// TerminateJob: as cancel, and a STARTING or RUNNING job's container is stopped (SIGTERM, then SIGKILL). On an array
    /// parent it cascades to the children.
    /// </summary>
    public Task<Result<bool>> TerminateAsync(string jobId, string? reason, Actor? by = null, CancellationToken ct = default) =>
        StopAsync(jobId, reason, terminate: true, by, ct);

    private async Task<Result<bool>> StopAsync(string jobId, string? reason, bool terminate, Actor? by, CancellationToken ct)
    {
        if (AccessPolicy.Refuse(by, Permission.StopJob, terminate ? "TerminateJob" : "CancelJob") is { } refused)
        {
            return refused;
        }

        var stopped = await StopAsync(jobId, reason, terminate, ct);
        if (stopped.IsSuccess)
        {
            await audit.RecordAsync(by, terminate ? "TerminateJob" : "CancelJob", Arns.NameFrom(jobId, "job"), reason, ct);
        }

        return stopped;
    }

    private async Task<Result<bool>> StopAsync(string jobId, string? reason, bool terminate, CancellationToken ct)
    {
        if (CheckReason(reason) is { } error)
        {
            return error;
        }

        jobId = Arns.NameFrom(jobId, "job");
        var job = await jobs.GetAsync(jobId, ct);
        if (job is null)
        {
            return new ResourceNotFound("Job", jobId);
        }

        if (job.IsArrayParent && job.ChildrenSpawned)
        {
            // The parent finishes when its children have: stop each of them, and keep the reason for the parent.
            await stateMachine.FlagArrayParentStoppedAsync(jobId, terminate, reason!, ct);
            var any = false;
            foreach (var (childId, _) in await jobs.ActiveChildrenAsync(jobId, ct))
            {
                any |= (await StopOneAsync(childId, reason!, terminate, ct)).Value;
            }

            return any;
        }

        return await StopOneAsync(jobId, reason!, terminate, ct);
    }

    private async Task<Result<bool>> StopOneAsync(string jobId, string reason, bool terminate, CancellationToken ct)
    {
        for (var tries = 0; tries < 5; tries++)
        {
            var job = await jobs.GetAsync(jobId, ct);
            if (job is null)
            {
                return new ResourceNotFound("Job", jobId);
            }

            switch (job.Status)
            {
                case JobStatus.Submitted or JobStatus.Pending or JobStatus.Runnable:
                case JobStatus.Starting when terminate:
                    // A STARTING job's launch sees the job FAILED when it tries to move it to RUNNING, and stops its container.
                    var moved = await stateMachine.TryTransitionAsync(jobId, job.Status, JobStatus.Failed, reason, j =>
                    {
                        j.IsCancelled |= !terminate;
                        j.IsTerminated |= terminate;
                    }, ct);
                    if (moved.IsApplied)
                    {
                        return true;
                    }

                    continue;
                case JobStatus.Running when terminate:
                    if (!await stateMachine.MarkTerminatingAsync(jobId, reason, ct))
                    {
                        continue;
                    }

                    // Docker's stop waits out the grace period; the caller does not. The flag is stored: a stop that is
                    // lost (a restart, a queue that failed) is queued again by the reconciler.
                    runJob.QueueStop(jobId, job.AttemptCount);
                    return true;
                default:
                    return false;
            }
        }

        return false;
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
