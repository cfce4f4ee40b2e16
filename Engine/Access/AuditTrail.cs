using BatchPortal.Engine.Storage;
using Microsoft.EntityFrameworkCore;

namespace BatchPortal.Engine.Access;

/// <summary>What the audit page asks for: each filter is optional; newest first, a page at a time (before an entry id).</summary>
public sealed record AuditQuery(string? Actor = null, string? Action = null, string? Target = null, DateTimeOffset? From = null, DateTimeOffset? To = null, long? Before = null, int Limit = 100);

/// <summary>
/// The record of every change: written by the engine's services as they change something (a submission in the same
/// transaction as the job; the others just after their own), read by the audit page.
/// </summary>
public sealed class AuditTrail(IDbContextFactory<BatchDbContext> dbFactory, TimeProvider time)
{
    public const int MaxLimit = 500;

    public async Task RecordAsync(Actor? by, string action, string target, string? detail = null, CancellationToken ct = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        db.AuditEntries.Add(AuditEntry.For(by ?? Actor.Engine, action, target, detail, time.GetUtcNow()));
        await db.SaveChangesAsync(CancellationToken.None);
    }

    public async Task<IReadOnlyList<AuditEntry>> QueryAsync(AuditQuery q, CancellationToken ct = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var entries = db.AuditEntries.AsNoTracking();
        if (q.Before is { } before)
        {
            entries = entries.Where(e => e.Id < before);
        }

        if (!string.IsNullOrWhiteSpace(q.Actor))
        {
            var actor = q.Actor.Trim();
            entries = entries.Where(e => EF.Functions.Like(e.Actor, actor + "%"));
        }

        if (!string.IsNullOrWhiteSpace(q.Action))
        {
            var action = q.Action.Trim();
            entries = entries.Where(e => e.Action == action);
        }

        if (!string.IsNullOrWhiteSpace(q.Target))
        {
            var target = q.Target.Trim();
            entries = entries.Where(e => EF.Functions.Like(e.Target, "%" + target + "%"));
        }

        if (q.From is { } from)
        {
            entries = entries.Where(e => e.At >= from);
        }

        if (q.To is { } to)
        {
            entries = entries.Where(e => e.At < to);
        }

        return await entries.OrderByDescending(e => e.Id).Take(Math.Clamp(q.Limit, 1, MaxLimit)).ToListAsync(ct);
    }

    /// <summary>The actions recorded so far, for the audit page's filter.</summary>
    public async Task<IReadOnlyList<string>> ActionsAsync(CancellationToken ct = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        return await db.AuditEntries.AsNoTracking().Select(e => e.Action).Distinct().OrderBy(a => a).ToListAsync(ct);
    }
}
