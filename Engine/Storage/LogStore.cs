using BatchPortal.Engine.Notifications;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage;

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

/// <summary>What is stored of an attempt's output: its size, whether it was cut at the cap, and the latest Docker timestamp.</summary>
public sealed record AttemptLogState(long Bytes, bool Cut, long CursorNanos);

/// <summary>The lines each attempt's container wrote, stored as they arrive so they can be read while the job runs.</summary>
public sealed class LogStore(IDbContextFactory<BatchDbContext> dbFactory, IJobEventPublisher events)
{
    /// <summary>
    /// Stores lines of an attempt and moves its record (bytes stored, the cut, the cursor) in the same transaction, so
    /// that what a read again skips is exactly what is stored.
    /// </summary>
    public async Task AppendAsync(string jobId, int attempt, IReadOnlyList<LogEvent> lines, long bytes, bool cut, CancellationToken ct = default)
    {
        if (lines.Count == 0 && !cut)
        {
            return;
        }

        var cursor = lines.Count == 0 ? 0 : lines.Max(l => l.Nanos);
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        await using var tx = await db.Database.BeginTransactionAsync(ct);
        await InsertAsync(db, lines, ct);
        await db.JobAttempts.Where(a => a.JobId == jobId && a.Number == attempt).ExecuteUpdateAsync(
            set => set
                .SetProperty(a => a.LogBytes, a => a.LogBytes + bytes)
                .SetProperty(a => a.LogCut, a => a.LogCut || cut)
                .SetProperty(a => a.LogCursorNanos, a => a.LogCursorNanos > cursor ? a.LogCursorNanos : cursor),
            ct);
        await tx.CommitAsync(ct);
        if (lines.Count > 0)
        {
            await events.PublishAsync(new JobLogAppended(jobId, attempt, lines.Count));
        }
    }

    /// <summary>
    /// One prepared INSERT run per line, in the caller's transaction. EF's change tracking cost more than the write itself
    /// (about 20,000 lines a second, so a job printing fast outran its log); a prepared statement stores several times
    /// that. Plain SQL with named parameters and quoted names, as every provider the engine runs on reads it.
    /// </summary>
    private static async Task InsertAsync(BatchDbContext db, IReadOnlyList<LogEvent> lines, CancellationToken ct)
    {
        if (lines.Count == 0)
        {
            return;
        }

        var connection = db.Database.GetDbConnection();
        await using var command = connection.CreateCommand();
        command.Transaction = db.Database.CurrentTransaction?.GetDbTransaction();
        command.CommandText =
            "INSERT INTO \"LogEvents\" (\"JobId\", \"Attempt\", \"Stream\", \"Timestamp\", \"Nanos\", \"Message\") VALUES (@job, @attempt, @stream, @timestamp, @nanos, @message)";
        var job = Add(command, "@job");
        var attempt = Add(command, "@attempt");
        var stream = Add(command, "@stream");
        var timestamp = Add(command, "@timestamp");
        var nanos = Add(command, "@nanos");
        var message = Add(command, "@message");
        await command.PrepareAsync(ct);
        foreach (var line in lines)
        {
            job.Value = line.JobId;
            attempt.Value = line.Attempt;
            stream.Value = line.Stream;
            timestamp.Value = line.Timestamp.ToUnixTimeMilliseconds();
            nanos.Value = line.Nanos;
            message.Value = line.Message;
            await command.ExecuteNonQueryAsync(ct);
        }
    }

    private static System.Data.Common.DbParameter Add(System.Data.Common.DbCommand command, string name)
    {
        var parameter = command.CreateParameter();
        parameter.ParameterName = name;
        command.Parameters.Add(parameter);
        return parameter;
    }

    /// <summary>What is stored of the attempt's output; null when the attempt does not exist.</summary>
    public async Task<AttemptLogState?> StateAsync(string jobId, int attempt, CancellationToken ct = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        return await db.JobAttempts.AsNoTracking()
            .Where(a => a.JobId == jobId && a.Number == attempt)
            .Select(a => new AttemptLogState(a.LogBytes, a.LogCut, a.LogCursorNanos))
            .FirstOrDefaultAsync(ct);
    }

    /// <summary>
    /// The (Docker timestamp, stream) of the attempt's latest stored lines at or after <paramref name="sinceNanos"/>, at
    /// most <paramref name="limit"/> of them: what a read that starts at <paramref name="sinceNanos"/> will see again.
    /// </summary>
    public async Task<IReadOnlyList<(long Nanos, string Stream)>> StoredSinceAsync(string jobId, int attempt, long sinceNanos, int limit, CancellationToken ct = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var tail = await db.LogEvents.AsNoTracking()
            .Where(l => l.JobId == jobId && l.Attempt == attempt)
            .OrderByDescending(l => l.Id)
            .Take(limit)
            .Select(l => new { l.Nanos, l.Stream })
            .ToListAsync(ct);
        return [.. tail.Where(l => l.Nanos >= sinceNanos).Select(l => (l.Nanos, l.Stream))];
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
}
