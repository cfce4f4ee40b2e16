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

/// <summary>A line FilterLogEvents found, with its stream.</summary>
public sealed record FilteredEvent(string Stream, long Id, DateTimeOffset Timestamp, string Message);

/// <summary>One page of FilterLogEvents, and where the next one starts.</summary>
public sealed record FilterPage(IReadOnlyList<FilteredEvent> Events, long LastExaminedId, bool Complete);

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
            .Select(a => new StreamRow(a.LogStreamName!, a.JobId, a.Number, a.StartedAt, a.LogBytes, a.LogCursorNanos))
            .FirstOrDefaultAsync(ct);
        return attempt is null ? null : await DescribeAsync(db, attempt, ct);
    }

    /// <summary>
    /// Log streams, by name (those starting with <paramref name="prefix"/>) or by the time of their latest event, as
    /// DescribeLogStreams orders them. Each stream's size and last event come from its attempt's record, not from its lines.
    /// </summary>
    public async Task<IReadOnlyList<LogStreamInfo>> ListStreamsAsync(string? prefix, int skip, int take, bool descending, bool byLastEventTime = false, CancellationToken ct = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var query = db.JobAttempts.AsNoTracking().Where(a => a.LogStreamName != null);
        if (!string.IsNullOrEmpty(prefix))
        {
            query = query.Where(a => a.LogStreamName!.StartsWith(prefix));
        }

        query = byLastEventTime
            ? (descending ? query.OrderByDescending(a => a.LogCursorNanos).ThenByDescending(a => a.Id) : query.OrderBy(a => a.LogCursorNanos).ThenBy(a => a.Id))
            : (descending ? query.OrderByDescending(a => a.LogStreamName) : query.OrderBy(a => a.LogStreamName));
        var attempts = await query.Skip(skip).Take(take)
            .Select(a => new StreamRow(a.LogStreamName!, a.JobId, a.Number, a.StartedAt, a.LogBytes, a.LogCursorNanos))
            .ToListAsync(ct);
        var result = new List<LogStreamInfo>(attempts.Count);
        foreach (var a in attempts)
        {
            result.Add(await DescribeAsync(db, a, ct));
        }

        return result;
    }

    /// <summary>
    /// One page of FilterLogEvents: the lines of the given streams (by name, or every stream whose name starts with
    /// <paramref name="prefix"/>) stored after <paramref name="afterId"/>, in the order they were stored, that
    /// <paramref name="matches"/> accepts. It stops at <paramref name="limit"/> events, at <paramref name="maxBytes"/> of
    /// them, or after examining <paramref name="scanBudget"/> lines, whichever comes first; <see cref="FilterPage.LastExaminedId"/>
    /// says where the next page starts, and <see cref="FilterPage.Complete"/> whether nothing is left.
    /// </summary>
    public async Task<FilterPage> FilterAsync(
        IReadOnlyCollection<string>? streamNames,
        string? prefix,
        long afterId,
        DateTimeOffset? from,
        DateTimeOffset? to,
        Func<string, bool> matches,
        int limit,
        long maxBytes,
        int scanBudget,
        CancellationToken ct = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var attempts = db.JobAttempts.AsNoTracking().Where(a => a.LogStreamName != null);
        if (streamNames is { Count: > 0 })
        {
            attempts = attempts.Where(a => streamNames.Contains(a.LogStreamName!));
        }
        else if (!string.IsNullOrEmpty(prefix))
        {
            attempts = attempts.Where(a => a.LogStreamName!.StartsWith(prefix));
        }

        var lines = from l in db.LogEvents.AsNoTracking()
                    join a in attempts on new { l.JobId, Number = l.Attempt } equals new { a.JobId, a.Number }
                    where l.Id > afterId
                    select new { l.Id, l.Timestamp, l.Message, Stream = a.LogStreamName! };
        if (from is { } f)
        {
            lines = lines.Where(l => l.Timestamp >= f);
        }

        if (to is { } t)
        {
            lines = lines.Where(l => l.Timestamp < t);
        }

        var found = new List<FilteredEvent>();
        long bytes = 0;
        var last = afterId;
        var examined = 0;
        await foreach (var line in lines.OrderBy(l => l.Id).Take(scanBudget).AsAsyncEnumerable().WithCancellation(ct))
        {
            examined++;
            if (matches(line.Message))
            {
                var size = EventSize(line.Message);
                if (found.Count == limit || (found.Count > 0 && bytes + size > maxBytes))
                {
                    return new FilterPage(found, last, Complete: false);
                }

                bytes += size;
                found.Add(new FilteredEvent(line.Stream, line.Id, line.Timestamp, line.Message));
            }

            last = line.Id;
        }

        return new FilterPage(found, last, Complete: examined < scanBudget);
    }

    /// <summary>What an event counts against CloudWatch's 1 MB per answer: its UTF-8 bytes and 26 bytes of overhead.</summary>
    public static long EventSize(string message) => System.Text.Encoding.UTF8.GetByteCount(message) + 26;

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

    private static async Task<LogStreamInfo> DescribeAsync(BatchDbContext db, StreamRow a, CancellationToken ct)
    {
        var first = await db.LogEvents.AsNoTracking()
            .Where(l => l.JobId == a.JobId && l.Attempt == a.Number)
            .OrderBy(l => l.Id)
            .Select(l => (DateTimeOffset?)l.Timestamp)
            .FirstOrDefaultAsync(ct);
        DateTimeOffset? last = a.CursorNanos > 0 ? DateTimeOffset.FromUnixTimeMilliseconds(a.CursorNanos / 1_000_000) : first;
        return new LogStreamInfo(a.Name, a.JobId, a.Number, a.StartedAt, first, last, a.Bytes);
    }

    private sealed record StreamRow(string Name, string JobId, int Number, DateTimeOffset? StartedAt, long Bytes, long CursorNanos);
}
