using BatchPortal.Engine.Domain;
using BatchPortal.Engine.Jobs;
using BatchPortal.Engine.Dispatch;
using BatchPortal.Engine.Tests.Support;

namespace BatchPortal.Engine.Tests.Dispatch;

/// <summary><c>dependsOn</c>: a job waits in PENDING for its dependencies to succeed, and fails without running when one fails (issue #4).</summary>
public class JobDispatcherDependencyTests
{
    private static async Task<EngineHarness> EngineAsync()
    {
        var engine = await EngineHarness.CreateAsync();
        await engine.CreateComputeEnvironmentAsync("ce", 4);
        await engine.CreateQueueAsync("q", 1, "ce");
        await engine.RegisterDefinitionAsync("d");
        return engine;
    }

    private static Task<Job> SubmitAfterAsync(EngineHarness engine, string name, params Job[] dependencies) =>
        engine.SubmitAsync(new SubmitJobRequest
        {
            JobName = name,
            JobQueue = "q",
            JobDefinition = "d",
            DependsOn = [.. dependencies.Select(d => new JobDependency { JobId = d.Id })],
        });

    [Fact]
    public async Task Dependent_StaysPendingWhileItsDependencyRuns_ThenRuns()
    {
        await using var engine = await EngineAsync();
        var a = await engine.SubmitAsync("q", "d", "a");
        var b = await SubmitAfterAsync(engine, "b", a);

        await engine.DispatchUntilIdleAsync();
        await engine.LaunchAsync(a.Id);
        await engine.DispatchUntilIdleAsync();

        var waiting = await engine.GetJobAsync(b.Id);
        Assert.Equal(JobStatus.Pending, waiting.Status);
        Assert.Empty(waiting.Attempts);
        Assert.DoesNotContain(engine.Launches(), l => l.JobId == b.Id);

        await engine.ExitAsync(a.Id, 0);
        await engine.DispatchUntilIdleAsync();

        var placed = await engine.GetJobAsync(b.Id);
        Assert.Equal(JobStatus.Starting, placed.Status);
        Assert.Equal(
            [JobStatus.Submitted, JobStatus.Pending, JobStatus.Runnable, JobStatus.Starting],
            (await engine.Jobs.GetHistoryAsync(b.Id)).Select(h => h.To));
        var succeeded = (await engine.Jobs.GetHistoryAsync(a.Id)).Single(h => h.To == JobStatus.Succeeded).At;
        var runnable = (await engine.Jobs.GetHistoryAsync(b.Id)).Single(h => h.To == JobStatus.Runnable).At;
        Assert.True(runnable >= succeeded);
    }

    [Fact]
    public async Task Dependent_WaitsForEveryDependency()
    {
        await using var engine = await EngineAsync();
        var a1 = await engine.SubmitAsync("q", "d", "a1");
        var a2 = await engine.SubmitAsync("q", "d", "a2");
        var b = await SubmitAfterAsync(engine, "b", a1, a2);
        await engine.DispatchUntilIdleAsync();

        await engine.RunAsync(a1.Id, 0);
        await engine.DispatchUntilIdleAsync();
        Assert.Equal(JobStatus.Pending, (await engine.GetJobAsync(b.Id)).Status);

        await engine.RunAsync(a2.Id, 0);
        await engine.DispatchUntilIdleAsync();
        Assert.Equal(JobStatus.Starting, (await engine.GetJobAsync(b.Id)).Status);
    }

    [Fact]
    public async Task Dependents_FailDownTheChainWithoutAttempts_WhenTheFirstJobFails()
    {
        await using var engine = await EngineAsync();
        var a = await engine.SubmitAsync("q", "d", "a");
        var b = await SubmitAfterAsync(engine, "b", a);
        var c = await SubmitAfterAsync(engine, "c", b);
        await engine.DispatchUntilIdleAsync();

        await engine.RunAsync(a.Id, 1);
        await engine.DispatchUntilIdleAsync();

        foreach (var id in new[] { b.Id, c.Id })
        {
            var job = await engine.GetJobAsync(id);
            Assert.Equal(JobStatus.Failed, job.Status);
            Assert.Equal(JobDispatcher.DependentJobFailed, job.StatusReason);
            Assert.Equal(0, job.AttemptCount);
            Assert.Empty(job.Attempts);
            Assert.False(job.IsCancelled);
            Assert.NotNull(job.StoppedAt);
            Assert.Equal([JobStatus.Submitted, JobStatus.Pending, JobStatus.Failed], (await engine.Jobs.GetHistoryAsync(id)).Select(h => h.To));
        }

        Assert.Equal([a.Id], engine.Launches().Select(l => l.JobId));
    }

    [Fact]
    public async Task Dependent_Fails_WhenItsDependencyWasCancelled()
    {
        await using var engine = await EngineAsync();
        var a = await engine.SubmitAsync("q", "d", "a");
        var b = await SubmitAfterAsync(engine, "b", a);

        EngineHarness.Ok(await engine.JobService.CancelAsync(a.Id, "not wanted"));
        await engine.DispatchUntilIdleAsync();

        Assert.Equal((JobStatus.Failed, JobDispatcher.DependentJobFailed), ((await engine.GetJobAsync(b.Id)).Status, (await engine.GetJobAsync(b.Id)).StatusReason));
        Assert.Empty(engine.Launches());
    }

    [Fact]
    public async Task Dependent_RunsAtOnce_WhenItsDependencyHadAlreadySucceeded()
    {
        await using var engine = await EngineAsync();
        var a = await engine.SubmitAsync("q", "d", "a");
        await engine.DispatchUntilIdleAsync();
        await engine.RunAsync(a.Id, 0);

        var b = await SubmitAfterAsync(engine, "b", a);
        await engine.DispatchUntilIdleAsync();

        Assert.Equal(JobStatus.Starting, (await engine.GetJobAsync(b.Id)).Status);
    }

    [Fact]
    public async Task Dependent_WaitsThroughTheRetries_WhenItsDependencyFailsAnAttemptButThenSucceeds()
    {
        await using var engine = await EngineAsync();
        var a = await engine.SubmitAsync(new SubmitJobRequest
        {
            JobName = "a",
            JobQueue = "q",
            JobDefinition = "d",
            RetryStrategy = new RetryStrategy { Attempts = 2 },
        });
        var b = await SubmitAfterAsync(engine, "b", a);
        await engine.DispatchUntilIdleAsync();

        var retried = await engine.RunAsync(a.Id, 1);
        await engine.DispatchUntilIdleAsync();

        Assert.Equal(JobStatus.Runnable, retried.Status);
        Assert.Equal(JobStatus.Pending, (await engine.GetJobAsync(b.Id)).Status);

        await engine.RunAsync(a.Id, 0);
        await engine.DispatchUntilIdleAsync();
        Assert.Equal(JobStatus.Starting, (await engine.GetJobAsync(b.Id)).Status);
    }
}
