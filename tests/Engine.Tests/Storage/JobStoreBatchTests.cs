using System.Collections.Concurrent;
using BatchPortal.Engine.Domain;
using BatchPortal.Engine.Notifications;
using BatchPortal.Engine.Storage;
using BatchPortal.Engine.Tests.Support;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;

namespace BatchPortal.Engine.Tests.Storage;

/// <summary>The store's writes of many jobs at once: group-committed submissions, bulk moves and wait reasons.</summary>
public class JobStoreBatchTests
{
    private static Job NewJob(string id, string? schedule = null, DateTimeOffset? fireTime = null) => new()
    {
        Id = id,
        Name = $"name-{id}",
        QueueName = "q",
        JobDefinitionName = "d",
        JobDefinitionRevision = 1,
        Container = new ContainerProperties { Image = "busybox", Command = ["true"] },
        CreatedAt = EngineHarness.Epoch,
        Vcpus = 1,
        ScheduleName = schedule,
        ScheduledFireTime = fireTime,
    };

    private static ConcurrentQueue<JobStatusChanged> Record(EngineHarness engine)
    {
        var seen = new ConcurrentQueue<JobStatusChanged>();
        engine.Get<JobEventBroadcaster>().Subscribe(null, change =>
        {
            seen.Enqueue(change);
            return Task.CompletedTask;
        });
        return seen;
    }

    [Fact]
    public async Task AddAsync_StoresEveryJobWithItsHistoryAndPublishesEach_WhenManyArriveAtOnce()
    {
        await using var engine = await EngineHarness.CreateAsync();
        var seen = Record(engine);

        await Task.WhenAll(Enumerable.Range(0, 200).Select(i => Task.Run(() => engine.Submissions.AddAsync(NewJob($"j{i:D3}")))));

        await using var db = await engine.Get<IDbContextFactory<BatchDbContext>>().CreateDbContextAsync();
        Assert.Equal(200, await db.Jobs.CountAsync());
        Assert.Equal(200, await db.JobStatusChanges.CountAsync(h => h.To == JobStatus.Submitted && h.From == null));
        Assert.Equal(200, (await db.Jobs.Select(j => j.Seq).Distinct().ToListAsync()).Count);
        Assert.Equal(200, seen.Select(c => c.JobId).Distinct().Count());
        Assert.All(seen, c => Assert.Equal(JobStatus.Submitted, c.Status));
    }

    [Fact]
    public async Task AddAsync_FailsOnlyTheCallerWhoseJobBreaksAUniqueRule_WhenItSharesABatch()
    {
        await using var engine = await EngineHarness.CreateAsync();
        var fire = EngineHarness.Epoch.AddHours(1);
        await engine.Submissions.AddAsync(NewJob("first", "nightly", fire));

        // Another connection holds the write lock: the first submission's write waits for it, and the rest queue up
        // behind that write, so they are written as one batch once the lock is let go.
        await using var db0 = await engine.Get<IDbContextFactory<BatchDbContext>>().CreateDbContextAsync();
        await using var blocker = new SqliteConnection(db0.Database.GetConnectionString());
        await blocker.OpenAsync();
        var hold = await blocker.BeginTransactionAsync();
        var lead = Task.Run(() => engine.Submissions.AddAsync(NewJob("lead")));
        await Task.Delay(300);

        // The same fire time of the same schedule again, among jobs that are fine.
        var attempts = Enumerable.Range(0, 30)
            .Select(i => i == 15 ? NewJob("duplicate", "nightly", fire) : NewJob($"ok{i:D2}"))
            .Select(job => (job.Id, Task: Task.Run(() => engine.Submissions.AddAsync(job))))
            .ToList();
        await Task.Delay(300);
        Assert.False(lead.IsCompleted);
        await hold.CommitAsync();
        await hold.DisposeAsync();
        await lead;
        foreach (var (id, task) in attempts)
        {
            if (id == "duplicate")
            {
                await Assert.ThrowsAnyAsync<DbUpdateException>(() => task);
            }
            else
            {
                await task;
            }
        }

        await using var db = await engine.Get<IDbContextFactory<BatchDbContext>>().CreateDbContextAsync();
        Assert.Equal(31, await db.Jobs.CountAsync());
        Assert.False(await db.Jobs.AnyAsync(j => j.Id == "duplicate"));
        Assert.False(await db.JobStatusChanges.AnyAsync(h => h.JobId == "duplicate"));
    }

