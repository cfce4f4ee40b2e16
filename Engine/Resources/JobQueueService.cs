using BatchPortal.Engine.Access;
using BatchPortal.Engine.Domain;
using BatchPortal.Engine.Notifications;
using BatchPortal.Engine.Storage;
using Microsoft.EntityFrameworkCore;

namespace BatchPortal.Engine.Resources;

/// <summary>AWS's <c>CreateJobQueue</c> members.</summary>
public sealed class CreateJobQueueRequest
{
    public string? JobQueueName { get; set; }

    public string? State { get; set; }

    public int? Priority { get; set; }

    public List<ComputeEnvironmentOrder> ComputeEnvironmentOrder { get; set; } = [];

    public List<JobStateTimeLimitAction> JobStateTimeLimitActions { get; set; } = [];

    public Dictionary<string, string>? Tags { get; set; }
}

/// <summary>AWS's <c>UpdateJobQueue</c> members; null members keep their value.</summary>
public sealed class UpdateJobQueueRequest
{
    public string? JobQueue { get; set; }

    public string? State { get; set; }

    public int? Priority { get; set; }

    public List<ComputeEnvironmentOrder>? ComputeEnvironmentOrder { get; set; }

    public List<JobStateTimeLimitAction>? JobStateTimeLimitActions { get; set; }
}

