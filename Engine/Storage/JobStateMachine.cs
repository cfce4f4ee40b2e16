using BatchPortal.Engine.Domain;
using BatchPortal.Engine.Notifications;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;

namespace BatchPortal.Engine.Storage;

/// <summary>
/// The writer of jobs that exist: every status change goes through here. A move is checked against
/// <see cref="JobTransitions"/> and written as compare-and-set on the job's version, with a history row and the release of
/// the jobs waiting for it (<see cref="DependencyRelease"/>) in the same transaction; then it is logged once and handed to
/// the registered <see cref="IJobTransitionObserver"/>s. Callers describe a move's other writes through the job's own
/// methods (<see cref="Job.PlaceAttempt"/>, <see cref="Job.EndAttempt"/>), never through the database.
/// </summary>
public sealed class JobStateMachine(
    IDbContextFactory<BatchDbContext> dbFactory,
    IEnumerable<IJobTransitionObserver> observers,
    IEnumerable<IJobElectFilter> electFilters,
    TimeProvider time,
    ILogger<JobStateMachine> logger)
{
    private readonly IJobTransitionObserver[] _observers = [.. observers];
    private readonly IJobElectFilter[] _electFilters = [.. electFilters];

    /// <summary>
    /// Moves a job from <paramref name="expectedFrom"/> to <paramref name="to"/> if it is still there. <paramref name="apply"/>
    /// makes the move's other writes on the job (its attempts, its flags) in the same transaction.
    /// </summary>
    public Task<TransitionResult> TryTransitionAsync(
        string jobId,
        JobStatus expectedFrom,
        JobStatus to,
        string? reason,
        Action<Job>? apply = null,
        CancellationToken ct = default) =>
        MoveAsync(jobId, job => job.Status == expectedFrom ? (to, reason) : null, expectedFrom, to, apply, null, ct);

    /// <summary>
    /// Ends the job's current attempt <paramref name="attempt"/> as <paramref name="outcome"/> says: the election
    /// (<see cref="JobElection"/> with the registered filters) decides SUCCEEDED, FAILED or another attempt (RUNNABLE).
    /// Not applied when the job is no longer on that attempt, or no longer STARTING or RUNNING.
    /// </summary>
    public Task<TransitionResult> EndAttemptAsync(string jobId, int attempt, AttemptOutcome outcome, CancellationToken ct = default)
    {
        Election? election = null;
        return MoveAsync(
            jobId,
            job =>
            {
                if (job.Status != outcome.From || job.AttemptCount != attempt)
                {
                    return null;
                }

                election = JobElection.Elect(job, attempt, outcome, _electFilters);
                return (election.Value.To, election.Value.StatusReason);
            },
            outcome.From,
            null,
            job =>
            {
                job.EndAttempt(attempt, outcome, election!.Value.StatusReason);
                if (election.Value.To.IsFinal())
                {
                    job.StoppedAtOverride(outcome.StoppedAt);
                }
            },
            outcome.StoppedAt,
            ct);
    }

    private async Task<TransitionResult> MoveAsync(
        string jobId,
        Func<Job, (JobStatus To, string? Reason)?> decide,
        JobStatus expectedFrom,
        JobStatus? plannedTo,
        Action<Job>? apply,
        DateTimeOffset? at,
        CancellationToken ct)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var job = await db.Jobs.Include(j => j.Attempts).FirstOrDefaultAsync(j => j.Id == jobId, ct);
        if (job is null)
        {
            return TransitionResult.NotFound;
        }

        if (plannedTo is { } planned && !JobTransitions.IsLegal(expectedFrom, planned))
        {
            throw new InvalidOperationException($"Illegal job transition {expectedFrom} -> {planned} for job {jobId}.");
        }

        if (decide(job) is not { } move)
        {
            logger.TransitionNotApplied(jobId, expectedFrom, plannedTo ?? expectedFrom, job.Status);
            return TransitionResult.NotApplied(job.Status);
        }

        var now = time.GetUtcNow();
        var result = JobTransitions.TryTransition(job, expectedFrom, move.To, move.Reason, now);
        if (result.Outcome == TransitionOutcome.Illegal)
        {
            throw new InvalidOperationException($"Illegal job transition {expectedFrom} -> {move.To} for job {jobId}.");
        }

        apply?.Invoke(job);
        var versionRead = job.Version;
        job.Version++;
        var stamp = at ?? now;
        db.JobStatusChanges.Add(new JobStatusChange { JobId = jobId, From = expectedFrom, To = move.To, Reason = job.StatusReason, At = stamp });
        try
        {
            await using var tx = await db.Database.BeginTransactionAsync(ct);
            await db.SaveChangesAsync(ct);
            if (move.To.IsFinal())
            {
                await DependencyRelease.ApplyAsync(db, [Finished(job)], ct);
            }

            await tx.CommitAsync(ct);
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

            logger.TransitionNotApplied(jobId, expectedFrom, move.To, actual);
            return TransitionResult.NotApplied(actual);
        }

        logger.Transitioned(jobId, job.Name, expectedFrom, move.To, job.StatusReason);
        await NotifyAsync([new JobStatusChanged(job.Id, job.Name, job.QueueName, move.To, expectedFrom, job.StatusReason, stamp)]);
        return TransitionResult.Applied(expectedFrom, move.To);
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
            .Select(j => new { j.Id, j.Name, j.QueueName, j.ParentJobId, j.ArraySize, j.ChildrenSpawned })
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
        if (to.IsFinal())
        {
            await DependencyRelease.ApplyAsync(
                db,
                [.. moving.Select(m => new DependencyRelease.Finished(m.Id, m.ParentJobId, m.ArraySize != null && !m.ChildrenSpawned, to == JobStatus.Failed))],
                ct);
        }

        await tx.CommitAsync(ct);

        foreach (var m in moving)
        {
            logger.Transitioned(m.Id, m.Name, expectedFrom, to, reason);
        }

        await NotifyAsync([.. moving.Select(m => new JobStatusChanged(m.Id, m.Name, m.QueueName, to, expectedFrom, reason, now))]);
        return moving.Count;
    }

    /// <summary>
    /// Makes an array parent's children, <c>&lt;parent&gt;:&lt;index&gt;</c>, each RUNNABLE or (SEQUENTIAL, N_TO_N) PENDING with
    /// its edges, in one transaction. A SUBMITTED parent moves to PENDING with them, and from then on waits for its
    /// children. The children share the parent's container and parameters: they are stored once, on the parent. Returns
    /// false when another writer spawned them first.
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
            .Distinct(StringComparer.Ordinal)
            .ToList();

        db.ChangeTracker.AutoDetectChangesEnabled = false;
        await using var tx = await db.Database.BeginTransactionAsync(ct);

        // What the N_TO_N arrays' children are now, read inside the write transaction so that none finishes unseen.
        var targets = new Dictionary<string, JobStatus>(StringComparer.Ordinal);
        var missingArrays = new HashSet<string>(StringComparer.Ordinal);
        foreach (var array in nToN)
        {
            var exists = await db.Jobs.AnyAsync(j => j.Id == array, ct);
            if (!exists)
            {
                missingArrays.Add(array);
                continue;
            }

            var children = await db.Jobs.AsNoTracking().Where(j => j.ParentJobId == array).Select(j => new { j.Id, j.Status }).ToListAsync(ct);
            foreach (var c in children)
            {
                targets[c.Id] = c.Status;
            }
        }

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
                Container = null!, // shared: JobQueries fills it in from the parent
                Parameters = null!,
                Vcpus = parent.Vcpus,
                MemoryMiB = parent.MemoryMiB,
                RetryStrategy = parent.RetryStrategy,
                Timeout = parent.Timeout,
                Tags = new Dictionary<string, string>(parent.Tags),
                PropagateTags = parent.PropagateTags,
                SchedulingPriority = parent.SchedulingPriority,
                ArrayIndex = i,
                ParentJobId = parent.Id,
            };

            // A sibling before it has not run yet; an N_TO_N target is counted unless it has already finished.
            foreach (var target in waits)
            {
                if (target.StartsWith(parent.Id + ":", StringComparison.Ordinal))
                {
                    child.WaitsFor++;
                }
                else if (missingArrays.Contains(target[..target.LastIndexOf(':')]))
                {
                    child.WaitFailed = true;
                }
                else if (targets.TryGetValue(target, out var status) && status.IsFinal())
                {
                    child.WaitFailed |= status == JobStatus.Failed;
                }
                else
                {
                    child.WaitsFor++;
                }
            }

            var childStatus = waits.Count > 0 ? JobStatus.Pending : JobStatus.Runnable;
            child.StartAs(childStatus, now);
            db.Jobs.Add(child);
            db.JobStatusChanges.Add(new JobStatusChange { JobId = childId, To = childStatus, At = now });
            foreach (var target in waits)
            {
                db.JobDependencyEdges.Add(new JobDependencyEdge { JobId = childId, DependsOnJobId = target });
            }
        }

        var from = parent.Status;
        parent.ChildrenSpawned = true;
        parent.WaitsFor = size;
        parent.WaitFailed = false;
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
            await NotifyAsync([new JobStatusChanged(parent.Id, parent.Name, parent.QueueName, JobStatus.Pending, from, null, now)]);
        }
        else
        {
            // The children are new jobs: the dispatcher looks at them, and the pages show them.
            await NotifyAsync([new JobStatusChanged(parent.Id, parent.Name, parent.QueueName, JobStatus.Pending, JobStatus.Pending, parent.StatusReason, now)]);
        }

        return true;
    }

    /// <summary>
    /// Records why jobs stay in <paramref name="status"/> (RUNNABLE: what they wait for; RUNNING: that their engine does
    /// not answer), each only when its reason changed, in one write transaction: one UPDATE per distinct reason (a backlog
    /// mostly shares one). Not a transition: no history row. A job no longer in <paramref name="status"/> is left alone.
    /// </summary>
    public async Task SetReasonsAsync(JobStatus status, IReadOnlyCollection<(string JobId, string? Reason)> reasons, CancellationToken ct = default)
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
                    .Where(j => ids.Contains(j.Id) && j.Status == status && (reason == null ? j.StatusReason != null : j.StatusReason == null || j.StatusReason != reason))
                    .Select(j => new { j.Id, j.Name, j.QueueName })
                    .ToListAsync(ct);
                if (rows.Count == 0)
                {
                    continue;
                }

                var rowIds = rows.Select(r => r.Id).ToList();
                var updated = await db.Jobs.Where(j => rowIds.Contains(j.Id) && j.Status == status).ExecuteUpdateAsync(
                    set => set.SetProperty(j => j.StatusReason, reason).SetProperty(j => j.Version, j => j.Version + 1), ct);
                if (updated != rows.Count)
                {
                    // Another writer moved one of them meanwhile: leave all as they are; the next pass looks again.
                    await tx.RollbackAsync(ct);
                    return;
                }

                changed.AddRange(rows.Select(r => new JobStatusChanged(r.Id, r.Name, r.QueueName, status, status, reason, now)));
            }

            await tx.CommitAsync(ct);
        }

        await NotifyAsync(changed);
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
    /// <remarks>
    /// Not a move, but pages show "termination requested" with the time left before SIGKILL, so the change goes out as
    /// a RUNNING → RUNNING event with the job's reason as it stands.
    /// </remarks>
    public async Task<bool> MarkTerminatingAsync(string jobId, string reason, CancellationToken ct = default)
    {
        Job? flagged = null;
        var now = time.GetUtcNow();
        if (!await FlagAsync(jobId, JobStatus.Running, _ => true, j =>
        {
            j.IsTerminated = true;
            j.TerminationReason = reason;
            j.TerminationRequestedAt ??= now;
            flagged = j;
        }, ct))
        {
            return false;
        }

        await NotifyAsync([new JobStatusChanged(flagged!.Id, flagged.Name, flagged.QueueName, JobStatus.Running, JobStatus.Running, flagged.StatusReason, now)]);
        return true;
    }

    /// <summary>
    /// Changes an attempt's own record while the job stays where it is (e.g. that its engine stopped answering); false
    /// when the job is no longer on that attempt in one of <paramref name="statuses"/>.
    /// </summary>
    public Task<bool> UpdateAttemptAsync(string jobId, int attempt, JobStatus[] statuses, Action<JobAttempt> set, CancellationToken ct = default) =>
        FlagAsync(jobId, null, j => statuses.Contains(j.Status) && j.AttemptCount == attempt && j.Attempt(attempt) is not null, j => set(j.Attempt(attempt)!), ct, includeAttempts: true);

    /// <summary>
    /// Replaces a job's tags (TagResource / UntagResource), whatever its status. The job's version moves with every status
    /// change, so tagging a job the dispatcher is moving can lose the race; tags do not depend on the status, so the change
    /// is read and made again rather than answered with an error.
    /// </summary>
    public async Task<Result<bool>> ReplaceTagsAsync(string jobId, Func<IReadOnlyDictionary<string, string>, Result<Dictionary<string, string>>> change, CancellationToken ct = default)
    {
        for (var tries = 0; ; tries++)
        {
            await using var db = await dbFactory.CreateDbContextAsync(ct);
            var job = await db.Jobs.FirstOrDefaultAsync(j => j.Id == jobId, ct);
            if (job is null)
            {
                return new ResourceNotFound("Job", jobId);
            }

            var changed = change(job.Tags);
            if (changed.Error is { } invalid)
            {
                return invalid;
            }

            job.ReplaceTags(changed.Value!);
            job.Version++;
            try
            {
                await db.SaveChangesAsync(ct);
                return true;
            }
            catch (DbUpdateConcurrencyException) when (tries < 10)
            {
            }
        }
    }

    /// <summary>
    /// Sets flags on a job that is (still) in <paramref name="status"/>, compare-and-set on its version; not a
    /// transition, so no history row. False when the job moved on or another writer came first.
    /// </summary>
    private async Task<bool> FlagAsync(string jobId, JobStatus? status, Func<Job, bool> applies, Action<Job> set, CancellationToken ct, bool includeAttempts = false)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        IQueryable<Job> query = includeAttempts ? db.Jobs.Include(j => j.Attempts) : db.Jobs;
        var job = await query.FirstOrDefaultAsync(j => j.Id == jobId && (status == null || j.Status == status), ct);
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

    private async Task NotifyAsync(List<JobStatusChanged> changes)
    {
        if (changes.Count == 0)
        {
            return;
        }

        foreach (var observer in _observers)
        {
            try
            {
                await observer.OnAppliedAsync(changes);
            }
            catch (Exception ex)
            {
                // The change is committed; an observer that fails must not turn it into an error for the writer.
                logger.ObserverFailed(observer.GetType().Name, ex);
            }
        }
    }

    private static DependencyRelease.Finished Finished(Job job) =>
        new(job.Id, job.ParentJobId, job.IsArrayParent && !job.ChildrenSpawned, job.Status == JobStatus.Failed);

    private async Task<(JobStatus Status, long Version)> CurrentStatusAsync(string jobId, CancellationToken ct)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var row = await db.Jobs.Where(j => j.Id == jobId).Select(j => new { j.Status, j.Version }).FirstAsync(ct);
        return (row.Status, row.Version);
    }
}
