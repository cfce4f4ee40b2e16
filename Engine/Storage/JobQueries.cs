using BatchPortal.Engine.Domain;
using Microsoft.EntityFrameworkCore;

namespace BatchPortal.Engine.Storage;

/// <summary>
/// The named reads of jobs that the console, the API and the services make. Every job read goes through here (or through
/// <see cref="DispatchQueries"/> and <see cref="JobStatistics"/>), so an array child comes back with the container and
/// parameters it shares with its parent.
/// </summary>
public sealed class JobQueries(IDbContextFactory<BatchDbContext> dbFactory)
{
    public async Task<Job?> GetAsync(string jobId, CancellationToken ct = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var job = await db.Jobs.AsNoTracking().Include(j => j.Attempts.OrderBy(a => a.Number)).FirstOrDefaultAsync(j => j.Id == jobId, ct);
        if (job is not null)
        {
            await ShareParentsAsync(db, [job], ct);
        }

        return job;
    }

    /// <summary>The jobs with these ids, with their attempts; unknown ids are left out.</summary>
    public async Task<IReadOnlyList<Job>> GetManyAsync(IReadOnlyCollection<string> jobIds, CancellationToken ct = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var jobs = await db.Jobs.AsNoTracking().Include(j => j.Attempts.OrderBy(a => a.Number)).Where(j => jobIds.Contains(j.Id)).ToListAsync(ct);
        await ShareParentsAsync(db, jobs, ct);
        return jobs;
    }

    /// <summary>RUNNABLE jobs of a queue in dispatch order (first in, first out).</summary>
    public async Task<IReadOnlyList<Job>> FrontOfQueueAsync(string queue, int limit, CancellationToken ct = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var jobs = await db.Jobs.AsNoTracking().Where(j => j.QueueName == queue && j.Status == JobStatus.Runnable).OrderBy(j => j.Seq).Take(limit).ToListAsync(ct);
        await ShareParentsAsync(db, jobs, ct);
        return jobs;
    }

    public async Task<IReadOnlyList<JobStatusChange>> GetHistoryAsync(string jobId, CancellationToken ct = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        return await db.JobStatusChanges.AsNoTracking().Where(h => h.JobId == jobId).OrderBy(h => h.Id).ToListAsync(ct);
    }

    /// <summary>A page of jobs, newest first; array children on it get their parent's container in one more read.</summary>
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
        var shown = items.Take(page.Size).ToList();
        await ShareParentsAsync(db, shown, ct);
        return new JobPage(shown, next);
    }

    /// <summary>
    /// The jobs someone means by what they typed (the console's search box, a dependency picker): jobs whose id starts
    /// with it (an ARN is read as its id, an array child's <c>id:index</c> too), then top-level jobs whose name does,
    /// newest first.
    /// </summary>
    public async Task<IReadOnlyList<JobHit>> SearchAsync(string? text, int max = 10, CancellationToken ct = default)
    {
        var term = Arns.NameFrom((text ?? string.Empty).Trim(), "job");
        if (term.Length == 0)
        {
            return [];
        }

        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var byId = await db.Jobs.AsNoTracking().Where(j => j.Id.StartsWith(term)).OrderByDescending(j => j.Seq).Take(max)
            .Select(j => new JobHit(j.Id, j.Name, j.Status, j.QueueName, j.CreatedAt, j.ArraySize)).ToListAsync(ct);
        var byName = await db.Jobs.AsNoTracking().Where(j => j.ParentJobId == null && j.Name.StartsWith(term)).OrderByDescending(j => j.Seq).Take(max)
            .Select(j => new JobHit(j.Id, j.Name, j.Status, j.QueueName, j.CreatedAt, j.ArraySize)).ToListAsync(ct);
        return [.. byId.Concat(byName).DistinctBy(j => j.Id).Take(max)];
    }

    /// <summary>The most recent top-level jobs, for a picker before anything is typed.</summary>
    public async Task<IReadOnlyList<JobHit>> RecentAsync(int max = 10, CancellationToken ct = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        return await db.Jobs.AsNoTracking().Where(j => j.ParentJobId == null).OrderByDescending(j => j.Seq).Take(max)
            .Select(j => new JobHit(j.Id, j.Name, j.Status, j.QueueName, j.CreatedAt, j.ArraySize)).ToListAsync(ct);
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

    /// <summary>The jobs a schedule submitted, latest fire time first.</summary>
    public async Task<IReadOnlyList<Job>> OfScheduleAsync(string scheduleName, int limit, CancellationToken ct = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        return await db.Jobs.AsNoTracking().Where(j => j.ScheduleName == scheduleName).OrderByDescending(j => j.ScheduledFireTime).Take(limit).ToListAsync(ct);
    }

    /// <summary>How many jobs hold capacity (STARTING or RUNNING) on a compute environment.</summary>
    public async Task<int> CountHoldingCapacityAsync(string computeEnvironment, CancellationToken ct = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        return await db.Jobs.CountAsync(j => j.ComputeEnvironmentName == computeEnvironment && (j.Status == JobStatus.Starting || j.Status == JobStatus.Running), ct);
    }

    /// <summary>The ids and states of a queue's jobs that have not finished.</summary>
    public async Task<IReadOnlyList<(string Id, JobStatus Status)>> UnfinishedOfQueueAsync(string queue, CancellationToken ct = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var rows = await db.Jobs.AsNoTracking()
            .Where(j => j.QueueName == queue && j.Status != JobStatus.Succeeded && j.Status != JobStatus.Failed)
            .Select(j => new { j.Id, j.Status })
            .ToListAsync(ct);
        return [.. rows.Select(r => (r.Id, r.Status))];
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

    /// <summary>The ids and array sizes of jobs a submission names as dependencies; unknown ids are left out.</summary>
    public async Task<IReadOnlyDictionary<string, int?>> ArraySizesAsync(IReadOnlyCollection<string> jobIds, CancellationToken ct = default)
    {
        if (jobIds.Count == 0)
        {
            return new Dictionary<string, int?>();
        }

        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var rows = await db.Jobs.AsNoTracking().Where(j => jobIds.Contains(j.Id)).Select(j => new { j.Id, j.ArraySize }).ToListAsync(ct);
        return rows.ToDictionary(r => r.Id, r => r.ArraySize, StringComparer.Ordinal);
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

    /// <summary>Array children keep no copy of the container and parameters: they are read from the parent.</summary>
    internal static async Task ShareParentsAsync(BatchDbContext db, IReadOnlyCollection<Job> jobs, CancellationToken ct)
    {
        var parentIds = jobs.Where(j => j.ParentJobId is not null && j.Container is null).Select(j => j.ParentJobId!).Distinct(StringComparer.Ordinal).ToList();
        if (parentIds.Count == 0)
        {
            return;
        }

        var parents = await db.Jobs.AsNoTracking()
            .Where(p => parentIds.Contains(p.Id))
            .Select(p => new { p.Id, p.Container, p.Parameters })
            .ToDictionaryAsync(p => p.Id, StringComparer.Ordinal, ct);
        foreach (var job in jobs.Where(j => j.ParentJobId is not null && j.Container is null))
        {
            if (parents.TryGetValue(job.ParentJobId!, out var parent))
            {
                job.Container = parent.Container;
                job.Parameters = parent.Parameters;
            }
        }
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
}
