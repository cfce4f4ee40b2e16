using BatchPortal.Engine.Notifications;
using Microsoft.EntityFrameworkCore;

namespace BatchPortal.Engine.Storage;

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
