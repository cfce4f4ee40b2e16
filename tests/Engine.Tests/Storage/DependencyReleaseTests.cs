using BatchPortal.Engine.Domain;
using BatchPortal.Engine.Jobs;
using BatchPortal.Engine.Storage;
using BatchPortal.Engine.Tests.Support;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Microsoft.Extensions.DependencyInjection;

namespace BatchPortal.Engine.Tests.Storage;

/// <summary>A finishing job counts down its own dependents, found from its edges (issue #11).</summary>
public class DependencyReleaseTests
{
    [Fact]
    public async Task Release_FindsDependentsThroughTheFinishedJobsEdges_NotByReadingEveryWaitingJob()
    {
        // Regression: #11's dependency benchmark. The count-down ran a condition per waiting job ("does it have an edge
        // to the finished one?"), led by the Status index: every job that finished read every job that waited, 16 s for
        // one job with 20,000 waiting. Now the finished job's edges name its dependents and each is updated by its key.
        var plans = new QueryPlans();
        await using var engine = await EngineHarness.CreateAsync(services: s => s.AddSingleton<IInterceptor>(plans));
        await engine.CreateComputeEnvironmentAsync("ce", 2);
        await engine.CreateQueueAsync("q", 1, "ce");
        await engine.RegisterDefinitionAsync("d");
        var other = await engine.SubmitAsync("q", "d", "other");
        var upstream = await engine.SubmitAsync("q", "d", "upstream");
        for (var i = 0; i < 30; i++)
        {
            await engine.SubmitAsync(DependsOn($"waits-for-other-{i}", other.Id));
        }

        var dependents = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            dependents.Add((await engine.SubmitAsync(DependsOn($"waits-for-upstream-{i}", upstream.Id))).Id);
        }

        await engine.DispatchUntilIdleAsync();
        await engine.LaunchAsync(other.Id);
        plans.Start();
        await engine.RunAsync(upstream.Id, 0);
        var countDowns = plans.Stop().Where(p => p.Sql.StartsWith("UPDATE", StringComparison.Ordinal) && p.Sql.Contains("\"WaitsFor\" = \"j\".\"WaitsFor\" -", StringComparison.Ordinal)).ToList();

        var countDown = Assert.Single(countDowns);
        Assert.Contains("USING INDEX sqlite_autoindex_Jobs_1 (Id=?)", countDown.Plan, StringComparison.Ordinal);
        Assert.DoesNotContain("(Status=?)", countDown.Plan, StringComparison.Ordinal);

        // And only the three that waited for it move on.
        await engine.DispatchUntilIdleAsync();
        Assert.Equal(30, await engine.Jobs.CountAsync(new JobFilter { Statuses = [JobStatus.Pending] }));
        foreach (var id in dependents)
        {
            Assert.NotEqual(JobStatus.Pending, (await engine.GetJobAsync(id)).Status);
        }
    }

    [Fact]
    public async Task Release_CountsDownOncePerEdge_WhenTwoOfAJobsDependenciesFinishInOneMove()
    {
        // Regression: the count-down took one off a dependent per move, however many of its dependencies the move
        // finished; its wait is counted per edge, so a job waiting for two that finished together stayed PENDING for good.
        await using var engine = await EngineHarness.CreateAsync();
        await engine.CreateComputeEnvironmentAsync("ce", 2);
        await engine.CreateQueueAsync("q", 1, "ce");
        await engine.RegisterDefinitionAsync("d");
        var a = await engine.SubmitAsync("q", "d", "a");
        var b = await engine.SubmitAsync("q", "d", "b");
        var both = await engine.SubmitAsync(new SubmitJobRequest
        {
            JobName = "both", JobQueue = "q", JobDefinition = "d", DependsOn = [new JobDependency { JobId = a.Id }, new JobDependency { JobId = b.Id }],
        });
        Assert.Equal(2, (await engine.GetJobAsync(both.Id)).WaitsFor);

        var factory = engine.Get<IDbContextFactory<BatchDbContext>>();
        await using (var db = await factory.CreateDbContextAsync())
        {
            await using var tx = await db.Database.BeginTransactionAsync();
            await DependencyRelease.ApplyAsync(db, [new(a.Id, null, false, false), new(b.Id, null, false, false)], CancellationToken.None);
            await tx.CommitAsync();
        }

        Assert.Equal(0, (await engine.GetJobAsync(both.Id)).WaitsFor);
    }

    private static SubmitJobRequest DependsOn(string name, string jobId) =>
        new() { JobName = name, JobQueue = "q", JobDefinition = "d", DependsOn = [new JobDependency { JobId = jobId }] };
}
