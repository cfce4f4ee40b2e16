using System.Collections.Concurrent;
using BatchPortal.Engine.Domain;
using BatchPortal.Engine.Notifications;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;

namespace BatchPortal.Engine.Storage;

/// <summary>A dependency named at submission no longer exists when the job is written (the retention purge took it).</summary>
public sealed class DependencyGoneException(string jobId, string dependencyId)
    : Exception($"Job {dependencyId} does not exist (any more): job {jobId} cannot depend on it.")
{
    public string DependencyId { get; } = dependencyId;
}

/// <summary>
/// A job queue or a job definition changed between a submission's check and its write (a newer revision of a definition
/// named without one included): the caller checks the submission again against what is stored.
/// </summary>
public sealed class SubmissionBasisChangedException(string jobId)
    : Exception($"The job queue or job definition of job {jobId} changed while it was submitted.");

/// <summary>
/// What a new job was checked against: the catalog token (<see cref="BatchDbContext.CatalogTokenName"/>) read before its
/// queue and its definition were, null when no queue or definition was ever changed.
/// </summary>
public sealed record SubmissionBasis(string? CatalogToken);

/// <summary>
/// Writes new jobs. Submissions that arrive together are written together (group commit): the caller that finds no write
/// under way writes every queued job in one transaction while the others wait for theirs. One insert touches a page of the
/// table and of each of its indexes; a transaction per job wrote those pages once per job, a batch writes them once. A
/// batch that fails is written again job by job, so each caller gets its own job's outcome (a schedule's duplicate fire
/// time, a dependency that is gone).
/// </summary>
public sealed class JobSubmissions(IDbContextFactory<BatchDbContext> dbFactory, IEnumerable<IJobTransitionObserver> observers, ILogger<JobSubmissions> logger)
{
    private const int MaxInsertBatch = 256;
    private readonly IJobTransitionObserver[] _observers = [.. observers];
    private readonly ConcurrentQueue<PendingInsert> _inserts = new();
    private int _writingInserts;

    /// <summary>Runs before each write, after the submission was checked: lets a test act at the worst moment.</summary>
    internal Func<Task>? BeforeWrite { get; set; }

    /// <summary>
    /// Stores a new job with its dependency edges and history (SUBMITTED, and PENDING when it waits), then hands it to the
    /// observers. How many of its dependencies it waits for is counted inside the write, so that none can finish unseen in
    /// between; a dependency that no longer exists fails the submission with <see cref="DependencyGoneException"/>. With a
    /// <paramref name="basis"/>, the job is written only if its queue and definition are still as the submission read
    /// them; otherwise <see cref="SubmissionBasisChangedException"/>.
    /// </summary>
    public async Task AddAsync(Job job, IReadOnlyList<JobDependencyEdge>? edges = null, SubmissionBasis? basis = null, Access.AuditEntry? audit = null, CancellationToken ct = default)
    {
        ct.ThrowIfCancellationRequested();
        var pending = new PendingInsert(job, edges ?? [], basis, audit);
        _inserts.Enqueue(pending);

        // Re-checked after the release: a job queued while the last writer finished is not left behind.
        while (!_inserts.IsEmpty && Interlocked.CompareExchange(ref _writingInserts, 1, 0) == 0)
        {
            try
            {
                while (Drain() is { Count: > 0 } batch)
                {
                    await WriteAsync(batch);
                }
            }
            finally
            {
                Volatile.Write(ref _writingInserts, 0);
            }
        }

        // Once queued the job is written whatever the caller does meanwhile, as a request that reached AWS may succeed.
        await pending.Done.Task;
        List<JobStatusChanged> changes = [new(job.Id, job.Name, job.QueueName, JobStatus.Submitted, null, null, job.CreatedAt)];
        if (job.Status == JobStatus.Pending)
        {
            logger.Transitioned(job.Id, job.Name, JobStatus.Submitted, JobStatus.Pending, null);
            changes.Add(new(job.Id, job.Name, job.QueueName, JobStatus.Pending, JobStatus.Submitted, null, job.CreatedAt));
        }

        foreach (var observer in _observers)
        {
            await observer.OnAppliedAsync(changes);
        }
    }

    private List<PendingInsert> Drain()
    {
        var batch = new List<PendingInsert>();
        while (batch.Count < MaxInsertBatch && _inserts.TryDequeue(out var next))
        {
            batch.Add(next);
        }

        return batch;
    }

