using BatchPortal.Engine.Domain;
using Microsoft.EntityFrameworkCore;

namespace BatchPortal.Engine.Storage;

/// <summary>
/// When a job finishes, the jobs waiting for it count one less to wait for (<see cref="Job.WaitsFor"/>), and learn whether it
/// failed. Runs inside the transaction of the finishing move, so a crash can never leave a waiting job uncounted; the
/// dispatcher then reads only the jobs whose wait is over, however many are waiting.
/// </summary>
internal static class DependencyRelease
{
    /// <summary>What the release needs to know of a job that reached SUCCEEDED or FAILED.</summary>
    public readonly record struct Finished(string JobId, string? ParentJobId, bool IsUnspawnedArray, bool Failed);

    public static async Task ApplyAsync(BatchDbContext db, IReadOnlyCollection<Finished> finished, CancellationToken ct)
    {
        foreach (var group in finished.GroupBy(f => f.Failed))
        {
            var failed = group.Key;
            var ids = group.Select(f => f.JobId).ToList();

            // Jobs that depend on these (dependsOn, N_TO_N and SEQUENTIAL edges alike), found from the finished jobs'
            // edges and then updated by key, so the cost follows the dependents, not every job that waits (a condition
            // per waiting job read them all: SQLite led with the Status index whatever the edges said). A job waiting
            // for two of these counts down by two: its wait was counted per edge.
            var dependents = new List<string>();
            foreach (var chunk in ids.Chunk(500))
            {
                dependents.AddRange(await db.JobDependencyEdges.AsNoTracking()
                    .Where(e => chunk.Contains(e.DependsOnJobId))
                    .Select(e => e.JobId)
                    .ToListAsync(ct));
            }

            foreach (var sameCount in dependents.CountBy(id => id, StringComparer.Ordinal).GroupBy(p => p.Value, p => p.Key))
            {
                var edges = sameCount.Key;
                foreach (var chunk in sameCount.Chunk(500))
                {
                    await db.Jobs
                        .Where(j => chunk.Contains(j.Id) && (j.Status == JobStatus.Submitted || j.Status == JobStatus.Pending))
                        .ExecuteUpdateAsync(s => s.SetProperty(j => j.WaitsFor, j => j.WaitsFor - edges).SetProperty(j => j.WaitFailed, j => j.WaitFailed || failed), ct);
                }
            }

            // Array parents waiting for their children: one less child to wait for, per child that finished.
            foreach (var parent in group.Where(f => f.ParentJobId is not null).GroupBy(f => f.ParentJobId!))
            {
                var count = parent.Count();
                await db.Jobs
                    .Where(j => j.Id == parent.Key && j.Status == JobStatus.Pending)
                    .ExecuteUpdateAsync(s => s.SetProperty(j => j.WaitsFor, j => j.WaitsFor - count).SetProperty(j => j.WaitFailed, j => j.WaitFailed || failed), ct);
            }

            // An array that failed before it made its children never will: the N_TO_N edges to "<array>:<index>" fail.
            // The children's ids all start with "<array>:", which sorts before "<array>;" (';' follows ':').
            foreach (var array in group.Where(f => f.IsUnspawnedArray))
            {
                // string.Compare becomes SQL's own comparison, which for SQLite's TEXT is byte order (ordinal); the
                // overload with a StringComparison has no translation.
#pragma warning disable CA1309
                var from = array.JobId + ":";
                var to = array.JobId + ";";
                await db.Jobs
                    .Where(j => (j.Status == JobStatus.Submitted || j.Status == JobStatus.Pending)
                        && db.JobDependencyEdges.Any(e => e.JobId == j.Id
                            && string.Compare(e.DependsOnJobId, from) >= 0 && string.Compare(e.DependsOnJobId, to) < 0))
                    .ExecuteUpdateAsync(s => s.SetProperty(j => j.WaitsFor, j => j.WaitsFor - 1).SetProperty(j => j.WaitFailed, true), ct);
#pragma warning restore CA1309
            }
        }
    }
}