/// <summary>Job queues: the rules, and the writes that follow them.</summary>
public sealed class JobQueueService(
    IDbContextFactory<BatchDbContext> dbFactory,
    JobQueries jobs,
    JobStateMachine stateMachine,
    IJobEventPublisher events,
    AuditTrail audit,
    TimeProvider time)
{
    public const int MaxComputeEnvironments = 3;

    public static readonly string[] TimeLimitReasons =
    [
        "CAPACITY:INSUFFICIENT_INSTANCE_CAPACITY",
        "MISCONFIGURATION:COMPUTE_ENVIRONMENT_MAX_RESOURCE",
        "MISCONFIGURATION:JOB_RESOURCE_REQUIREMENT",
    ];

    public async Task<IReadOnlyList<JobQueue>> ListAsync(CancellationToken ct = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        return await db.JobQueues.AsNoTracking().OrderByDescending(q => q.Priority).ThenBy(q => q.Name).ToListAsync(ct);
    }

    public async Task<JobQueue?> GetAsync(string nameOrArn, CancellationToken ct = default)
    {
        var name = Arns.NameFrom(nameOrArn, "job-queue");
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        return await db.JobQueues.AsNoTracking().FirstOrDefaultAsync(q => q.Name == name, ct);
    }

    /// <summary>The rules that need no database. <see cref="CreateAsync"/> adds those that do (environments exist and are VALID).</summary>
    public static List<FieldError> Validate(CreateJobQueueRequest r)
    {
        var errors = new List<FieldError>();
        if (Names.CheckResourceName(r.JobQueueName, "Queue name") is { } nameError)
        {
            errors.Add(new("jobQueueName", nameError));
        }

        if (r.Priority is null)
        {
            errors.Add(new("priority", "Priority is required (a higher integer is preferred)."));
        }
        else if (r.Priority is < 0 or > 1000)
        {
            errors.Add(new("priority", $"Priority must be from 0 to 1000, not {r.Priority}."));
        }

        if (r.State is not null && !ComputeEnvironmentService.IsState(r.State))
        {
            errors.Add(new("state", $"State must be ENABLED or DISABLED, not '{r.State}'."));
        }

        if (r.ComputeEnvironmentOrder.Count == 0)
        {
            errors.Add(new("computeEnvironmentOrder", "Connect at least one compute environment."));
        }
        else if (r.ComputeEnvironmentOrder.Count > MaxComputeEnvironments)
        {
            errors.Add(new("computeEnvironmentOrder", $"A job queue can have at most {MaxComputeEnvironments} compute environments ({r.ComputeEnvironmentOrder.Count} given)."));
        }

        var names = r.ComputeEnvironmentOrder.Select(o => Arns.NameFrom(o.ComputeEnvironment ?? string.Empty, "compute-environment")).ToList();
        foreach (var twice in names.GroupBy(n => n, StringComparer.Ordinal).Where(g => g.Count() > 1))
        {
            errors.Add(new("computeEnvironmentOrder", $"Compute environment {twice.Key} is connected more than once; each can be connected only once."));
        }

        foreach (var shared in r.ComputeEnvironmentOrder.GroupBy(o => o.Order).Where(g => g.Count() > 1))
        {
            errors.Add(new("computeEnvironmentOrder", $"Order {shared.Key} is given to {string.Join(" and ", shared.Select(o => o.ComputeEnvironment))}; each compute environment needs its own order value."));
        }

        foreach (var (action, i) in r.JobStateTimeLimitActions.Select((a, i) => (a, i)))
        {
            var field = $"jobStateTimeLimitActions[{i}]";
            if (action.MaxTimeSeconds is < 600 or > 86_400)
            {
                errors.Add(new($"{field}.maxTimeSeconds", $"Max time must be from 600 to 86400 seconds, not {action.MaxTimeSeconds}."));
            }

            if (!TimeLimitReasons.Contains(action.Reason))
            {
                errors.Add(new($"{field}.reason", $"Reason must be one of {string.Join(", ", TimeLimitReasons)}, not '{action.Reason}'."));
            }

            if (!string.Equals(action.State, "RUNNABLE", StringComparison.OrdinalIgnoreCase))
            {
                errors.Add(new($"{field}.state", $"State must be RUNNABLE, not '{action.State}'."));
            }

            if (!string.Equals(action.Action, "CANCEL", StringComparison.OrdinalIgnoreCase))
            {
                errors.Add(new($"{field}.action", $"Action must be CANCEL, not '{action.Action}'."));
            }
        }

        ComputeEnvironmentService.ValidateTags(r.Tags, errors);
        return errors;
    }

    public async Task<Result<JobQueue>> CreateAsync(CreateJobQueueRequest r, Actor? by = null, CancellationToken ct = default)
    {
        if (AccessPolicy.Refuse(by, Permission.ManageJobQueues, "CreateJobQueue") is { } refused)
        {
            return refused;
        }

        var result = await CreateUnauditedAsync(r, ct);
        if (result.IsSuccess)
        {
            await audit.RecordAsync(by, "CreateJobQueue", r.JobQueueName ?? string.Empty, null, ct);
        }

        return result;
    }

    private async Task<Result<JobQueue>> CreateUnauditedAsync(CreateJobQueueRequest r, CancellationToken ct)
    {
        var errors = Validate(r);
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var order = Normalize(r.ComputeEnvironmentOrder);
        await CheckEnvironmentsAsync(db, order, errors, ct);

        if (r.JobQueueName is not null && await db.JobQueues.AnyAsync(q => q.Name == r.JobQueueName, ct))
        {
            errors.Add(new("jobQueueName", $"A job queue named {r.JobQueueName} already exists."));
        }

        if (errors.Count > 0)
        {
            return new ValidationFailed(errors);
        }

        var queue = new JobQueue
        {
            Name = r.JobQueueName!,
            State = ComputeEnvironmentService.ParseState(r.State) ?? ResourceState.Enabled,
            Status = ResourceStatus.Creating,
            Priority = r.Priority!.Value,
            ComputeEnvironmentOrder = order,
            JobStateTimeLimitActions = r.JobStateTimeLimitActions,
            Tags = r.Tags ?? [],
            CreatedAt = time.GetUtcNow(),
        };
        db.JobQueues.Add(queue);
        try
        {
            await db.SaveChangesAsync(ct);
        }
        catch (DbUpdateException)
        {
            return new ValidationFailed("jobQueueName", $"A job queue named {queue.Name} already exists.");
        }

        // CREATING → VALID, as AWS reports it.
        await ChangedAsync(queue.Name);
        queue.Status = ResourceStatus.Valid;
        queue.StatusReason = "JobQueue Healthy";
        await db.SaveChangesAsync(ct);
        await ChangedAsync(queue.Name);
        return queue;
    }

    /// <summary>Changes what the request names and keeps the rest; the result must meet the same rules as a new queue.</summary>
    public async Task<Result<JobQueue>> UpdateAsync(UpdateJobQueueRequest r, Actor? by = null, CancellationToken ct = default)
    {
        if (AccessPolicy.Refuse(by, Permission.ManageJobQueues, "UpdateJobQueue") is { } refused)
        {
            return refused;
        }

        var result = await UpdateUnauditedAsync(r, ct);
        if (result.IsSuccess)
        {
            await audit.RecordAsync(by, "UpdateJobQueue", r.JobQueue ?? string.Empty, null, ct);
        }

        return result;
    }

    private Task<Result<JobQueue>> UpdateUnauditedAsync(UpdateJobQueueRequest r, CancellationToken ct) =>
        OnConflict.RetryAsync(() => UpdateOnceAsync(r, ct));

    private async Task<Result<JobQueue>> UpdateOnceAsync(UpdateJobQueueRequest r, CancellationToken ct)
    {
        if (string.IsNullOrWhiteSpace(r.JobQueue))
        {
            return new ValidationFailed("jobQueue", "Job queue (name or ARN) is required.");
        }

        var name = Arns.NameFrom(r.JobQueue, "job-queue");
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var queue = await db.JobQueues.FirstOrDefaultAsync(q => q.Name == name, ct);
        if (queue is null)
        {
            return new ResourceNotFound("Job queue", name);
        }

        var merged = new CreateJobQueueRequest
        {
            JobQueueName = queue.Name,
            State = r.State ?? queue.State.ToString().ToUpperInvariant(),
            Priority = r.Priority ?? queue.Priority,
            ComputeEnvironmentOrder = r.ComputeEnvironmentOrder ?? queue.ComputeEnvironmentOrder,
            JobStateTimeLimitActions = r.JobStateTimeLimitActions ?? queue.JobStateTimeLimitActions,
            Tags = queue.Tags,
        };
        var errors = Validate(merged);
        var order = Normalize(merged.ComputeEnvironmentOrder);
        if (r.ComputeEnvironmentOrder is not null)
        {
            await CheckEnvironmentsAsync(db, order, errors, ct);
        }

        if (errors.Count > 0)
        {
            return new ValidationFailed(errors);
        }

        queue.State = ComputeEnvironmentService.ParseState(merged.State) ?? queue.State;
        queue.Priority = merged.Priority!.Value;
        queue.ComputeEnvironmentOrder = order;
        queue.JobStateTimeLimitActions = merged.JobStateTimeLimitActions;
        await db.SaveChangesAsync(ct);
        await ChangedAsync(queue.Name);
        return queue;
    }

    public async Task<Result<JobQueue>> SetStateAsync(string nameOrArn, ResourceState state, Actor? by = null, CancellationToken ct = default)
    {
        if (AccessPolicy.Refuse(by, Permission.ManageJobQueues, "UpdateJobQueue") is { } refused)
        {
            return refused;
        }

        var result = await SetStateUnauditedAsync(nameOrArn, state, ct);
        if (result.IsSuccess)
        {
            await audit.RecordAsync(by, "UpdateJobQueue", nameOrArn, $"state {state}", ct);
        }

        return result;
    }

    private Task<Result<JobQueue>> SetStateUnauditedAsync(string nameOrArn, ResourceState state, CancellationToken ct) =>
        OnConflict.RetryAsync(() => SetStateOnceAsync(nameOrArn, state, ct));

    private async Task<Result<JobQueue>> SetStateOnceAsync(string nameOrArn, ResourceState state, CancellationToken ct)
    {
        var name = Arns.NameFrom(nameOrArn, "job-queue");
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var queue = await db.JobQueues.FirstOrDefaultAsync(q => q.Name == name, ct);
        if (queue is null)
        {
            return new ResourceNotFound("Job queue", name);
        }

        queue.State = state;
        await db.SaveChangesAsync(ct);
        await ChangedAsync(name);
        return queue;
    }

    /// <summary>AWS's rule: only a DISABLED queue can be deleted.</summary>
    public async Task<Result<bool>> DeleteAsync(string nameOrArn, Actor? by = null, CancellationToken ct = default)
    {
        if (AccessPolicy.Refuse(by, Permission.ManageJobQueues, "DeleteJobQueue") is { } refused)
        {
            return refused;
        }

        var result = await DeleteUnauditedAsync(nameOrArn, ct);
        if (result.IsSuccess)
        {
            await audit.RecordAsync(by, "DeleteJobQueue", nameOrArn, null, ct);
        }

        return result;
    }

    private Task<Result<bool>> DeleteUnauditedAsync(string nameOrArn, CancellationToken ct) =>
        OnConflict.RetryAsync(() => DeleteOnceAsync(nameOrArn, ct));

    private async Task<Result<bool>> DeleteOnceAsync(string nameOrArn, CancellationToken ct)
    {
        var name = Arns.NameFrom(nameOrArn, "job-queue");
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var queue = await db.JobQueues.FirstOrDefaultAsync(q => q.Name == name, ct);
        if (queue is null)
        {
            return new ResourceNotFound("Job queue", name);
        }

        if (queue.State != ResourceState.Disabled)
        {
            return new ResourceConflict($"Cannot delete job queue {name}: disable it first.");
        }

        // DELETING → gone, as AWS reports it. Jobs left in the queue that have not started fail with AWS's reason.
        queue.Status = ResourceStatus.Deleting;
        queue.StatusReason = "Deleting";
        await db.SaveChangesAsync(ct);
        await ChangedAsync(name);
        db.JobQueues.Remove(queue);
        await db.SaveChangesAsync(ct);
        foreach (var (id, status) in await jobs.UnfinishedOfQueueAsync(name, ct))
        {
            if (status is JobStatus.Submitted or JobStatus.Pending or JobStatus.Runnable)
            {
                await stateMachine.TryTransitionAsync(id, status, JobStatus.Failed, "JobQueue deleted", ct: ct);
            }
        }

        await ChangedAsync(name);
        return true;
    }

    private static List<ComputeEnvironmentOrder> Normalize(IEnumerable<ComputeEnvironmentOrder> order) =>
        [.. order.Select(o => new ComputeEnvironmentOrder { Order = o.Order, ComputeEnvironment = Arns.NameFrom(o.ComputeEnvironment ?? string.Empty, "compute-environment") })];

    private static async Task CheckEnvironmentsAsync(BatchDbContext db, List<ComputeEnvironmentOrder> order, List<FieldError> errors, CancellationToken ct)
    {
        var names = order.Select(o => o.ComputeEnvironment).ToList();
        var known = await db.ComputeEnvironments.AsNoTracking().Where(c => names.Contains(c.Name)).ToDictionaryAsync(c => c.Name, ct);
        foreach (var name in names)
        {
            if (!known.TryGetValue(name, out var ce))
            {
                errors.Add(new("computeEnvironmentOrder", $"Compute environment {name} does not exist."));
            }
            else if (ce.Status != ResourceStatus.Valid)
            {
                errors.Add(new("computeEnvironmentOrder", $"Compute environment {name} is {ce.Status.ToString().ToUpperInvariant()}; only VALID ones can be connected."));
            }
        }
    }

    private async Task ChangedAsync(string name)
    {
        await events.PublishAsync(new ResourceChanged("job-queue", name));
    }
}
