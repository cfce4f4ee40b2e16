using BatchPortal.Engine.Domain;
using BatchPortal.Engine.Execution;
using BatchPortal.Engine.Jobs;
using BatchPortal.Engine.Tests.Support;

namespace BatchPortal.Engine.Tests.Jobs;

/// <summary>CancelJob and TerminateJob by the job's state, as AWS's table has them (issue #4).</summary>
public class JobServiceCancelTerminateTests
{
    public enum StopCall
    {
        Cancel,
        Terminate,
    }

    private static async Task<EngineHarness> EngineAsync()
    {
        var engine = await EngineHarness.CreateAsync();
        await engine.CreateComputeEnvironmentAsync("ce", 4);
        await engine.CreateComputeEnvironmentAsync("ce-off", 4, state: "DISABLED");
        await engine.CreateQueueAsync("q", 1, "ce");
        await engine.CreateQueueAsync("q-off", 1, "ce-off");
        await engine.RegisterDefinitionAsync("d");
        return engine;
    }

    /// <summary>A job brought to <paramref name="status"/> the way the engine would get it there.</summary>
    private static async Task<Job> JobInAsync(EngineHarness engine, JobStatus status)
    {
        switch (status)
        {
            case JobStatus.Submitted:
                return await engine.SubmitAsync("q", "d");
            case JobStatus.Pending:
                var blocker = await engine.SubmitAsync("q-off", "d", "blocker");
                var pending = await engine.SubmitAsync(new SubmitJobRequest { JobName = "pending", JobQueue = "q", JobDefinition = "d", DependsOn = [new JobDependency { JobId = blocker.Id }] });
                await engine.DispatchUntilIdleAsync();
                return pending;
            case JobStatus.Runnable:
                var runnable = await engine.SubmitAsync("q-off", "d");
                await engine.DispatchUntilIdleAsync();
                return runnable;
            case JobStatus.Starting:
                var starting = await engine.SubmitAsync("q", "d");
                await engine.DispatchUntilIdleAsync();
                return starting;
            case JobStatus.Running:
                var running = await engine.SubmitAsync("q", "d");
                await engine.DispatchUntilIdleAsync();
                await engine.LaunchAsync(running.Id);
                return running;
            default:
                throw new ArgumentOutOfRangeException(nameof(status), status, null);
        }
    }

    private static Task<Result<bool>> ActAsync(EngineHarness engine, StopCall call, string jobId, string reason) =>
        call == StopCall.Cancel ? engine.JobService.CancelAsync(jobId, reason) : engine.JobService.TerminateAsync(jobId, reason);

    [Theory]
    [InlineData(JobStatus.Submitted, StopCall.Cancel)]
    [InlineData(JobStatus.Pending, StopCall.Cancel)]
    [InlineData(JobStatus.Runnable, StopCall.Cancel)]
    [InlineData(JobStatus.Submitted, StopCall.Terminate)]
    [InlineData(JobStatus.Pending, StopCall.Terminate)]
    [InlineData(JobStatus.Runnable, StopCall.Terminate)]
    public async Task Stop_FailsTheJobWithTheCallersReason_WhenItHasNotStarted(JobStatus status, StopCall call)
    {
        await using var engine = await EngineAsync();
        var job = await JobInAsync(engine, status);
        Assert.Equal(status, (await engine.GetJobAsync(job.Id)).Status);

        var result = await ActAsync(engine, call, job.Id, "operator said so");

        Assert.True(EngineHarness.Ok(result));
        var stored = await engine.GetJobAsync(job.Id);
        Assert.Equal(JobStatus.Failed, stored.Status);
        Assert.Equal("operator said so", stored.StatusReason);
        Assert.Equal((call == StopCall.Cancel, call == StopCall.Terminate), (stored.IsCancelled, stored.IsTerminated));
        Assert.Empty(stored.Attempts);
        Assert.Equal((status, JobStatus.Failed), ((await engine.Jobs.GetHistoryAsync(job.Id))[^1].From!.Value, (await engine.Jobs.GetHistoryAsync(job.Id))[^1].To));

        // Nothing is left to place: the next passes launch nothing for it.
        await engine.DispatchUntilIdleAsync();
        Assert.DoesNotContain(engine.Launches(), l => l.JobId == job.Id);
    }

