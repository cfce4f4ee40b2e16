using BatchPortal.Engine.Domain;
using Microsoft.EntityFrameworkCore;

namespace BatchPortal.Engine.Storage;

/// <summary>The dashboard's figures over all jobs: counts, recent failures, finishes per minute, capacity in use.</summary>
public sealed class JobStatistics(IDbContextFactory<BatchDbContext> dbFactory, TimeProvider time)
{
    /// <summary>Job counts per queue and status, for the dashboard.</summary>
    public async Task<IReadOnlyDictionary<(string Queue, JobStatus Status), int>> CountByQueueAndStatusAsync(CancellationToken ct = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var rows = await db.Jobs.AsNoTracking()
            .GroupBy(j => new { j.QueueName, j.Status })
            .Select(g => new { g.Key.QueueName, g.Key.Status, Count = g.Count() })
            .ToListAsync(ct);
        return rows.ToDictionary(r => (r.QueueName, r.Status), r => r.Count);
    }

    /// <summary>
    /// The latest failed jobs, most recently stopped first: real failures only, or (<paramref name="stoppedByUser"/>)
    /// only the jobs someone cancelled or terminated, so that a mass cancel does not push real failures out of sight.
    /// </summary>
    public async Task<IReadOnlyList<Job>> RecentFailuresAsync(int limit, bool stoppedByUser = false, CancellationToken ct = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        return await db.Jobs.AsNoTracking()
            .Where(j => j.Status == JobStatus.Failed && (j.IsCancelled || j.IsTerminated) == stoppedByUser)
            .OrderByDescending(j => j.StoppedAt)
            .Take(limit)
            .ToListAsync(ct);
    }

    /// <summary>
    /// RUNNABLE jobs that can never run as things are (AWS's <c>MISCONFIGURATION:</c> reasons: no environment of the
    /// queue could ever hold them), with how many there are in all.
    /// </summary>
    public async Task<(IReadOnlyList<Job> Jobs, int Count)> BlockedAsync(int limit, CancellationToken ct = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var blocked = db.Jobs.AsNoTracking().Where(j => j.Status == JobStatus.Runnable && j.StatusReason != null && j.StatusReason.StartsWith("MISCONFIGURATION:"));
        var count = await blocked.CountAsync(ct);
        return (count == 0 ? [] : await blocked.OrderBy(j => j.Seq).Take(limit).ToListAsync(ct), count);
    }

    /// <summary>Jobs that finished since <paramref name="since"/>, counted per minute: (minute, succeeded, failed).</summary>
    public async Task<IReadOnlyList<(DateTimeOffset Minute, int Succeeded, int Failed)>> FinishedPerMinuteAsync(DateTimeOffset since, CancellationToken ct = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var rows = await db.Jobs.AsNoTracking()
            .Where(j => j.StoppedAt >= since && (j.Status == JobStatus.Succeeded || j.Status == JobStatus.Failed))
            .Select(j => new { j.StoppedAt, j.Status })
            .ToListAsync(ct);
        var start = new DateTimeOffset(since.Year, since.Month, since.Day, since.Hour, since.Minute, 0, TimeSpan.Zero);
        var minutes = (int)Math.Ceiling((time.GetUtcNow() - start).TotalMinutes);
        var buckets = Enumerable.Range(0, Math.Max(1, minutes)).Select(i => (Minute: start.AddMinutes(i), Succeeded: 0, Failed: 0)).ToArray();
        foreach (var row in rows)
        {
            var i = Math.Clamp((int)((row.StoppedAt!.Value - start).TotalMinutes), 0, buckets.Length - 1);
            buckets[i] = row.Status == JobStatus.Succeeded
                ? buckets[i] with { Succeeded = buckets[i].Succeeded + 1 }
                : buckets[i] with { Failed = buckets[i].Failed + 1 };
        }

        return buckets;
    }

    /// <summary>vCPUs held by STARTING and RUNNING jobs, per compute environment.</summary>
    public async Task<Dictionary<string, double>> RunningVcpusByEnvironmentAsync(CancellationToken ct = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var rows = await db.Jobs.AsNoTracking()
            .Where(j => (j.Status == JobStatus.Starting || j.Status == JobStatus.Running) && j.ComputeEnvironmentName != null)
            .Select(j => new { j.ComputeEnvironmentName, j.Vcpus })
            .ToListAsync(ct);
        return rows.GroupBy(r => r.ComputeEnvironmentName!).ToDictionary(g => g.Key, g => g.Sum(r => r.Vcpus));
    }
}
