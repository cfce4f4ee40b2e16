using BatchPortal.Engine.Notifications;
using Microsoft.EntityFrameworkCore;

namespace BatchPortal.Engine.Storage;

/// <summary>A job attempt's log stream, as the CloudWatch-Logs-shaped API describes it.</summary>
public sealed record LogStreamInfo(
    string Name,
    string JobId,
    int Attempt,
    DateTimeOffset? CreatedAt,
    DateTimeOffset? FirstEventAt,
    DateTimeOffset? LastEventAt,
    long StoredBytes);

/// <summary>The lines each attempt's container wrote, stored as they arrive so they can be read while the job runs.</summary>
public sealed class LogStore(IDbContextFactory<BatchDbContext> dbFactory, IJobEventPublisher events)
{
    public async Task AppendAsync(IReadOnlyList<LogEvent> lines, CancellationToken ct = default)
    {
        if (lines.Count == 0)
        {
            return;
        }

        await using var db = await dbFactory.CreateDbContextAsync(ct);
        db.LogEvents.AddRange(lines);
        await db.SaveChangesAsync(ct);
        await events.PublishAsync(new JobLogAppended(lines[0].JobId, lines[0].Attempt, lines.Count));
    }

    /// <summary>Lines of one attempt after <paramref name="afterId"/>, oldest first.</summary>
    public async Task<IReadOnlyList<LogEvent>> ReadAsync(string jobId, int attempt, long afterId = 0, int limit = 10_000, CancellationToken ct = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        return await db.LogEvents.AsNoTracking()
            .Where(l => l.JobId == jobId && l.Attempt == attempt && l.Id > afterId)
            .OrderBy(l => l.Id)
            .Take(limit)
            .ToListAsync(ct);
    }

    /// <summary>The attempt a log stream belongs to (streams are named when an attempt starts running).</summary>
    public async Task<LogStreamInfo?> FindStreamAsync(string logStreamName, CancellationToken ct = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var attempt = await db.JobAttempts.AsNoTracking()
            .Where(a => a.LogStreamName == logStreamName)
            .Select(a => new { a.JobId, a.Number, a.StartedAt })
            .FirstOrDefaultAsync(ct);
        return attempt is null ? null : await DescribeAsync(db, logStreamName, attempt.JobId, attempt.Number, attempt.StartedAt, ct);
    }

    /// <summary>Log streams whose name starts with <paramref name="prefix"/>, by name.</summary>
    public async Task<IReadOnlyList<LogStreamInfo>> ListStreamsAsync(string? prefix, int skip, int take, bool descending, CancellationToken ct = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var query = db.JobAttempts.AsNoTracking().Where(a => a.LogStreamName != null);
        if (!string.IsNullOrEmpty(prefix))
        {
            query = query.Where(a => a.LogStreamName!.StartsWith(prefix));
        }

        query = descending ? query.OrderByDescending(a => a.LogStreamName) : query.OrderBy(a => a.LogStreamName);
        var attempts = await query.Skip(skip).Take(take).Select(a => new { a.LogStreamName, a.JobId, a.Number, a.StartedAt }).ToListAsync(ct);
        var result = new List<LogStreamInfo>(attempts.Count);
        foreach (var a in attempts)
        {
            result.Add(await DescribeAsync(db, a.LogStreamName!, a.JobId, a.Number, a.StartedAt, ct));
        }

        return result;
    }

    /// <summary>One attempt's lines within a time range, in id order, after or before an id.</summary>
    public async Task<IReadOnlyList<LogEvent>> ReadRangeAsync(
        string jobId,
        int attempt,
        DateTimeOffset? from,
        DateTimeOffset? to,
        long? afterId,
        long? beforeId,
        int limit,
        bool fromHead,
        CancellationToken ct = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var query = db.LogEvents.AsNoTracking().Where(l => l.JobId == jobId && l.Attempt == attempt);
        if (from is { } f)
        {
            query = query.Where(l => l.Timestamp >= f);
        }

        if (to is { } t)
        {
            query = query.Where(l => l.Timestamp < t);
        }

        if (afterId is { } after)
        {
            query = query.Where(l => l.Id > after);
        }

        if (beforeId is { } before)
        {
            query = query.Where(l => l.Id < before);
        }

        if (fromHead)
        {
            return await query.OrderBy(l => l.Id).Take(limit).ToListAsync(ct);
        }

        var tail = await query.OrderByDescending(l => l.Id).Take(limit).ToListAsync(ct);
        tail.Reverse();
        return tail;
    }

    private static async Task<LogStreamInfo> DescribeAsync(BatchDbContext db, string name, string jobId, int attempt, DateTimeOffset? startedAt, CancellationToken ct)
    {
        var stats = await db.LogEvents.AsNoTracking()
            .Where(l => l.JobId == jobId && l.Attempt == attempt)
            .GroupBy(l => 1)
            .Select(g => new { First = g.Min(l => l.Timestamp), Last = g.Max(l => l.Timestamp), Bytes = g.Sum(l => (long)l.Message.Length) })
            .FirstOrDefaultAsync(ct);
        return new LogStreamInfo(name, jobId, attempt, startedAt, stats?.First, stats?.Last, stats?.Bytes ?? 0);
    }

    /// <summary>How many of an attempt's stored lines have a timestamp at or after <paramref name="since"/>.</summary>
    public async Task<int> CountSinceAsync(string jobId, int attempt, DateTimeOffset since, CancellationToken ct = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        return await db.LogEvents.AsNoTracking().CountAsync(l => l.JobId == jobId && l.Attempt == attempt && l.Timestamp >= since, ct);
    }

    public async Task<DateTimeOffset?> LastTimestampAsync(string jobId, int attempt, CancellationToken ct = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        return await db.LogEvents.AsNoTracking()
            .Where(l => l.JobId == jobId && l.Attempt == attempt)
            .OrderByDescending(l => l.Id)
            .Select(l => (DateTimeOffset?)l.Timestamp)
            .FirstOrDefaultAsync(ct);
    }
}