    [Theory]
    [InlineData(JobStatus.Starting)]
    [InlineData(JobStatus.Running)]
    public async Task CancelAsync_ReturnsSuccessAndChangesNothing_WhenTheJobHasStarted(JobStatus status)
    {
        await using var engine = await EngineAsync();
        var job = await JobInAsync(engine, status);
        var calls = engine.Hangfire.Calls.Count;

        var result = await engine.JobService.CancelAsync(job.Id, "too late");

        Assert.True(result.IsSuccess);
        Assert.False(result.Value);
        var stored = await engine.GetJobAsync(job.Id);
        Assert.Equal(status, stored.Status);
        Assert.False(stored.IsCancelled);
        Assert.Null(stored.TerminationReason);
        Assert.Equal(calls, engine.Hangfire.Calls.Count);
    }

    [Theory]
    [InlineData(StopCall.Cancel, 0)]
    [InlineData(StopCall.Terminate, 0)]
    [InlineData(StopCall.Cancel, 1)]
    [InlineData(StopCall.Terminate, 1)]
    public async Task Stop_ReturnsSuccessAndChangesNothing_WhenTheJobHasFinished(StopCall call, int exitCode)
    {
        await using var engine = await EngineAsync();
        var job = await JobInAsync(engine, JobStatus.Running);
        var finished = await engine.ExitAsync(job.Id, exitCode);

        var result = await ActAsync(engine, call, job.Id, "after the fact");

        Assert.False(EngineHarness.Ok(result));
        var stored = await engine.GetJobAsync(job.Id);
        Assert.Equal((finished.Status, finished.StatusReason, false, false), (stored.Status, stored.StatusReason, stored.IsCancelled, stored.IsTerminated));
    }

    [Fact]
    public async Task TerminateAsync_FailsAStartingJob_AndItsLaunchThenStartsNothing()
    {
        await using var engine = await EngineAsync();
        var job = await JobInAsync(engine, JobStatus.Starting);

        Assert.True(EngineHarness.Ok(await engine.JobService.TerminateAsync(job.Id, "stop it")));
        var stored = await engine.GetJobAsync(job.Id);
        Assert.Equal((JobStatus.Failed, "stop it", true), (stored.Status, stored.StatusReason, stored.IsTerminated));

        await engine.Get<RunJob>().LaunchAsync(job.Id, 1, CancellationToken.None);

        Assert.Empty(engine.Docker.Default.Created);
        Assert.Equal(JobStatus.Failed, (await engine.GetJobAsync(job.Id)).Status);
    }

    [Fact]
    public async Task TerminateAsync_StopsAndRemovesTheContainer_WhenTheLaunchIsInFlight()
    {
        await using var engine = await EngineAsync();
        var job = await JobInAsync(engine, JobStatus.Starting);
        engine.Docker.Default.BeforeStart = async _ => EngineHarness.Ok(await engine.JobService.TerminateAsync(job.Id, "stop during launch"));

        await engine.Get<RunJob>().LaunchAsync(job.Id, 1, CancellationToken.None);

        var stored = await engine.GetJobAsync(job.Id);
        Assert.Equal((JobStatus.Failed, "stop during launch", true), (stored.Status, stored.StatusReason, stored.IsTerminated));
        Assert.Single(engine.Docker.Default.Created);
        Assert.Empty(engine.Docker.Default.Started);
        Assert.DoesNotContain((await engine.Jobs.GetHistoryAsync(job.Id)).Select(h => h.To), s => s == JobStatus.Running);
    }

    [Fact]
    public async Task TerminateAsync_OnARunningJob_QueuesTheStop_AndTheJobFailsWithoutARetryOnceTheContainerStopped()
    {
        await using var engine = await EngineAsync();
        var submitted = await engine.SubmitAsync(new SubmitJobRequest { JobName = "retrying", JobQueue = "q", JobDefinition = "d", RetryStrategy = new RetryStrategy { Attempts = 3 } });
        await engine.DispatchUntilIdleAsync();
        var containerId = await engine.LaunchAsync(submitted.Id);

        Assert.True(EngineHarness.Ok(await engine.JobService.TerminateAsync(submitted.Id, "operator stop")));

        var stop = Assert.Single(engine.Hangfire.Calls, c => c.Method == nameof(RunJob.StopAsync));
        Assert.Equal([submitted.Id, 1], stop.Args.Take(2));
        Assert.Equal(JobStatus.Running, (await engine.GetJobAsync(submitted.Id)).Status);

        await engine.Get<RunJob>().StopAsync(submitted.Id, 1, CancellationToken.None);
        await engine.CompleteAsync(submitted.Id, 1, containerId);
        await engine.DispatchUntilIdleAsync();

        var job = await engine.GetJobAsync(submitted.Id);
        Assert.Equal(JobStatus.Failed, job.Status);
        Assert.Equal("operator stop", job.StatusReason);
        Assert.True(job.IsTerminated);
        Assert.False(job.IsCancelled);
        Assert.Equal(137, job.ExitCode);
        Assert.Equal(1, job.AttemptCount);
        Assert.Single(engine.Launches());
    }

