using System.ComponentModel.DataAnnotations;
using BatchPortal.Engine.Domain;
using Hangfire;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace BatchPortal.Engine.Storage;

/// <summary>How long finished jobs are kept (section <c>Engine:Retention</c>). AWS keeps them at least 7 days.</summary>
public sealed class RetentionOptions
{
    public const string Section = "Engine:Retention";

    [Range(typeof(TimeSpan), "00:01:00", "3650.00:00:00", ErrorMessage = "Engine:Retention:FinishedJobs must be between 1 minute and 10 years.")]
    public TimeSpan FinishedJobs { get; set; } = TimeSpan.FromDays(30);

    /// <summary>The purge's cron (Hangfire recurring job); hourly by default.</summary>
    [Required(AllowEmptyStrings = false, ErrorMessage = "Engine:Retention:PurgeCron is required, e.g. 0 * * * *.")]
    public string PurgeCron { get; set; } = "0 * * * *";
}

/// <summary>
/// Deletes finished jobs older than the retention, with their attempts, status history, logs and dependency edges.
/// Array children go with their parent; jobs still waited for by an unfinished job are kept.
/// </summary>
public sealed class RetentionPurge(
    IDbContextFactory<BatchDbContext> dbFactory,
    IOptions<RetentionOptions> options,
    TimeProvider time,
    ILogger<RetentionPurge> logger)
{
    public const string RecurringJobId = "retention:purge";
    private const int Batch = 1_000;

    [AutomaticRetry(Attempts = 0, OnAttemptsExceeded = AttemptsExceededAction.Delete)]
    [DisableConcurrentExecution(600)]
    public async Task<int> PurgeAsync(CancellationToken ct)
    {
        var cutoff = time.GetUtcNow() - options.Value.FinishedJobs;
        var total = 0;
        while (true)
        {
            await using var db = await dbFactory.CreateDbContextAsync(ct);
            var ids = await db.Jobs.AsNoTracking()
                .Where(j => (j.Status == JobStatus.Succeeded || j.Status == JobStatus.Failed) && j.StoppedAt < cutoff && j.ParentJobId == null)
                .Where(j => !db.JobDependencyEdges.Any(e => e.DependsOnJobId == j.Id && db.Jobs.Any(w => w.Id == e.JobId && w.Status != JobStatus.Succeeded && w.Status != JobStatus.Failed)))
                .OrderBy(j => j.Seq)
                .Select(j => j.Id)
                .Take(Batch)
                .ToListAsync(ct);
            if (ids.Count == 0)
            {
                break;
            }

            var children = await db.Jobs.AsNoTracking().Where(j => j.ParentJobId != null && ids.Contains(j.ParentJobId)).Select(j => j.Id).ToListAsync(ct);
            var all = ids.Concat(children).ToList();
            await using var tx = await db.Database.BeginTransactionAsync(ct);
            foreach (var chunk in all.Chunk(500))
            {
                await db.LogEvents.Where(l => chunk.Contains(l.JobId)).ExecuteDeleteAsync(ct);
                await db.JobStatusChanges.Where(h => chunk.Contains(h.JobId)).ExecuteDeleteAsync(ct);
                await db.JobAttempts.Where(a => chunk.Contains(a.JobId)).ExecuteDeleteAsync(ct);
                await db.JobDependencyEdges.Where(e => chunk.Contains(e.JobId)).ExecuteDeleteAsync(ct);
                await db.Jobs.Where(j => chunk.Contains(j.Id)).ExecuteDeleteAsync(ct);
            }

            await tx.CommitAsync(ct);
            total += all.Count;
        }

        if (total > 0)
        {
            logger.LogInformation("Retention purged {Count} finished jobs that stopped before {Cutoff:u}", total, cutoff);
        }

        return total;
    }
}

/// <summary>Registers the purge as a Hangfire recurring job at start.</summary>
internal sealed class RetentionRegistration(IRecurringJobManager recurring, IOptions<RetentionOptions> options) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        recurring.AddOrUpdate<RetentionPurge>(RetentionPurge.RecurringJobId, x => x.PurgeAsync(CancellationToken.None), options.Value.PurgeCron);
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
