using BatchPortal.Engine.Domain;
using BatchPortal.Engine.Jobs;
using BatchPortal.Engine.Storage;
using BatchPortal.Engine.Tests.Support;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace BatchPortal.Engine.Tests.Storage;

public class RetentionPurgeTests
{
    [Fact]
    public async Task PurgeAsync_DeletesFinishedJobsOlderThanTheRetention_WithTheirAttemptsHistoryAndLogs()
    {
        await using var engine = await EngineHarness.CreateAsync();
        await engine.CreateComputeEnvironmentAsync("ce", 4);
        await engine.CreateQueueAsync("q", 1, "ce");
        await engine.RegisterDefinitionAsync("d");
        var old = await engine.SubmitAsync("q", "d", "old");
        await engine.DispatchUntilIdleAsync();
        await engine.RunAsync(old.Id, 0);
        await engine.Services.GetRequiredService<LogStore>().AppendAsync(
            old.Id, 1, [new LogEvent { JobId = old.Id, Attempt = 1, Stream = "stdout", Timestamp = engine.Time.GetUtcNow(), Message = "hello" }], 5, cut: false);

        engine.Time.Advance(TimeSpan.FromDays(31));
        var recent = await engine.SubmitAsync("q", "d", "recent");
        await engine.DispatchUntilIdleAsync();
        await engine.RunAsync(recent.Id, 1);
        var waiting = await engine.SubmitAsync("q", "d", "waiting");

        var purged = await engine.Services.GetRequiredService<RetentionPurge>().PurgeAsync(CancellationToken.None);

        Assert.Equal(1, purged);
        Assert.Null(await engine.Jobs.GetAsync(old.Id));
        Assert.NotNull(await engine.Jobs.GetAsync(recent.Id));
        Assert.NotNull(await engine.Jobs.GetAsync(waiting.Id));
        await using var db = await engine.Services.GetRequiredService<IDbContextFactory<BatchDbContext>>().CreateDbContextAsync();
        Assert.False(await db.JobAttempts.AnyAsync(a => a.JobId == old.Id));
        Assert.False(await db.JobStatusChanges.AnyAsync(h => h.JobId == old.Id));
        Assert.False(await db.LogEvents.AnyAsync(l => l.JobId == old.Id));
        Assert.True(await db.JobStatusChanges.AnyAsync(h => h.JobId == recent.Id));
    }

    [Fact]
    public async Task PurgeAsync_KeepsAnOldJob_WhileAnUnfinishedJobStillDependsOnIt()
    {
        await using var engine = await EngineHarness.CreateAsync();
        await engine.CreateComputeEnvironmentAsync("ce", 4, state: "DISABLED");
        await engine.CreateQueueAsync("q", 1, "ce");
        await engine.RegisterDefinitionAsync("d");
        var dependency = await engine.SubmitAsync("q", "d", "dependency");
        await engine.JobService.CancelAsync(dependency.Id, "done with it");
        var dependent = await engine.SubmitAsync(new SubmitJobRequest
        {
            JobName = "dependent",
            JobQueue = "q",
            JobDefinition = "d",
            DependsOn = [new JobDependency { JobId = dependency.Id }],
        });
        engine.Time.Advance(TimeSpan.FromDays(31));

        var purged = await engine.Services.GetRequiredService<RetentionPurge>().PurgeAsync(CancellationToken.None);

        Assert.Equal(0, purged);
        Assert.NotNull(await engine.Jobs.GetAsync(dependency.Id));
        Assert.Equal(JobStatus.Pending, (await engine.GetJobAsync(dependent.Id)).Status); // it waits (to fail), unfinished
    }

    [Fact]
    public async Task SubmitAsync_RefusesTheJob_WhenRetentionPurgesItsDependencyBeforeItIsWritten()
    {
        // Regression: #11. The purge could delete a finished job between a submission's check of its dependency and the
        // write of the new job, which then waited PENDING forever on a job that no longer existed.
        await using var engine = await EngineHarness.CreateAsync();
        await engine.CreateComputeEnvironmentAsync("ce", 4);
        await engine.CreateQueueAsync("q", 1, "ce");
        await engine.RegisterDefinitionAsync("d");
        var old = await engine.SubmitAsync("q", "d", "old");
        await engine.DispatchUntilIdleAsync();
        await engine.RunAsync(old.Id, 0);
        engine.Time.Advance(TimeSpan.FromDays(31));
        var purged = 0;
        engine.Submissions.BeforeWrite = async () => purged += await engine.Get<RetentionPurge>().PurgeAsync(CancellationToken.None);

        var result = await engine.JobService.SubmitAsync(new SubmitJobRequest
        {
            JobName = "late",
            JobQueue = "q",
            JobDefinition = "d",
            DependsOn = [new JobDependency { JobId = old.Id }],
        });

        Assert.Equal(1, purged);
        var error = Assert.IsType<ValidationFailed>(result.Error);
        Assert.Equal($"Job {old.Id} does not exist.", error.For("dependsOn[0].jobId"));
        Assert.Equal(0, await engine.Jobs.CountAsync(new JobFilter { Name = "late" }));
    }
}
