using System.Globalization;
using BatchPortal.Engine.Domain;
using BatchPortal.Engine.Execution;
using BatchPortal.Engine.Storage;
using Hangfire;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace BatchPortal.Engine.Scheduling;

/// <summary>
/// One pass of the scheduler: SUBMITTED jobs become RUNNABLE, and RUNNABLE jobs are placed — queues by priority (higher
/// first), first in first out within a queue, each queue's compute environments in their order — wherever the job fits.
/// A job that stays RUNNABLE is told why.
/// </summary>
public sealed class JobDispatcher(
    IDbContextFactory<BatchDbContext> dbFactory,
    JobStore jobs,
    DockerHealth health,
    IBackgroundJobClient hangfire,
    BatchPortal.Engine.Notifications.IJobEventPublisher events,
    TimeProvider time,
    IOptions<SchedulerOptions> options)
{
    public const string DependentJobFailed = "Dependent Job failed";
    public const string ArrayChildJobFailed = "Array Child Job failed";

    public const string MaxResourceReason =
        "MISCONFIGURATION:COMPUTE_ENVIRONMENT_MAX_RESOURCE - CE(s) associated with the job queue cannot meet the CPU requirement of the job.";

    /// <summary>Runs one pass; true when any job moved.</summary>
    public async Task<bool> DispatchOnceAsync(CancellationToken ct)
    {
        var moved = await PromoteSubmittedAsync(ct);
        moved |= await ResolvePendingAsync(ct);
        moved |= await ApplyTimeLimitActionsAsync(ct);
        var (placed, vcpusInUse) = await PlaceRunnableAsync(ct);
        await FollowDesiredvCpusAsync(vcpusInUse, ct);
        moved |= placed;
        return moved;
    }

    /// <summary>
    /// PENDING jobs whose dependencies resolved: a failed dependency fails the job without running it (and so on down
    /// the chain, pass by pass); when all succeeded the job becomes RUNNABLE, or an array parent spawns its children.
    /// Array parents whose children have all finished take their final state.
    /// </summary>
    private async Task<bool> ResolvePendingAsync(CancellationToken ct)
    {
        var moved = false;
        foreach (var id in await jobs.PendingWithFailedDependencyAsync(options.Value.MaxJobsPerPass, ct))
        {
            moved |= (await jobs.TryTransitionAsync(id, JobStatus.Pending, JobStatus.Failed, DependentJobFailed, ct: ct)).IsApplied;
        }

        foreach (var (id, isArrayParent) in await jobs.PendingReadyAsync(options.Value.MaxJobsPerPass, ct))
        {
            moved |= isArrayParent
                ? await jobs.SpawnChildrenAsync(id, ct)
                : (await jobs.TryTransitionAsync(id, JobStatus.Pending, JobStatus.Runnable, null, ct: ct)).IsApplied;
        }

        foreach (var (id, allSucceeded) in await jobs.FinishedArrayParentsAsync(ct))
        {
            var parent = await jobs.GetAsync(id, ct);
            var stopped = parent is { IsCancelled: true } or { IsTerminated: true };
            var reason = stopped ? parent!.TerminationReason : allSucceeded ? null : ArrayChildJobFailed;
            var to = allSucceeded && !stopped ? JobStatus.Succeeded : JobStatus.Failed;
            moved |= (await jobs.TryTransitionAsync(id, JobStatus.Pending, to, reason, ct: ct)).IsApplied;
        }

        return moved;
    }

    /// <summary>A queue's job state time limit actions: cancel jobs left RUNNABLE too long for one of the listed reasons.</summary>
    private async Task<bool> ApplyTimeLimitActionsAsync(CancellationToken ct)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var queues = await db.JobQueues.AsNoTracking().ToListAsync(ct);
        var now = time.GetUtcNow();
        var moved = false;
        foreach (var queue in queues)
        {
            foreach (var action in queue.JobStateTimeLimitActions)
            {
                foreach (var id in await jobs.RunnableTooLongAsync(queue.Name, action.Reason, now.AddSeconds(-action.MaxTimeSeconds), ct))
                {
                    var reason = $"Canceled by JobStateTimeLimit action due to reason: {action.Reason}";
                    moved |= (await jobs.TryTransitionAsync(id, JobStatus.Runnable, JobStatus.Failed, reason, (j, _) => j.IsCancelled = true, ct)).IsApplied;
                }
            }
        }

        return moved;
    }

    /// <summary>
    /// Desired vCPUs follows what runs: the vCPUs held, up to the maximum, and back to the minimum when idle. The vCPUs
    /// held are the placement's own count, this pass's placements included (read once per pass, not twice).
    /// </summary>
    private async Task FollowDesiredvCpusAsync(IReadOnlyDictionary<string, double> used, CancellationToken ct)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var changed = new List<string>();
        foreach (var ce in await db.ComputeEnvironments.Where(c => c.Type == ComputeEnvironmentType.Managed).ToListAsync(ct))
        {
            if (ce.ComputeResources is not { } cr)
            {
                continue;
            }

            var min = cr.MinvCpus ?? 0;
            var desired = Math.Clamp((int)Math.Ceiling(used.GetValueOrDefault(ce.Name)), min, Math.Max(min, cr.MaxvCpus));
            if (cr.DesiredvCpus != desired)
            {
                ce.ComputeResources = CopyWithDesired(cr, desired);
                changed.Add(ce.Name);
            }
        }

        if (changed.Count > 0)
        {
            await db.SaveChangesAsync(ct);
            foreach (var name in changed)
            {
                await events.PublishAsync(new BatchPortal.Engine.Notifications.ResourceChanged("compute-environment", name));
            }
        }
    }

    private static ComputeResources CopyWithDesired(ComputeResources cr, int desired) => new()
    {
        Type = cr.Type,
        MinvCpus = cr.MinvCpus,
        MaxvCpus = cr.MaxvCpus,
        DesiredvCpus = desired,
        InstanceTypes = cr.InstanceTypes,
        AllocationStrategy = cr.AllocationStrategy,
        InstanceRole = cr.InstanceRole,
        Ec2KeyPair = cr.Ec2KeyPair,
        BidPercentage = cr.BidPercentage,
        SpotIamFleetRole = cr.SpotIamFleetRole,
        Subnets = cr.Subnets,
        SecurityGroupIds = cr.SecurityGroupIds,
        Tags = cr.Tags,
    };

    private async Task<bool> PromoteSubmittedAsync(CancellationToken ct)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var submitted = await db.Jobs.AsNoTracking()
            .Where(j => j.Status == JobStatus.Submitted)
            .OrderBy(j => j.Seq)
            .Select(j => new { j.Id, j.ArraySize, Waits = db.JobDependencyEdges.Any(e => e.JobId == j.Id) })
            .Take(options.Value.MaxJobsPerPass)
            .ToListAsync(ct);

        // Jobs that neither wait nor spawn children move together, in one transaction.
        var moved = await jobs.TryTransitionManyAsync(
            [.. submitted.Where(j => !j.Waits && j.ArraySize is null).Select(j => j.Id)], JobStatus.Submitted, JobStatus.Runnable, null, ct) > 0;
        foreach (var job in submitted.Where(j => j.Waits || j.ArraySize is not null))
        {
            moved |= job.Waits
                ? (await jobs.TryTransitionAsync(job.Id, JobStatus.Submitted, JobStatus.Pending, null, ct: ct)).IsApplied
                : await jobs.SpawnChildrenAsync(job.Id, ct);
        }

        return moved;
    }

    /// <summary>Places what fits; returns whether any job moved, and the vCPUs held per compute environment afterwards.</summary>
    private async Task<(bool Moved, IReadOnlyDictionary<string, double> VcpusInUse)> PlaceRunnableAsync(CancellationToken ct)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var queues = await db.JobQueues.AsNoTracking().ToListAsync(ct);
        var environments = await db.ComputeEnvironments.AsNoTracking().ToDictionaryAsync(c => c.Name, ct);
        var usage = (await db.Jobs.AsNoTracking()
                .Where(j => (j.Status == JobStatus.Starting || j.Status == JobStatus.Running) && j.ComputeEnvironmentName != null)
                .Select(j => new { j.ComputeEnvironmentName, j.Vcpus, j.MemoryMiB })
                .ToListAsync(ct))
            .GroupBy(j => j.ComputeEnvironmentName!)
            .ToDictionary(g => g.Key, g => new Usage(g.Sum(x => x.Vcpus), g.Sum(x => (long)x.MemoryMiB)));

        var budget = options.Value.MaxJobsPerPass;
        var moved = false;
        var waitReasons = new List<(string JobId, string Reason)>();
        foreach (var queue in queues.OrderByDescending(q => q.Priority).ThenBy(q => q.CreatedAt))
        {
            var waiting = await db.Jobs.AsNoTracking()
                .Where(j => j.QueueName == queue.Name && j.Status == JobStatus.Runnable)
                .OrderBy(j => j.Seq)
                .Take(budget)
                .Select(j => new { j.Id, j.Vcpus, j.MemoryMiB, j.StatusReason })
                .ToListAsync(ct);
            budget -= waiting.Count;

            var candidates = queue.OrderedComputeEnvironments
                .Select(name => environments.GetValueOrDefault(name))
                .OfType<ComputeEnvironment>()
                .ToList();

            // The answer depends only on what the job needs and on the usage, which changes only when a job is placed:
            // jobs that need the same as one that did not fit wait for the same reason. Without this a long backlog
            // (thousands of RUNNABLE jobs while Docker is away) cost a full evaluation per job on every pass.
            var noFit = new Dictionary<(double Vcpus, int MemoryMiB), string>();
            foreach (var job in waiting)
            {
                if (noFit.TryGetValue((job.Vcpus, job.MemoryMiB), out var known))
                {
                    if (known != job.StatusReason)
                    {
                        waitReasons.Add((job.Id, known));
                    }

                    continue;
                }

                var (placedOn, reason) = await ChooseAsync(queue, candidates, job.Vcpus, job.MemoryMiB, usage, ct);
                if (placedOn is null)
                {
                    noFit[(job.Vcpus, job.MemoryMiB)] = reason!;
                    if (reason != job.StatusReason)
                    {
                        waitReasons.Add((job.Id, reason!));
                    }

                    continue;
                }

                if (await PlaceAsync(job.Id, placedOn, ct))
                {
                    var u = usage.GetValueOrDefault(placedOn.Name) ?? new Usage(0, 0);
                    usage[placedOn.Name] = new Usage(u.Vcpus + job.Vcpus, u.MemoryMiB + job.MemoryMiB);
                    moved = true;
                }

                noFit.Clear();
            }

            if (budget <= 0)
            {
                break;
            }
        }

        await jobs.SetWaitReasonsAsync(waitReasons, ct);
        return (moved, usage.ToDictionary(u => u.Key, u => u.Value.Vcpus));
    }

    private async Task<(ComputeEnvironment? Environment, string? WaitReason)> ChooseAsync(
        JobQueue queue,
        List<ComputeEnvironment> candidates,
        double vcpus,
        int memoryMiB,
        Dictionary<string, Usage> usage,
        CancellationToken ct)
    {
        if (candidates.Count == 0)
        {
            return (null, $"ACTION_REQUIRED - Job queue {queue.Name} has no compute environment connected.");
        }

        var enabled = candidates.Where(c => c.AcceptsWork).ToList();
        if (enabled.Count == 0)
        {
            return (null, $"Waiting: every compute environment of job queue {queue.Name} is disabled ({string.Join(", ", candidates.Select(c => c.Name))}).");
        }

        if (enabled.All(c => c.CapacityvCpus < vcpus))
        {
            var most = enabled.Max(c => c.CapacityvCpus);
            return (null, $"{MaxResourceReason} The job needs {Format(vcpus)} vCPUs; the most any enabled one allows is {most}.");
        }

        string? reason = null;
        foreach (var ce in enabled.Where(c => c.CapacityvCpus >= vcpus))
        {
            var endpointHealth = await health.GetAsync(ce.DockerEndpoint, ct);
            if (!endpointHealth.Reachable)
            {
                reason ??= endpointHealth.UnreachableReason;
                continue;
            }

            var used = usage.GetValueOrDefault(ce.Name) ?? new Usage(0, 0);
            var hostMemoryMiB = (endpointHealth.Host?.MemoryBytes ?? 0) / 1024 / 1024;
            if (hostMemoryMiB > 0 && memoryMiB > hostMemoryMiB)
            {
                reason ??= $"MISCONFIGURATION:JOB_RESOURCE_REQUIREMENT - The job needs {memoryMiB} MiB of memory; the Docker host of {ce.Name} has {hostMemoryMiB} MiB.";
                continue;
            }

            if (used.Vcpus + vcpus > ce.CapacityvCpus)
            {
                reason ??= $"CAPACITY:INSUFFICIENT_INSTANCE_CAPACITY - Waiting for {Format(vcpus)} vCPUs on {ce.Name} ({Format(used.Vcpus)} of {ce.CapacityvCpus} in use).";
                continue;
            }

            if (hostMemoryMiB > 0 && used.MemoryMiB + memoryMiB > hostMemoryMiB)
            {
                reason ??= $"CAPACITY:INSUFFICIENT_INSTANCE_CAPACITY - Waiting for {memoryMiB} MiB of memory on the Docker host of {ce.Name} ({used.MemoryMiB} of {hostMemoryMiB} MiB in use).";
                continue;
            }

            return (ce, null);
        }

        return (null, reason);
    }

    private async Task<bool> PlaceAsync(string jobId, ComputeEnvironment ce, CancellationToken ct)
    {
        var attempt = 0;
        var result = await jobs.TryTransitionAsync(jobId, JobStatus.Runnable, JobStatus.Starting, null, (job, db) =>
        {
            job.AttemptCount++;
            attempt = job.AttemptCount;
            job.ComputeEnvironmentName = ce.Name;
            job.ExitCode = null;
            job.ContainerReason = null;
            var row = new JobAttempt { JobId = job.Id, Number = attempt, ComputeEnvironmentName = ce.Name };
            job.Attempts.Add(row);
        }, ct);

        if (!result.IsApplied)
        {
            return false;
        }

        hangfire.Enqueue<RunJob>(x => x.LaunchAsync(jobId, attempt, CancellationToken.None));
        return true;
    }

    private static string Format(double vcpus) => vcpus.ToString("0.##", CultureInfo.InvariantCulture);

    private sealed record Usage(double Vcpus, long MemoryMiB);
}
