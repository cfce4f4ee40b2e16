using System.Collections.Concurrent;
using BatchPortal.Engine.Domain;
using BatchPortal.Engine.Notifications;
using BatchPortal.Engine.Scheduling;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;

namespace BatchPortal.Engine.Storage;

/// <summary>
/// Jobs in the database. Every status change goes through <see cref="TryTransitionAsync"/>: the move is checked against
/// <see cref="JobTransitions"/>, written as compare-and-set on the job's version with a history row in the same
/// transaction, then logged once and published.
/// </summary>
public sealed class JobStore(
    IDbContextFactory<BatchDbContext> dbFactory,
    IJobEventPublisher events,
    DispatchSignal dispatchSignal,
    TimeProvider time,
    ILogger<JobStore> logger)
{
    private const int MaxInsertBatch = 256;
    private readonly ConcurrentQueue<PendingInsert> _inserts = new();
    private int _writingInserts;

    /// <summary>
    /// Stores a new job with its dependency edges and first history row, then publishes it. Submissions that arrive
    /// together are written together (group commit): the caller that finds no write under way writes every queued job in
    /// one transaction while the others wait for theirs. One insert touches a page of the table and of each of its nine
    /// indexes; a transaction per job wrote those pages once per job, a batch writes them once. A batch that fails is
    /// written again job by job, so each caller gets its own job's outcome (a schedule's duplicate fire time).
    /// </summary>
    public async Task AddAsync(Job job, IReadOnlyList<JobDependencyEdge>? edges = null, CancellationToken ct = default)
    {
        ct.ThrowIfCancellationRequested();
        var pending = new PendingInsert(job, edges ?? []);
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
        await events.PublishAsync(new JobStatusChanged(job.Id, job.Name, job.QueueName, job.Status, null, job.StatusReason, job.CreatedAt));
        dispatchSignal.Notify();
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
        try
        {
            await using var db = await dbFactory.CreateDbContextAsync();
            db.ChangeTracker.AutoDetectChangesEnabled = false;
            foreach (var (job, edges, _) in batch)
            {
                db.Jobs.Add(job);
                db.JobDependencyEdges.AddRange(edges);
                db.JobStatusChanges.Add(new JobStatusChange { JobId = job.Id, To = job.Status, At = job.CreatedAt });
            }

            await db.SaveChangesAsync();
        }
        catch (DbUpdateException) when (batch.Count > 1)
        {
            // One of them broke a rule of the schema: write each alone, so the error reaches only its caller.
            foreach (var one in batch)
            {
                one.Job.Seq = 0; // in case the failed batch handed out a key before it rolled back
                await WriteAsync([one]);
            }

            return;
        }
        catch (Exception ex)
        {
            foreach (var one in batch)
            {
                one.Done.TrySetException(ex);
            }

            return;
        }

        foreach (var one in batch)
        {
            one.Done.TrySetResult();
        }
    }

    private sealed record PendingInsert(Job Job, IReadOnlyList<JobDependencyEdge> Edges, TaskCompletionSource Done)
    {
        public PendingInsert(Job job, IReadOnlyList<JobDependencyEdge> edges)
            : this(job, edges, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously))
        {
        }
    }

    public async Task<Job?> GetAsync(string jobId, CancellationToken ct = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        return await db.Jobs.AsNoTracking().Include(j => j.Attempts.OrderBy(a => a.Number)).FirstOrDefaultAsync(j => j.Id == jobId, ct);
    }

    /// <summary>The jobs with these ids, with their attempts; unknown ids are left out.</summary>
    public async Task<IReadOnlyList<Job>> GetManyAsync(IReadOnlyCollection<string> jobIds, CancellationToken ct = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        return await db.Jobs.AsNoTracking().Include(j => j.Attempts.OrderBy(a => a.Number)).Where(j => jobIds.Contains(j.Id)).ToListAsync(ct);
    }

    /// <summary>RUNNABLE jobs of a queue in dispatch order (first in, first out).</summary>
    public async Task<IReadOnlyList<Job>> FrontOfQueueAsync(string queue, int limit, CancellationToken ct = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        return await db.Jobs.AsNoTracking().Where(j => j.QueueName == queue && j.Status == JobStatus.Runnable).OrderBy(j => j.Seq).Take(limit).ToListAsync(ct);
    }

    public async Task<IReadOnlyList<JobStatusChange>> GetHistoryAsync(string jobId, CancellationToken ct = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        return await db.JobStatusChanges.AsNoTracking().Where(h => h.JobId == jobId).OrderBy(h => h.Id).ToListAsync(ct);
    }

    public async Task<JobPage> FindAsync(JobFilter filter, PageRequest page, CancellationToken ct = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var query = Apply(db.Jobs.AsNoTracking(), filter);
        if (page.BeforeSeq is { } before)
        {
            query = query.Where(j => j.Seq < before);
        }

        var items = await query.OrderByDescending(j => j.Seq).Take(page.Size + 1).ToListAsync(ct);
        var next = items.Count > page.Size ? items[page.Size - 1].Seq : (long?)null;
        return new JobPage(items.Take(page.Size).ToList(), next);
    }

    public async Task<int> CountAsync(JobFilter filter, CancellationToken ct = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        return await Apply(db.Jobs.AsNoTracking(), filter).CountAsync(ct);
    }

    /// <summary>The ids of every job that matches, newest first (for acting on all of them).</summary>
    public async Task<IReadOnlyList<string>> FindIdsAsync(JobFilter filter, int limit, CancellationToken ct = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        return await Apply(db.Jobs.AsNoTracking(), filter).OrderByDescending(j => j.Seq).Take(limit).Select(j => j.Id).ToListAsync(ct);
    }

    private static IQueryable<Job> Apply(IQueryable<Job> query, JobFilter filter)
    {
        if (filter.Queue is not null)
        {
            query = query.Where(j => j.QueueName == filter.Queue);
        }

        if (filter.Statuses is { Count: > 0 } statuses)
        {
            query = query.Where(j => statuses.Contains(j.Status));
        }

        if (!string.IsNullOrEmpty(filter.NamePrefix))
        {
            query = query.Where(j => j.Name.StartsWith(filter.NamePrefix));
        }

        if (filter.Name is not null)
        {
            // AWS's JOB_NAME filter ignores case ("test1 matches both Test1 and test1"), as the LIKE behind StartsWith does.
            query = query.Where(j => EF.Functions.Collate(j.Name, "NOCASE") == filter.Name);
        }

        if (filter.JobDefinition is { } definition)
        {
            var colon = definition.LastIndexOf(':');
            if (colon > 0 && int.TryParse(definition[(colon + 1)..], out var revision))
            {
                var name = definition[..colon];
                query = query.Where(j => j.JobDefinitionName == name && j.JobDefinitionRevision == revision);
            }
            else
            {
                query = query.Where(j => j.JobDefinitionName == definition);
            }
        }

        if (!string.IsNullOrEmpty(filter.JobDefinitionPrefix))
        {
            // AWS's JOB_DEFINITION filter is case-sensitive; StartsWith becomes SQLite's LIKE, which ignores ASCII case.
            var prefix = filter.JobDefinitionPrefix;
            query = query.Where(j => j.JobDefinitionName.Substring(0, prefix.Length) == prefix);
        }

        if (filter.CreatedAfter is { } after)
        {
            query = query.Where(j => j.CreatedAt > after);
        }

        if (filter.CreatedBefore is { } beforeTime)
        {
            query = query.Where(j => j.CreatedAt < beforeTime);
        }

        if (filter.ExitCode is { } exitCode)
        {
            query = query.Where(j => j.ExitCode == exitCode);
        }

        if (filter.ParentJobId is { } parent)
        {
            query = query.Where(j => j.ParentJobId == parent);
        }

        if (filter.TopLevelOnly)
        {
            query = query.Where(j => j.ParentJobId == null);
        }

        return query;
    }

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

    /// <summary>The latest failed jobs, most recently stopped first.</summary>
    public async Task<IReadOnlyList<Job>> RecentFailuresAsync(int limit, CancellationToken ct = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        return await db.Jobs.AsNoTracking()
            .Where(j => j.Status == JobStatus.Failed)
            .OrderByDescending(j => j.StoppedAt)
            .Take(limit)
            .ToListAsync(ct);
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

    /// <summary>
    /// Moves a job from <paramref name="expectedFrom"/> to <paramref name="to"/> if it is still there. <paramref name="apply"/>
    /// makes the move's other writes (attempt rows, exit code) in the same transaction.
    /// </summary>
    public async Task<TransitionResult> TryTransitionAsync(
        string jobId,
        JobStatus expectedFrom,
        JobStatus to,
        string? reason,
        Action<Job, BatchDbContext>? apply = null,
        CancellationToken ct = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var job = await db.Jobs.Include(j => j.Attempts).FirstOrDefaultAsync(j => j.Id == jobId, ct);
        if (job is null)
        {
            return TransitionResult.NotFound;
        }

        var now = time.GetUtcNow();
        var result = JobTransitions.TryTransition(job, expectedFrom, to, reason, now);
        if (result.Outcome == TransitionOutcome.Illegal)
        {
            throw new InvalidOperationException($"Illegal job transition {expectedFrom} -> {to} for job {jobId}.");
        }

        if (!result.IsApplied)
        {
            logger.TransitionNotApplied(jobId, expectedFrom, to, job.Status);
            return result;
        }

        apply?.Invoke(job, db);
        var versionRead = job.Version;
        job.Version++;
        db.JobStatusChanges.Add(new JobStatusChange { JobId = jobId, From = expectedFrom, To = to, Reason = job.StatusReason, At = now });
        try
        {
            await db.SaveChangesAsync(ct);
        }
        catch (DbUpdateException ex)
        {
            // A lost race: usually the job row's version check fails, but when the winner wrote the same other row
            // first (two placements both adding attempt N), that row's unique key fails before the job row is reached.
            var (actual, version) = await CurrentStatusAsync(jobId, ct);
            if (ex is not DbUpdateConcurrencyException && version == versionRead)
            {
                throw;
            }

            logger.TransitionNotApplied(jobId, expectedFrom, to, actual);
            return TransitionResult.NotApplied(actual);
        }

        logger.Transitioned(jobId, job.Name, expectedFrom, to, job.StatusReason);
        await events.PublishAsync(new JobStatusChanged(job.Id, job.Name, job.QueueName, to, expectedFrom, job.StatusReason, now));
        if (to is JobStatus.Runnable || to.IsFinal() || expectedFrom is JobStatus.Starting or JobStatus.Running)
        {
            dispatchSignal.Notify();
        }

        return result;
    }

    /// <summary>
    /// Moves many jobs from <paramref name="expectedFrom"/> to <paramref name="to"/> in one transaction, for the
    /// dispatcher's passes: under load a pass promotes dozens of jobs, and a transaction each (with every job read and
    /// tracked) cost more than the moves. The move is the one <see cref="JobTransitions"/> allows and
    /// <see cref="Job.ApplyTransition"/> makes, written as one UPDATE of the jobs still in <paramref name="expectedFrom"/>
    /// inside a write transaction (no other writer can come between the read and the write), with a history row each,
    /// then logged and published. Only for moves that touch no attempt: out of SUBMITTED or PENDING. Returns how many moved.
    /// </summary>
    public async Task<int> TryTransitionManyAsync(IReadOnlyCollection<string> jobIds, JobStatus expectedFrom, JobStatus to, string? reason, CancellationToken ct = default)
    {
        if (!JobTransitions.IsLegal(expectedFrom, to) || expectedFrom is not (JobStatus.Submitted or JobStatus.Pending))
        {
            throw new InvalidOperationException($"Job transition {expectedFrom} -> {to} cannot be made in bulk.");
        }

        if (jobIds.Count == 0)
        {
            return 0;
        }

        var now = time.GetUtcNow();
        var ids = jobIds.ToList();
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        await using var tx = await db.Database.BeginTransactionAsync(ct);
        var moving = await db.Jobs.AsNoTracking()
            .Where(j => ids.Contains(j.Id) && j.Status == expectedFrom)
            .Select(j => new { j.Id, j.Name, j.QueueName })
            .ToListAsync(ct);
        if (moving.Count == 0)
        {
            return 0;
        }

        var movingIds = moving.Select(m => m.Id).ToList();
        var updated = await db.Jobs.Where(j => movingIds.Contains(j.Id) && j.Status == expectedFrom).ExecuteUpdateAsync(
            set =>
            {
                set.SetProperty(j => j.Status, to).SetProperty(j => j.StatusReason, reason).SetProperty(j => j.Version, j => j.Version + 1);
                if (Job.SetsRunnableSince(to))
                {
                    set.SetProperty(j => j.RunnableSince, now);
                }

                if (Job.SetsStoppedAt(to))
                {
                    set.SetProperty(j => j.StoppedAt, now);
                }
            },
            ct);
        if (updated != moving.Count)
        {
            // Another writer moved one of them between the read and the write: undo, and settle each with its own
            // compare-and-set.
            await tx.RollbackAsync(ct);
            var one = 0;
            foreach (var id in movingIds)
            {
                one += (await TryTransitionAsync(id, expectedFrom, to, reason, ct: ct)).IsApplied ? 1 : 0;
            }

            return one;
        }

        db.JobStatusChanges.AddRange(moving.Select(m => new JobStatusChange { JobId = m.Id, From = expectedFrom, To = to, Reason = reason, At = now }));
        await db.SaveChangesAsync(ct);
        await tx.CommitAsync(ct);

        foreach (var m in moving)
        {
            logger.Transitioned(m.Id, m.Name, expectedFrom, to, reason);
            await events.PublishAsync(new JobStatusChanged(m.Id, m.Name, m.QueueName, to, expectedFrom, reason, now));
        }

        if (to is JobStatus.Runnable || to.IsFinal())
        {
            dispatchSignal.Notify();
        }

        return moving.Count;
    }

    /// <summary>
    /// Makes an array parent's children, <c>&lt;parent&gt;:&lt;index&gt;</c>, each RUNNABLE or (SEQUENTIAL, N_TO_N) PENDING with
    /// its edges, in one transaction. A SUBMITTED parent moves to PENDING with them. Returns false when another writer
    /// spawned them first.
    /// </summary>
    public async Task<bool> SpawnChildrenAsync(string parentId, CancellationToken ct = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var parent = await db.Jobs.FirstOrDefaultAsync(j => j.Id == parentId, ct);
        if (parent is not { ArraySize: { } size, ChildrenSpawned: false } || parent.Status is not (JobStatus.Submitted or JobStatus.Pending))
        {
            return false;
        }

        var now = time.GetUtcNow();
        var sequential = parent.DependsOn.Any(d => string.Equals(d.Type, "SEQUENTIAL", StringComparison.OrdinalIgnoreCase));
        var nToN = parent.DependsOn
            .Where(d => string.Equals(d.Type, "N_TO_N", StringComparison.OrdinalIgnoreCase) && d.JobId is not null)
            .Select(d => Arns.NameFrom(d.JobId!, "job"))
            .ToList();

        db.ChangeTracker.AutoDetectChangesEnabled = false;
        await using var tx = await db.Database.BeginTransactionAsync(ct);
        for (var i = 0; i < size; i++)
        {
            var childId = $"{parent.Id}:{i}";
            var waits = new List<string>(nToN.Select(a => $"{a}:{i}"));
            if (sequential && i > 0)
            {
                waits.Add($"{parent.Id}:{i - 1}");
            }

            var child = new Job
            {
                Id = childId,
                Name = parent.Name,
                QueueName = parent.QueueName,
                JobDefinitionName = parent.JobDefinitionName,
                JobDefinitionRevision = parent.JobDefinitionRevision,
                CreatedAt = now,
                Container = parent.Container,
                Vcpus = parent.Vcpus,
                MemoryMiB = parent.MemoryMiB,
                Parameters = parent.Parameters,
                RetryStrategy = parent.RetryStrategy,
                Timeout = parent.Timeout,
                ArrayIndex = i,
                ParentJobId = parent.Id,
            };
            var status = waits.Count > 0 ? JobStatus.Pending : JobStatus.Runnable;
            child.StartAs(status, now);
            db.Jobs.Add(child);
            db.JobStatusChanges.Add(new JobStatusChange { JobId = childId, To = status, At = now });
            foreach (var target in waits)
            {
                db.JobDependencyEdges.Add(new JobDependencyEdge { JobId = childId, DependsOnJobId = target });
            }
        }

        var from = parent.Status;
        parent.ChildrenSpawned = true;
        parent.Version++;
        if (from == JobStatus.Submitted)
        {
            JobTransitions.TryTransition(parent, JobStatus.Submitted, JobStatus.Pending, null, now);
            db.JobStatusChanges.Add(new JobStatusChange { JobId = parent.Id, From = from, To = JobStatus.Pending, At = now });
        }

        db.ChangeTracker.DetectChanges();
        try
        {
            await db.SaveChangesAsync(ct);
            await tx.CommitAsync(ct);
        }
        catch (DbUpdateConcurrencyException)
        {
            return false;
        }

        if (from == JobStatus.Submitted)
        {
            logger.Transitioned(parent.Id, parent.Name, from, JobStatus.Pending, null);
            await events.PublishAsync(new JobStatusChanged(parent.Id, parent.Name, parent.QueueName, JobStatus.Pending, from, null, now));
        }

        dispatchSignal.Notify();
        return true;
    }

    /// <summary>
    /// PENDING jobs that wait for a job that FAILED: they fail too, without running. An N_TO_N edge names a child
    /// (<c>&lt;parent&gt;:&lt;index&gt;</c>) that exists only once its array has spawned; an array that failed before that
    /// (cancelled, or its own dependency failed) never makes it, so the edge counts as failed.
    /// </summary>
    public async Task<IReadOnlyList<string>> PendingWithFailedDependencyAsync(int limit, CancellationToken ct = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        // The array parent of an N_TO_N edge is looked up by its id (the part before the colon), through the primary key:
        // matching every FAILED job against the edge with LIKE took tens of seconds per pass with 10,000 failed jobs.
        var failedUnspawned = db.Jobs.Where(p => p.Status == JobStatus.Failed && p.ArraySize != null && !p.ChildrenSpawned);
        return await db.Jobs.AsNoTracking()
            .Where(j => j.Status == JobStatus.Pending && !(j.ArraySize != null && j.ChildrenSpawned))
            .Where(j => db.JobDependencyEdges.Any(e => e.JobId == j.Id
                && (db.Jobs.Any(d => d.Id == e.DependsOnJobId && d.Status == JobStatus.Failed)
                    || (e.DependsOnJobId.Contains(':')
                        && failedUnspawned.Any(p => p.Id == e.DependsOnJobId.Substring(0, e.DependsOnJobId.IndexOf(':')))))))
            .OrderBy(j => j.Seq)
            .Select(j => j.Id)
            .Take(limit)
            .ToListAsync(ct);
    }

    /// <summary>PENDING jobs whose every dependency exists and has SUCCEEDED (array parents not yet spawned included).</summary>
    public async Task<IReadOnlyList<(string Id, bool IsArrayParent)>> PendingReadyAsync(int limit, CancellationToken ct = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var rows = await db.Jobs.AsNoTracking()
            .Where(j => j.Status == JobStatus.Pending && !(j.ArraySize != null && j.ChildrenSpawned))
            .Where(j => !db.JobDependencyEdges.Any(e => e.JobId == j.Id && !db.Jobs.Any(d => d.Id == e.DependsOnJobId && d.Status == JobStatus.Succeeded)))
            .OrderBy(j => j.Seq)
            .Select(j => new { j.Id, j.ArraySize })
            .Take(limit)
            .ToListAsync(ct);
        return [.. rows.Select(r => (r.Id, r.ArraySize != null))];
    }

    /// <summary>Spawned array parents whose children have all finished, with whether every child succeeded.</summary>
    public async Task<IReadOnlyList<(string Id, bool AllSucceeded)>> FinishedArrayParentsAsync(CancellationToken ct = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var rows = await db.Jobs.AsNoTracking()
            .Where(p => p.Status == JobStatus.Pending && p.ArraySize != null && p.ChildrenSpawned)
            .Where(p => !db.Jobs.Any(c => c.ParentJobId == p.Id && c.Status != JobStatus.Succeeded && c.Status != JobStatus.Failed))
            .Select(p => new { p.Id, AnyFailed = db.Jobs.Any(c => c.ParentJobId == p.Id && c.Status == JobStatus.Failed) })
            .ToListAsync(ct);
        return [.. rows.Select(r => (r.Id, !r.AnyFailed))];
    }

    /// <summary>An array parent's children counted by status (AWS's <c>statusSummary</c>).</summary>
    public async Task<IReadOnlyDictionary<JobStatus, int>> ArraySummaryAsync(string parentId, CancellationToken ct = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var rows = await db.Jobs.AsNoTracking()
            .Where(c => c.ParentJobId == parentId)
            .GroupBy(c => c.Status)
            .Select(g => new { Status = g.Key, Count = g.Count() })
            .ToListAsync(ct);
        return rows.ToDictionary(r => r.Status, r => r.Count);
    }

    /// <summary>An array parent's children in index order (for the array grid), from <paramref name="fromIndex"/>.</summary>
    public async Task<IReadOnlyList<(int Index, string Id, JobStatus Status)>> ArrayChildrenAsync(string parentId, int fromIndex, int take, CancellationToken ct = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var rows = await db.Jobs.AsNoTracking()
            .Where(c => c.ParentJobId == parentId && c.ArrayIndex >= fromIndex)
            .OrderBy(c => c.ArrayIndex)
            .Take(take)
            .Select(c => new { c.ArrayIndex, c.Id, c.Status })
            .ToListAsync(ct);
        return [.. rows.Select(r => (r.ArrayIndex!.Value, r.Id, r.Status))];
    }

    /// <summary>The non-final children of an array parent.</summary>
    public async Task<IReadOnlyList<(string Id, JobStatus Status)>> ActiveChildrenAsync(string parentId, CancellationToken ct = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var rows = await db.Jobs.AsNoTracking()
            .Where(c => c.ParentJobId == parentId && c.Status != JobStatus.Succeeded && c.Status != JobStatus.Failed)
            .Select(c => new { c.Id, c.Status })
            .ToListAsync(ct);
        return [.. rows.Select(r => (r.Id, r.Status))];
    }

    /// <summary>The jobs this job waits for, and the jobs that wait for it.</summary>
    public async Task<(IReadOnlyList<(string Id, JobStatus Status)> DependsOn, IReadOnlyList<(string Id, JobStatus Status)> Dependents)> DependenciesAsync(string jobId, CancellationToken ct = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var on = await (from e in db.JobDependencyEdges
                        where e.JobId == jobId
                        join d in db.Jobs on e.DependsOnJobId equals d.Id into ds
                        from d in ds.DefaultIfEmpty()
                        select new { e.DependsOnJobId, Status = d == null ? (JobStatus?)null : d.Status }).ToListAsync(ct);
        var by = await (from e in db.JobDependencyEdges
                        where e.DependsOnJobId == jobId
                        join d in db.Jobs on e.JobId equals d.Id
                        select new { d.Id, d.Status }).Take(200).ToListAsync(ct);
        return ([.. on.Select(x => (x.DependsOnJobId, x.Status ?? JobStatus.Submitted))], [.. by.Select(x => (x.Id, x.Status))]);
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

    /// <summary>
    /// Records why RUNNABLE jobs still wait, each when its reason changed, in one write transaction: one UPDATE per distinct
    /// reason (a backlog mostly shares one). Not a transition: no history row. A job no longer RUNNABLE is left alone.
    /// </summary>
    public async Task SetWaitReasonsAsync(IReadOnlyCollection<(string JobId, string Reason)> reasons, CancellationToken ct = default)
    {
        if (reasons.Count == 0)
        {
            return;
        }

        var changed = new List<JobStatusChanged>();
        var now = time.GetUtcNow();
        await using (var db = await dbFactory.CreateDbContextAsync(ct))
        {
            await using var tx = await db.Database.BeginTransactionAsync(ct);
            foreach (var group in reasons.GroupBy(r => r.Reason, r => r.JobId, StringComparer.Ordinal))
            {
                var reason = group.Key;
                var ids = group.Distinct(StringComparer.Ordinal).ToList();
                var rows = await db.Jobs.AsNoTracking()
                    .Where(j => ids.Contains(j.Id) && j.Status == JobStatus.Runnable && (j.StatusReason == null || j.StatusReason != reason))
                    .Select(j => new { j.Id, j.Name, j.QueueName })
                    .ToListAsync(ct);
                if (rows.Count == 0)
                {
                    continue;
                }

                var rowIds = rows.Select(r => r.Id).ToList();
                var updated = await db.Jobs.Where(j => rowIds.Contains(j.Id) && j.Status == JobStatus.Runnable).ExecuteUpdateAsync(
                    set => set.SetProperty(j => j.StatusReason, reason).SetProperty(j => j.Version, j => j.Version + 1), ct);
                if (updated != rows.Count)
                {
                    // Another writer moved one of them meanwhile: leave all as they are; the next pass looks again.
                    await tx.RollbackAsync(ct);
                    return;
                }

                changed.AddRange(rows.Select(r => new JobStatusChanged(r.Id, r.Name, r.QueueName, JobStatus.Runnable, JobStatus.Runnable, reason, now)));
            }

            await tx.CommitAsync(ct);
        }

        foreach (var change in changed)
        {
            await events.PublishAsync(change);
        }
    }

    /// <summary>Records on a spawned array parent that it was cancelled or terminated, so its final state carries the reason.</summary>
    public Task<bool> FlagArrayParentStoppedAsync(string parentId, bool terminated, string reason, CancellationToken ct = default) =>
        FlagAsync(parentId, JobStatus.Pending, j => j.ArraySize != null, j =>
        {
            j.IsCancelled |= !terminated;
            j.IsTerminated |= terminated;
            j.TerminationReason = reason;
        }, ct);

    /// <summary>Flags a RUNNING job whose attempt ran out of time; false when it is no longer running.</summary>
    public Task<bool> MarkTimedOutAsync(string jobId, CancellationToken ct = default) =>
        FlagAsync(jobId, JobStatus.Running, _ => true, j => j.TimedOut = true, ct);

    /// <summary>Flags a RUNNING job as being terminated, so that its stop is not taken for a failure to retry.</summary>
    public Task<bool> MarkTerminatingAsync(string jobId, string reason, CancellationToken ct = default) =>
        FlagAsync(jobId, JobStatus.Running, _ => true, j =>
        {
            j.IsTerminated = true;
            j.TerminationReason = reason;
        }, ct);

    /// <summary>
    /// Sets flags on a job that is (still) in <paramref name="status"/>, compare-and-set on its version; not a
    /// transition, so no history row. False when the job moved on or another writer came first.
    /// </summary>
    private async Task<bool> FlagAsync(string jobId, JobStatus status, Func<Job, bool> applies, Action<Job> set, CancellationToken ct)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var job = await db.Jobs.FirstOrDefaultAsync(j => j.Id == jobId && j.Status == status, ct);
        if (job is null || !applies(job))
        {
            return false;
        }

        set(job);
        job.Version++;
        try
        {
            await db.SaveChangesAsync(ct);
            return true;
        }
        catch (DbUpdateConcurrencyException)
        {
            return false;
        }
    }

    private async Task<(JobStatus Status, long Version)> CurrentStatusAsync(string jobId, CancellationToken ct)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var row = await db.Jobs.Where(j => j.Id == jobId).Select(j => new { j.Status, j.Version }).FirstAsync(ct);
        return (row.Status, row.Version);
    }
}
