using System.Globalization;
using BatchPortal.Engine.Domain;
using BatchPortal.Engine.Execution;
using BatchPortal.Engine.Resources;
using BatchPortal.Engine.Storage;
using Hangfire;
using Microsoft.Extensions.Options;

namespace BatchPortal.Engine.Dispatch;

/// <summary>
/// One pass of the dispatcher: SUBMITTED jobs become PENDING or RUNNABLE, PENDING jobs whose wait is over move on, and
/// RUNNABLE jobs are placed — queues by priority (higher first), first in first out within a queue, each queue's compute
/// environments in their order — wherever the job fits. A job that stays RUNNABLE is told why.
/// </summary>
public sealed class JobDispatcher(
    DispatchQueries queries,
    JobStateMachine stateMachine,
    ComputeEnvironmentService computeEnvironments,
    DockerHealth health,
    IBackgroundJobClient hangfire,
    TimeProvider time,
    IOptions<DispatchOptions> options)
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
        var queues = await queries.QueuesAsync(ct);
        var environments = await queries.ComputeEnvironmentsAsync(ct);
        moved |= await ApplyTimeLimitActionsAsync(queues, ct);
        var (placed, vcpusInUse) = await PlaceRunnableAsync(queues, environments, ct);
        await FollowDesiredvCpusAsync(environments, vcpusInUse, ct);
        moved |= placed;
        return moved;
    }

    /// <summary>
    /// SUBMITTED jobs move on: an array parent that waits for nothing makes its children, and the rest become RUNNABLE
    /// together, in one transaction. A job that waits for others is written PENDING by its submission (JobSubmissions);
    /// one stored SUBMITTED before that, by an earlier version, becomes PENDING here.
    /// </summary>
    private async Task<bool> PromoteSubmittedAsync(CancellationToken ct)
    {
        var submitted = await queries.SubmittedAsync(options.Value.MaxJobsPerPass, ct);
        var moved = await stateMachine.TryTransitionManyAsync(
            [.. submitted.Where(j => !j.Waits && !j.IsArrayParent).Select(j => j.Id)], JobStatus.Submitted, JobStatus.Runnable, null, ct) > 0;
        moved |= await stateMachine.TryTransitionManyAsync(
            [.. submitted.Where(j => j.Waits).Select(j => j.Id)], JobStatus.Submitted, JobStatus.Pending, null, ct) > 0;
        foreach (var job in submitted.Where(j => !j.Waits && j.IsArrayParent))
        {
            moved |= await stateMachine.SpawnChildrenAsync(job.Id, ct);
        }

        return moved;
    }

    /// <summary>
    /// PENDING jobs whose wait is over (the store counts it down as each job they wait for finishes): a failed dependency
    /// fails the job without running it (and so on down the chain, pass by pass); when all succeeded the job becomes
    /// RUNNABLE, or an array parent makes its children. Array parents whose children have all finished take their final
    /// state. Nothing here reads a job that still waits.
    /// </summary>
    private async Task<bool> ResolvePendingAsync(CancellationToken ct)
    {
        var limit = options.Value.MaxJobsPerPass;
        var moved = await stateMachine.TryTransitionManyAsync(
            await queries.PendingWithFailedDependencyAsync(limit, ct), JobStatus.Pending, JobStatus.Failed, DependentJobFailed, ct) > 0;

        var ready = await queries.PendingReadyAsync(limit, ct);
        moved |= await stateMachine.TryTransitionManyAsync(
            [.. ready.Where(r => !r.IsArrayParent).Select(r => r.Id)], JobStatus.Pending, JobStatus.Runnable, null, ct) > 0;
        foreach (var (id, _) in ready.Where(r => r.IsArrayParent))
        {
            moved |= await stateMachine.SpawnChildrenAsync(id, ct);
        }

        foreach (var parent in await queries.FinishedArrayParentsAsync(limit, ct))
        {
            var reason = parent.Stopped ? parent.StopReason : parent.AnyChildFailed ? ArrayChildJobFailed : null;
            var to = !parent.AnyChildFailed && !parent.Stopped ? JobStatus.Succeeded : JobStatus.Failed;
            moved |= (await stateMachine.TryTransitionAsync(parent.Id, JobStatus.Pending, to, reason, ct: ct)).IsApplied;
        }

        return moved;
    }

    /// <summary>A queue's job state time limit actions: cancel jobs left RUNNABLE too long for one of the listed reasons.</summary>
    private async Task<bool> ApplyTimeLimitActionsAsync(IReadOnlyList<JobQueue> queues, CancellationToken ct)
    {
        var now = time.GetUtcNow();
        var moved = false;
        foreach (var queue in queues)
        {
            foreach (var action in queue.JobStateTimeLimitActions)
            {
                foreach (var id in await queries.RunnableTooLongAsync(queue.Name, action.Reason, now.AddSeconds(-action.MaxTimeSeconds), ct))
                {
                    var reason = $"Canceled by JobStateTimeLimit action due to reason: {action.Reason}";
                    moved |= (await stateMachine.TryTransitionAsync(id, JobStatus.Runnable, JobStatus.Failed, reason, j => j.IsCancelled = true, ct)).IsApplied;
                }
            }
        }

        return moved;
    }

    /// <summary>
    /// Desired vCPUs follows what runs: the vCPUs held, up to the maximum, and back to the minimum when idle. The vCPUs
    /// held are the placement's own count, this pass's placements included. The write is compare-and-set on the
    /// environment's version: an edit made since the pass read it wins, and the next pass follows again.
    /// </summary>
    private async Task FollowDesiredvCpusAsync(IReadOnlyList<ComputeEnvironment> environments, IReadOnlyDictionary<string, double> used, CancellationToken ct)
    {
        foreach (var ce in environments.Where(c => c.Type == ComputeEnvironmentType.Managed))
        {
            if (ce.ComputeResources is not { } cr)
            {
                continue;
            }

            var min = cr.MinvCpus ?? 0;
            var desired = Math.Clamp((int)Math.Ceiling(used.GetValueOrDefault(ce.Name)), min, Math.Max(min, cr.MaxvCpus));
            if (cr.DesiredvCpus != desired)
            {
                await computeEnvironments.TrySetDesiredvCpusAsync(ce.Name, ce.Version, desired, ct);
            }
        }
    }

    /// <summary>Places what fits; returns whether any job moved, and the vCPUs held per compute environment afterwards.</summary>
    private async Task<(bool Moved, IReadOnlyDictionary<string, double> VcpusInUse)> PlaceRunnableAsync(
        IReadOnlyList<JobQueue> queues,
        IReadOnlyList<ComputeEnvironment> environmentList,
        CancellationToken ct)
    {
        var environments = environmentList.ToDictionary(c => c.Name);
        var usage = (await queries.UsageAsync(ct)).ToDictionary(u => u.Key, u => new Usage(u.Value.Vcpus, u.Value.MemoryMiB));

        var budget = options.Value.MaxJobsPerPass;
        var moved = false;
        var waitReasons = new List<(string JobId, string? Reason)>();
        foreach (var queue in queues.OrderByDescending(q => q.Priority).ThenBy(q => q.CreatedAt))
        {
            var waiting = await queries.RunnableAsync(queue.Name, budget, ct);
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

        await stateMachine.SetReasonsAsync(JobStatus.Runnable, waitReasons, ct);
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
            var endpointHealth = await health.GetAsync(health.EndpointOf(ce), ct);
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
        // The attempt and its engine are recorded before any container exists: a launch that runs twice, on this node
        // or another, finds the attempt's container there by its labels instead of making a second one.
        var attempt = 0;
        var endpoint = health.EndpointOf(ce);
        var now = time.GetUtcNow();
        var result = await stateMachine.TryTransitionAsync(jobId, JobStatus.Runnable, JobStatus.Starting, null, job => attempt = job.PlaceAttempt(ce.Name, endpoint, now).Number, ct);
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
