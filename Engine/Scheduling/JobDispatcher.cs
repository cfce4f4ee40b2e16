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
    IOptions<SchedulerOptions> options)
{
    public const string MaxResourceReason =
        "MISCONFIGURATION:COMPUTE_ENVIRONMENT_MAX_RESOURCE - CE(s) associated with the job queue cannot meet the CPU requirement of the job.";

    /// <summary>Runs one pass; true when any job moved.</summary>
    public async Task<bool> DispatchOnceAsync(CancellationToken ct)
    {
        var moved = await PromoteSubmittedAsync(ct);
        moved |= await PlaceRunnableAsync(ct);
        return moved;
    }

    private async Task<bool> PromoteSubmittedAsync(CancellationToken ct)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var submitted = await db.Jobs.AsNoTracking()
            .Where(j => j.Status == JobStatus.Submitted)
            .OrderBy(j => j.Seq)
            .Select(j => j.Id)
            .Take(options.Value.MaxJobsPerPass)
            .ToListAsync(ct);

        var moved = false;
        foreach (var id in submitted)
        {
            moved |= (await jobs.TryTransitionAsync(id, JobStatus.Submitted, JobStatus.Runnable, null, ct: ct)).IsApplied;
        }

        return moved;
    }

    private async Task<bool> PlaceRunnableAsync(CancellationToken ct)
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

            foreach (var job in waiting)
            {
                var (placedOn, reason) = await ChooseAsync(queue, candidates, job.Vcpus, job.MemoryMiB, usage, ct);
                if (placedOn is null)
                {
                    if (reason != job.StatusReason)
                    {
                        await jobs.SetWaitReasonAsync(job.Id, reason!, ct);
                    }

                    continue;
                }

                if (await PlaceAsync(job.Id, placedOn, ct))
                {
                    var u = usage.GetValueOrDefault(placedOn.Name) ?? new Usage(0, 0);
                    usage[placedOn.Name] = new Usage(u.Vcpus + job.Vcpus, u.MemoryMiB + job.MemoryMiB);
                    moved = true;
                }
            }

            if (budget <= 0)
            {
                break;
            }
        }

        return moved;
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