    [Fact]
    public async Task CancelAsync_OnAnArrayParent_FailsTheWaitingChildren_AndTheParentOnceAllAreFinal()
    {
        await using var engine = await EngineAsync();
        await engine.CreateComputeEnvironmentAsync("ce-one", 1);
        await engine.CreateQueueAsync("q-one", 1, "ce-one");
        var parent = await engine.SubmitAsync(new SubmitJobRequest { JobName = "array", JobQueue = "q-one", JobDefinition = "d", ArrayProperties = new ArrayProperties { Size = 3 } });
        await engine.DispatchUntilIdleAsync();
        await engine.LaunchAsync($"{parent.Id}:0");

        var result = await engine.JobService.CancelAsync(parent.Id, "cancel the array");

        // The waiting children fail at once; the running one cannot be cancelled, as in AWS.
        Assert.True(EngineHarness.Ok(result));
        Assert.Equal(JobStatus.Running, (await engine.GetJobAsync($"{parent.Id}:0")).Status);
        foreach (var i in new[] { 1, 2 })
        {
            var child = await engine.GetJobAsync($"{parent.Id}:{i}");
            Assert.Equal((JobStatus.Failed, "cancel the array", true), (child.Status, child.StatusReason, child.IsCancelled));
        }

        await engine.DispatchUntilIdleAsync();
        Assert.Equal(JobStatus.Pending, (await engine.GetJobAsync(parent.Id)).Status);

        await engine.ExitAsync($"{parent.Id}:0", 0);
        await engine.DispatchUntilIdleAsync();

        var done = await engine.GetJobAsync(parent.Id);
        Assert.Equal((JobStatus.Failed, "cancel the array", true, false), (done.Status, done.StatusReason, done.IsCancelled, done.IsTerminated));
    }

    [Fact]
    public async Task TerminateAsync_OnAnArrayParent_StopsTheRunningChildrenAndFailsTheRest()
    {
        await using var engine = await EngineAsync();
        var parent = await engine.SubmitAsync(new SubmitJobRequest { JobName = "array", JobQueue = "q", JobDefinition = "d", ArrayProperties = new ArrayProperties { Size = 6 } });
        await engine.DispatchUntilIdleAsync();
        var running = $"{parent.Id}:0";
        var containerId = await engine.LaunchAsync(running);
        Assert.Equal(new Dictionary<JobStatus, int> { [JobStatus.Running] = 1, [JobStatus.Starting] = 3, [JobStatus.Runnable] = 2 }, await engine.Jobs.ArraySummaryAsync(parent.Id));

        Assert.True(EngineHarness.Ok(await engine.JobService.TerminateAsync(parent.Id, "terminate the array")));

        var stop = Assert.Single(engine.Hangfire.Calls, c => c.Method == nameof(RunJob.StopAsync));
        Assert.Equal([running, 1], stop.Args.Take(2));
        Assert.Equal(new Dictionary<JobStatus, int> { [JobStatus.Running] = 1, [JobStatus.Failed] = 5 }, await engine.Jobs.ArraySummaryAsync(parent.Id));

        await engine.Get<RunJob>().StopAsync(running, 1, CancellationToken.None);
        await engine.CompleteAsync(running, 1, containerId);
        await engine.DispatchUntilIdleAsync();

        var child = await engine.GetJobAsync(running);
        Assert.Equal((JobStatus.Failed, "terminate the array", true), (child.Status, child.StatusReason, child.IsTerminated));
        var done = await engine.GetJobAsync(parent.Id);
        Assert.Equal((JobStatus.Failed, "terminate the array", true), (done.Status, done.StatusReason, done.IsTerminated));
        Assert.Equal(new Dictionary<JobStatus, int> { [JobStatus.Failed] = 6 }, await engine.Jobs.ArraySummaryAsync(parent.Id));
    }

    [Fact]
    public async Task Stop_ReturnsResourceNotFound_WhenTheJobIsUnknown()
    {
        await using var engine = await EngineAsync();

        var result = await engine.JobService.TerminateAsync("no-such-job", "why");

        Assert.Equal(new ResourceNotFound("Job", "no-such-job"), result.Error);
    }
}