    [Fact]
    public async Task TryTransitionManyAsync_MovesOnlyTheJobsStillInTheState_WithHistoryAndEvents()
    {
        await using var engine = await EngineHarness.CreateAsync();
        foreach (var id in new[] { "a", "b", "c" })
        {
            await engine.Submissions.AddAsync(NewJob(id));
        }

        await engine.StateMachine.TryTransitionAsync("b", JobStatus.Submitted, JobStatus.Failed, "cancelled first");
        var seen = Record(engine);
        engine.Time.Advance(TimeSpan.FromSeconds(3));

        var moved = await engine.StateMachine.TryTransitionManyAsync(["a", "b", "c", "unknown"], JobStatus.Submitted, JobStatus.Runnable, null);

        Assert.Equal(2, moved);
        var a = await engine.GetJobAsync("a");
        Assert.Equal((JobStatus.Runnable, EngineHarness.Epoch.AddSeconds(3), 1L), (a.Status, a.RunnableSince!.Value, a.Version));
        Assert.Equal(JobStatus.Failed, (await engine.GetJobAsync("b")).Status);
        Assert.Equal(JobStatus.Runnable, (await engine.GetJobAsync("c")).Status);
        var history = await engine.Jobs.GetHistoryAsync("c");
        Assert.Equal(((JobStatus?)JobStatus.Submitted, JobStatus.Runnable, EngineHarness.Epoch.AddSeconds(3)), (history[^1].From, history[^1].To, history[^1].At));
        Assert.Single(await engine.Jobs.GetHistoryAsync("a"), h => h.To == JobStatus.Runnable);
        Assert.Equal(["a", "c"], seen.Select(c => c.JobId).Order());
        Assert.All(seen, c => Assert.Equal((JobStatus.Runnable, (JobStatus?)JobStatus.Submitted), (c.Status, c.PreviousStatus)));
    }

    [Fact]
    public async Task TryTransitionManyAsync_Refuses_WhenTheMoveIsIllegalOrTouchesAnAttempt()
    {
        await using var engine = await EngineHarness.CreateAsync();

        await Assert.ThrowsAsync<InvalidOperationException>(() => engine.StateMachine.TryTransitionManyAsync(["a"], JobStatus.Submitted, JobStatus.Succeeded, null));
        await Assert.ThrowsAsync<InvalidOperationException>(() => engine.StateMachine.TryTransitionManyAsync(["a"], JobStatus.Running, JobStatus.Succeeded, null));
    }

    [Fact]
    public async Task SetWaitReasonsAsync_WritesChangedReasonsOfRunnableJobsOnly_AndPublishesThose()
    {
        await using var engine = await EngineHarness.CreateAsync();
        foreach (var id in new[] { "a", "b", "c", "d" })
        {
            await engine.Submissions.AddAsync(NewJob(id));
        }

        await engine.StateMachine.TryTransitionManyAsync(["a", "b", "c"], JobStatus.Submitted, JobStatus.Runnable, null);
        await engine.StateMachine.SetReasonsAsync(JobStatus.Runnable, [("b", "waiting for Docker")]);
        var seen = Record(engine);

        await engine.StateMachine.SetReasonsAsync(JobStatus.Runnable, [("a", "waiting for Docker"), ("b", "waiting for Docker"), ("c", "no capacity"), ("d", "no capacity")]);

        Assert.Equal("waiting for Docker", (await engine.GetJobAsync("a")).StatusReason);
        Assert.Equal(("waiting for Docker", 2L), ((await engine.GetJobAsync("b")).StatusReason, (await engine.GetJobAsync("b")).Version));
        Assert.Equal("no capacity", (await engine.GetJobAsync("c")).StatusReason);
        Assert.Equal((JobStatus.Submitted, (string?)null), ((await engine.GetJobAsync("d")).Status, (await engine.GetJobAsync("d")).StatusReason));
        Assert.Equal(["a", "c"], seen.Select(c => c.JobId).Order());
    }

    [Fact]
    public async Task AddAsync_WritesAJobThatWaits_Pending_WithBothHistoryRowsAndBothChangesPublished()
    {
        // A dependent was written SUBMITTED and moved to PENDING by the next dispatch pass: a second write of every
        // dependent, which under load took the write lock the submissions needed. It starts PENDING now.
        await using var engine = await EngineHarness.CreateAsync();
        await engine.Submissions.AddAsync(NewJob("upstream"));
        var seen = Record(engine);

        await engine.Submissions.AddAsync(NewJob("waits"), [new JobDependencyEdge { JobId = "waits", DependsOnJobId = "upstream" }]);
        await engine.Submissions.AddAsync(NewJob("free"));

        var waits = await engine.GetJobAsync("waits");
        Assert.Equal((JobStatus.Pending, 1), (waits.Status, waits.WaitsFor));
        Assert.Equal(JobStatus.Submitted, (await engine.GetJobAsync("free")).Status);
        await using var db = await engine.Get<IDbContextFactory<BatchDbContext>>().CreateDbContextAsync();
        var history = await db.JobStatusChanges.Where(h => h.JobId == "waits").OrderBy(h => h.Id).Select(h => new { h.From, h.To, h.At }).ToListAsync();
        Assert.Equal(
            [((JobStatus?)null, JobStatus.Submitted, EngineHarness.Epoch), (JobStatus.Submitted, JobStatus.Pending, EngineHarness.Epoch)],
            history.Select(h => (h.From, h.To, h.At)));
        Assert.Equal(
            [("waits", (JobStatus?)null, JobStatus.Submitted), ("waits", JobStatus.Submitted, JobStatus.Pending), ("free", null, JobStatus.Submitted)],
            seen.Select(c => (c.JobId, c.PreviousStatus, c.Status)));
    }
}