    private async Task WriteAsync(List<PendingInsert> batch)
    {
        var written = new List<PendingInsert>(batch.Count);
        try
        {
            if (BeforeWrite is { } hook)
            {
                await hook();
            }

            await using var db = await dbFactory.CreateDbContextAsync();
            db.ChangeTracker.AutoDetectChangesEnabled = false;
            await using var tx = await db.Database.BeginTransactionAsync();

            var targets = await TargetsAsync(db, batch);
            var token = await CatalogTokenAsync(db, batch);
            foreach (var one in batch)
            {
                if (one.Basis is { } basis && basis.CatalogToken != token)
                {
                    one.Done.TrySetException(new SubmissionBasisChangedException(one.Job.Id));
                    continue;
                }

                if (Count(one, targets) is { } gone)
                {
                    one.Done.TrySetException(gone);
                    continue;
                }

                db.Jobs.Add(one.Job);
                db.JobDependencyEdges.AddRange(one.Edges);
                if (one.Audit is { } entry)
                {
                    // In the job's own write: a job stored is a submission recorded.
                    db.AuditEntries.Add(entry);
                }

                db.JobStatusChanges.Add(new JobStatusChange { JobId = one.Job.Id, To = JobStatus.Submitted, At = one.Job.CreatedAt });
                if (one.Job.Status == JobStatus.Pending)
                {
                    db.JobStatusChanges.Add(new JobStatusChange { JobId = one.Job.Id, From = JobStatus.Submitted, To = JobStatus.Pending, At = one.Job.CreatedAt });
                }

                written.Add(one);
            }

            await db.SaveChangesAsync();
            await tx.CommitAsync();
        }
        catch (DbUpdateException) when (written.Count > 1)
        {
            // One of them broke a rule of the schema: write each alone, so the error reaches only its caller.
            foreach (var one in written)
            {
                one.Job.Seq = 0; // in case the failed batch handed out a key before it rolled back
                if (one.Audit is { } entry)
                {
                    entry.Id = 0;
                }

                one.Job.WaitsFor = 0;
                one.Job.WaitFailed = false;
                one.Job.StartAs(JobStatus.Submitted, one.Job.CreatedAt);
                await WriteAsync([one]);
            }

            return;
        }
        catch (Exception ex)
        {
            foreach (var one in written.Count > 0 ? written : batch)
            {
                one.Done.TrySetException(ex);
            }

            return;
        }

        foreach (var one in written)
        {
            one.Done.TrySetResult();
        }
    }

    /// <summary>The status of every job the batch depends on, read inside the write transaction.</summary>
    private static async Task<Dictionary<string, JobStatus>> TargetsAsync(BatchDbContext db, List<PendingInsert> batch)
    {
        var ids = batch.SelectMany(b => b.Edges).Select(e => e.DependsOnJobId).Distinct(StringComparer.Ordinal).ToList();
        var statuses = new Dictionary<string, JobStatus>(StringComparer.Ordinal);
        foreach (var chunk in ids.Chunk(500))
        {
            foreach (var row in await db.Jobs.AsNoTracking().Where(j => chunk.Contains(j.Id)).Select(j => new { j.Id, j.Status }).ToListAsync())
            {
                statuses[row.Id] = row.Status;
            }
        }

        return statuses;
    }

    /// <summary>
    /// The catalog token as stored now, read once per batch: a submission that read another one may have been checked
    /// against a queue or definition that has changed since. Not read when no job of the batch carries a basis.
    /// </summary>
    private static async Task<string?> CatalogTokenAsync(BatchDbContext db, List<PendingInsert> batch) =>
        batch.All(b => b.Basis is null)
            ? null
            : await db.EngineSettings.AsNoTracking()
                .Where(s => s.Name == BatchDbContext.CatalogTokenName)
                .Select(s => s.Value)
                .FirstOrDefaultAsync();

    /// <summary>
    /// Counts what the job waits for, and so where it starts: PENDING when it waits (or a dependency already failed),
    /// SUBMITTED otherwise, for the dispatcher to make RUNNABLE or spawn. Returns the error when a dependency is gone.
    /// </summary>
    private static DependencyGoneException? Count(PendingInsert one, Dictionary<string, JobStatus> targets)
    {
        one.Job.WaitsFor = 0;
        one.Job.WaitFailed = false;
        foreach (var edge in one.Edges)
        {
            if (!targets.TryGetValue(edge.DependsOnJobId, out var status))
            {
                return new DependencyGoneException(one.Job.Id, edge.DependsOnJobId);
            }

            if (!status.IsFinal())
            {
                one.Job.WaitsFor++;
            }
            else if (status == JobStatus.Failed)
            {
                one.Job.WaitFailed = true;
            }
        }

        // A job that waits is written PENDING at once, with both history rows, as the dispatcher would have moved it on
        // its next pass: that second write of every dependent took the write lock the submissions needed.
        one.Job.StartAs(one.Job.WaitsFor > 0 || one.Job.WaitFailed ? JobStatus.Pending : JobStatus.Submitted, one.Job.CreatedAt);
        return null;
    }

    private sealed record PendingInsert(Job Job, IReadOnlyList<JobDependencyEdge> Edges, SubmissionBasis? Basis, Access.AuditEntry? Audit, TaskCompletionSource Done)
    {
        public PendingInsert(Job job, IReadOnlyList<JobDependencyEdge> edges, SubmissionBasis? basis, Access.AuditEntry? audit)
            : this(job, edges, basis, audit, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously))
        {
        }
    }
}
