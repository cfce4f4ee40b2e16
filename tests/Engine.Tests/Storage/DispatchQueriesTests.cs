using BatchPortal.Engine.Domain;
using BatchPortal.Engine.Jobs;
using BatchPortal.Engine.Tests.Support;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Microsoft.Extensions.DependencyInjection;

namespace BatchPortal.Engine.Tests.Storage;

/// <summary>A pass reads the jobs whose turn it is, never every waiting job (issue #11).</summary>
public class DispatchQueriesTests
{
    [Fact]
    public async Task DispatchOnceAsync_FindsReadyPendingJobsThroughTheirWaitCount_NotByReadingEveryWaitingJob()
    {
        // Regression: #11. Every pass read every PENDING job and its edges to find the few whose dependencies had
        // finished; with tens of thousands waiting a pass grew with the backlog. Now the finishing job's transaction
        // counts its dependents down, and the pass asks the (Status, WaitsFor) index for the ones at zero.
        var plans = new QueryPlans();
        await using var engine = await EngineHarness.CreateAsync(services: s => s.AddSingleton<IInterceptor>(plans));
        await engine.CreateComputeEnvironmentAsync("ce", 1);
        await engine.CreateQueueAsync("q", 1, "ce");
        await engine.RegisterDefinitionAsync("d");
        var running = await engine.SubmitAsync("q", "d", "running");
        for (var i = 0; i < 50; i++)
        {
            await engine.SubmitAsync(new SubmitJobRequest { JobName = $"waits-{i}", JobQueue = "q", JobDefinition = "d", DependsOn = [new JobDependency { JobId = running.Id }] });
        }

        await engine.DispatchUntilIdleAsync();
        plans.Start();
        await engine.DispatchOnceAsync();
        var all = plans.Stop();
        var pendingPlans = all.Where(p => p.Sql.Contains("\"WaitsFor\" <= 0", StringComparison.Ordinal)).ToList();

        Assert.NotEmpty(pendingPlans);
        Assert.All(pendingPlans, p => Assert.Contains("USING INDEX IX_Jobs_Status_WaitsFor (Status=? AND WaitsFor<?)", p.Plan, StringComparison.Ordinal));

        // No query of the pass walks the PENDING jobs by their status alone: the one for failed dependencies read them
        // all in order while it tested a bare boolean column (the dependency benchmark's pass took 14× an idle one).
        var overPending = all.Where(p => p.Sql.Contains("\"Status\" = 'Pending'", StringComparison.Ordinal)).ToList();
        Assert.Equal(3, overPending.Count);
        Assert.All(overPending, p => Assert.Matches(@"USING INDEX IX_Jobs_Status_\w+ \(Status=\? AND \w+[<=]\?\)", p.Plan));

        // And it works: once the job they wait for succeeds, they all become RUNNABLE in the next pass.
        await engine.RunAsync(running.Id, 0);
        await engine.DispatchOnceAsync();
        Assert.Equal(50, await engine.Jobs.CountAsync(new Engine.Storage.JobFilter { Statuses = [JobStatus.Runnable, JobStatus.Starting] }));
    }
}
