using BatchPortal.Engine.Domain;
using Microsoft.EntityFrameworkCore;

namespace BatchPortal.Engine.Storage;

/// <summary>
/// What the dispatcher and the reconciler read on every pass. Each query reads the jobs whose turn it is, through an index
/// that leads to them (a waiting job is read again only once what it waits for has finished), so that a pass costs the
/// same whether ten or fifty thousand jobs wait.
/// </summary>
public sealed class DispatchQueries(IDbContextFactory<BatchDbContext> dbFactory)
{
    /// <summary>SUBMITTED jobs in order: whether each still waits for a job (or one of them failed), and whether it is an array.</summary>
    public async Task<IReadOnlyList<(string Id, bool Waits, bool IsArrayParent)>> SubmittedAsync(int limit, CancellationToken ct = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var rows = await db.Jobs.AsNoTracking()
            .Where(j => j.Status == JobStatus.Submitted)
            .OrderBy(j => j.Seq)
            .Select(j => new { j.Id, Waits = j.WaitsFor > 0 || j.WaitFailed, j.ArraySize })
            .Take(limit)
            .ToListAsync(ct);
        return [.. rows.Select(r => (r.Id, r.Waits, r.ArraySize != null))];
    }

    /// <summary>PENDING jobs (array parents whose children do not exist yet included) whose every dependency has SUCCEEDED.</summary>
    public async Task<IReadOnlyList<(string Id, bool IsArrayParent)>> PendingReadyAsync(int limit, CancellationToken ct = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var rows = await db.Jobs.AsNoTracking()
            .Where(j => j.Status == JobStatus.Pending && j.WaitsFor <= 0 && !j.WaitFailed && !j.ChildrenSpawned)
            .OrderBy(j => j.Seq)
            .Select(j => new { j.Id, j.ArraySize })
            .Take(limit)
            .ToListAsync(ct);
        return [.. rows.Select(r => (r.Id, r.ArraySize != null))];
    }

    /// <summary>PENDING jobs one of whose dependencies FAILED: they fail too, without running.</summary>
    public async Task<IReadOnlyList<string>> PendingWithFailedDependencyAsync(int limit, CancellationToken ct = default)
    {
        // Compared with a parameter, not as a bare boolean column: SQLite seeks an index only for a comparison, so
        // `AND "WaitFailed"` walked every PENDING job in Seq order; `"WaitFailed" = @failed` seeks (Status, WaitFailed).
        var failed = true;
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        return await db.Jobs.AsNoTracking()
            .Where(j => j.Status == JobStatus.Pending && j.WaitFailed == failed && !j.ChildrenSpawned)
            .OrderBy(j => j.Seq)
            .Select(j => j.Id)
            .Take(limit)
            .ToListAsync(ct);
    }

    /// <summary>Spawned array parents whose children have all finished: whether one failed, and the stop the caller asked for.</summary>
    public async Task<IReadOnlyList<FinishedArray>> FinishedArrayParentsAsync(int limit, CancellationToken ct = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var rows = await db.Jobs.AsNoTracking()
            .Where(j => j.Status == JobStatus.Pending && j.WaitsFor <= 0 && j.ChildrenSpawned)
            .OrderBy(j => j.Seq)
            .Select(j => new FinishedArray(j.Id, j.WaitFailed, j.IsCancelled || j.IsTerminated, j.TerminationReason))
            .Take(limit)
            .ToListAsync(ct);
        return rows;
    }

    public async Task<IReadOnlyList<JobQueue>> QueuesAsync(CancellationToken ct = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        return await db.JobQueues.AsNoTracking().ToListAsync(ct);
    }

    public async Task<IReadOnlyList<ComputeEnvironment>> ComputeEnvironmentsAsync(CancellationToken ct = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        return await db.ComputeEnvironments.AsNoTracking().ToListAsync(ct);
    }

    /// <summary>vCPUs and memory held by STARTING and RUNNING jobs, per compute environment.</summary>
    public async Task<Dictionary<string, (double Vcpus, long MemoryMiB)>> UsageAsync(CancellationToken ct = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var rows = await db.Jobs.AsNoTracking()
            .Where(j => (j.Status == JobStatus.Starting || j.Status == JobStatus.Running) && j.ComputeEnvironmentName != null)
            .Select(j => new { j.ComputeEnvironmentName, j.Vcpus, j.MemoryMiB })
            .ToListAsync(ct);
        return rows.GroupBy(j => j.ComputeEnvironmentName!).ToDictionary(g => g.Key, g => (g.Sum(x => x.Vcpus), g.Sum(x => (long)x.MemoryMiB)));
    }

    /// <summary>A queue's RUNNABLE jobs in dispatch order (first in, first out), with what they need.</summary>
    public async Task<IReadOnlyList<RunnableJob>> RunnableAsync(string queue, int limit, CancellationToken ct = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        return await db.Jobs.AsNoTracking()
            .Where(j => j.QueueName == queue && j.Status == JobStatus.Runnable)
            .OrderBy(j => j.Seq)
            .Take(limit)
            .Select(j => new RunnableJob(j.Id, j.Vcpus, j.MemoryMiB, j.StatusReason))
            .ToListAsync(ct);
    }

    /// <summary>RUNNABLE jobs of a queue that have waited since before <paramref name="before"/> with a reason that starts with <paramref name="reasonPrefix"/>.</summary>
    public async Task<IReadOnlyList<string>> RunnableTooLongAsync(string queue, string reasonPrefix, DateTimeOffset before, CancellationToken ct = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        return await db.Jobs.AsNoTracking()
            .Where(j => j.QueueName == queue && j.Status == JobStatus.Runnable && j.RunnableSince < before && j.StatusReason != null && j.StatusReason.StartsWith(reasonPrefix))
            .Select(j => j.Id)
            .ToListAsync(ct);
    }

    /// <summary>Every STARTING and RUNNING job's current attempt: what the reconciler checks against the engines.</summary>
    public async Task<IReadOnlyList<ActiveAttempt>> ActiveAttemptsAsync(CancellationToken ct = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        return await (from j in db.Jobs.AsNoTracking()
                      where j.Status == JobStatus.Starting || j.Status == JobStatus.Running
                      join a in db.JobAttempts.AsNoTracking() on new { JobId = j.Id, Number = j.AttemptCount } equals new { a.JobId, a.Number } into attempts
                      from a in attempts.DefaultIfEmpty()
                      select new ActiveAttempt(
                          j.Id,
                          j.Status,
                          j.AttemptCount,
                          a == null ? null : a.DockerEndpoint,
                          j.ComputeEnvironmentName,
                          a == null ? null : a.ContainerId,
                          a == null ? null : a.PlacedAt,
                          j.StartedAt,
                          j.Timeout,
                          j.StatusReason,
                          a == null ? null : a.HostUnreachableSince,
                          j.IsTerminated))
            .ToListAsync(ct);
    }

    /// <summary>The status and current attempt of the jobs named by containers' labels; unknown ids are left out.</summary>
    public async Task<IReadOnlyDictionary<string, (JobStatus Status, int Attempt)>> StatusOfAsync(IReadOnlyCollection<string> jobIds, CancellationToken ct = default)
    {
        var result = new Dictionary<string, (JobStatus, int)>(StringComparer.Ordinal);
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        foreach (var chunk in jobIds.Chunk(500))
        {
            foreach (var row in await db.Jobs.AsNoTracking().Where(j => chunk.Contains(j.Id)).Select(j => new { j.Id, j.Status, j.AttemptCount }).ToListAsync(ct))
            {
                result[row.Id] = (row.Status, row.AttemptCount);
            }
        }

        return result;
    }
}

public sealed record FinishedArray(string Id, bool AnyChildFailed, bool Stopped, string? StopReason);

public sealed record RunnableJob(string Id, double Vcpus, int MemoryMiB, string? StatusReason);

/// <summary>A STARTING or RUNNING job's current attempt, as the database has it.</summary>
public sealed record ActiveAttempt(
    string JobId,
    JobStatus Status,
    int Attempt,
    string? DockerEndpoint,
    string? ComputeEnvironment,
    string? ContainerId,
    DateTimeOffset? PlacedAt,
    DateTimeOffset? StartedAt,
    JobTimeout? Timeout,
    string? StatusReason,
    DateTimeOffset? HostUnreachableSince,
    bool Terminating);
