using BatchPortal.Engine.Domain;
using BatchPortal.Engine.Execution;
using BatchPortal.Engine.Jobs;
using BatchPortal.Engine.Tests.Support;

namespace BatchPortal.Engine.Tests.Execution;

/// <summary>
/// The attempt timeout (<c>timeout.attemptDurationSeconds</c>, at least 60 s by AWS's rule) on a fixed clock: the watcher's
/// deadline, what it does to the container and the job, and that a timed-out job is never retried (issue #4).
/// </summary>
public class ContainerWatcherTests
{
    private const int Timeout = 60;

    private static async Task<(EngineHarness Engine, Job Job)> RunningJobAsync(int attempts = 3, int? timeout = Timeout)
    {
        var engine = await EngineHarness.CreateAsync();
        await engine.CreateComputeEnvironmentAsync("ce", 4);
        await engine.CreateQueueAsync("q", 1, "ce");
        await engine.RegisterDefinitionAsync("d");
        var job = await engine.SubmitAsync(new SubmitJobRequest
        {
            JobName = "slow",
            JobQueue = "q",
            JobDefinition = "d",
            RetryStrategy = new RetryStrategy { Attempts = attempts },
            Timeout = timeout is { } seconds ? new JobTimeout { AttemptDurationSeconds = seconds } : null,
        });
        await engine.DispatchUntilIdleAsync();
        return (engine, job);
    }

    /// <summary>Launches the current attempt and returns once the watcher follows it (its deadline timer is then set).</summary>
    private static async Task<string> LaunchAndWatchAsync(EngineHarness engine, string jobId)
    {
        var containerId = await engine.LaunchAsync(jobId);
        await engine.Docker.Default.WaitingForExit(containerId).WaitAsync(TimeSpan.FromSeconds(10));
        return containerId;
    }

    [Fact]
    public async Task Watch_StopsTheContainerAndFailsTheJobWithoutARetry_WhenTheAttemptOutlivesItsTimeout()
    {
        var (engine, job) = await RunningJobAsync(attempts: 3);
        await using var _ = engine;
        var containerId = await LaunchAndWatchAsync(engine, job.Id);

        engine.Time.Advance(TimeSpan.FromSeconds(Timeout - 1));

        Assert.True(engine.Docker.Default.IsRunning(containerId));
        Assert.False((await engine.GetJobAsync(job.Id)).TimedOut);
        Assert.DoesNotContain(engine.Hangfire.Calls, c => c.Method == nameof(RunJob.CompleteAsync));

        engine.Time.Advance(TimeSpan.FromSeconds(1));
        await engine.CompleteAsync(job.Id, 1, containerId);
        await engine.DispatchUntilIdleAsync();

        Assert.False(engine.Docker.Default.IsRunning(containerId));
        var failed = await engine.GetJobAsync(job.Id);
        Assert.Equal(JobStatus.Failed, failed.Status);
        Assert.Equal(RunJob.TimeoutExceeded, failed.StatusReason);
        Assert.Equal("Job attempt duration exceeded timeout", failed.StatusReason);
        Assert.Equal(137, failed.ExitCode);
        Assert.False(failed.TimedOut);
        Assert.Equal(1, failed.AttemptCount);
        var attempt = Assert.Single(failed.Attempts);
        Assert.Equal((137, RunJob.TimeoutExceeded), (attempt.ExitCode, attempt.StatusReason));
        Assert.Equal(TimeSpan.FromSeconds(Timeout), attempt.StoppedAt - attempt.StartedAt);
        Assert.Single(engine.Launches());
    }

    [Fact]
    public async Task Watch_MarksTheJobTimedOut_BeforeTheStoppedContainerIsCompleted()
    {
        var (engine, job) = await RunningJobAsync();
        await using var _ = engine;
        var containerId = await LaunchAndWatchAsync(engine, job.Id);

        engine.Time.Advance(TimeSpan.FromSeconds(Timeout));
        await engine.Hangfire.WaitForAsync(c => c.Method == nameof(RunJob.CompleteAsync));

        var running = await engine.GetJobAsync(job.Id);
        Assert.Equal(JobStatus.Running, running.Status);
        Assert.True(running.TimedOut);
        Assert.False(engine.Docker.Default.IsRunning(containerId));
    }

    [Fact]
    public async Task Watch_LeavesTheJobAlone_WhenTheContainerExitsBeforeTheDeadline()
    {
        var (engine, job) = await RunningJobAsync();
        await using var _ = engine;
        await LaunchAndWatchAsync(engine, job.Id);
        engine.Time.Advance(TimeSpan.FromSeconds(30));

        var done = await engine.ExitAsync(job.Id, 0);
        engine.Time.Advance(TimeSpan.FromSeconds(Timeout));

        Assert.Equal((JobStatus.Succeeded, RunJob.EssentialContainerExited, false), (done.Status, done.StatusReason, done.TimedOut));
        Assert.False((await engine.GetJobAsync(job.Id)).TimedOut);
    }

    [Fact]
    public async Task Watch_RestartsTheCountdown_ForEachRetriedAttempt()
    {
        var (engine, job) = await RunningJobAsync(attempts: 2);
        await using var _ = engine;
        await LaunchAndWatchAsync(engine, job.Id);
        engine.Time.Advance(TimeSpan.FromSeconds(40));
        var retried = await engine.ExitAsync(job.Id, 1);
        Assert.Equal(JobStatus.Runnable, retried.Status);
        await engine.DispatchUntilIdleAsync();
        var second = await LaunchAndWatchAsync(engine, job.Id);

        // 80 s after the first attempt started, but only 40 s into the second.
        engine.Time.Advance(TimeSpan.FromSeconds(40));
        Assert.True(engine.Docker.Default.IsRunning(second));
        Assert.False((await engine.GetJobAsync(job.Id)).TimedOut);

        engine.Time.Advance(TimeSpan.FromSeconds(20));
        await engine.CompleteAsync(job.Id, 2, second);

        var failed = await engine.GetJobAsync(job.Id);
        Assert.Equal((JobStatus.Failed, RunJob.TimeoutExceeded, 2), (failed.Status, failed.StatusReason, failed.AttemptCount));
        Assert.Equal(RunJob.EssentialContainerExited, failed.Attempts[0].StatusReason);
        Assert.Equal(RunJob.TimeoutExceeded, failed.Attempts[1].StatusReason);
    }

    [Fact]
    public async Task Watch_SetsNoDeadline_WhenTheJobHasNoTimeout()
    {
        var (engine, job) = await RunningJobAsync(timeout: null);
        await using var _ = engine;
        var containerId = await LaunchAndWatchAsync(engine, job.Id);

        engine.Time.Advance(TimeSpan.FromDays(2));

        Assert.True(engine.Docker.Default.IsRunning(containerId));
        Assert.False((await engine.GetJobAsync(job.Id)).TimedOut);
    }

    [Fact]
    public async Task Children_InheritTheArrayJobsTimeout()
    {
        await using var engine = await EngineHarness.CreateAsync();
        await engine.CreateComputeEnvironmentAsync("ce", 4);
        await engine.CreateQueueAsync("q", 1, "ce");
        await engine.RegisterDefinitionAsync("d");
        var parent = await engine.SubmitAsync(new SubmitJobRequest
        {
            JobName = "array",
            JobQueue = "q",
            JobDefinition = "d",
            ArrayProperties = new ArrayProperties { Size = 2 },
            Timeout = new JobTimeout { AttemptDurationSeconds = Timeout },
        });
        await engine.DispatchUntilIdleAsync();
        var child = $"{parent.Id}:1";
        var containerId = await LaunchAndWatchAsync(engine, child);

        engine.Time.Advance(TimeSpan.FromSeconds(Timeout));
        await engine.CompleteAsync(child, 1, containerId);

        Assert.Equal((JobStatus.Failed, RunJob.TimeoutExceeded), ((await engine.GetJobAsync(child)).Status, (await engine.GetJobAsync(child)).StatusReason));
    }

    [Fact]
    public async Task RecoverAsync_StopsAtOnce_WhenTheDeadlinePassedWhileNobodyWatched()
    {
        var (engine, job) = await RunningJobAsync(attempts: 2);
        await using var _ = engine;

        // A RUNNING job whose container a previous portal started 90 s ago; this portal does not follow it yet.
        var runtime = engine.Docker.Default;
        var spec = engine.Get<RunJob>().BuildSpec(await engine.GetJobAsync(job.Id), 1, 8);
        var containerId = await runtime.CreateAndStartAsync(spec, CancellationToken.None);
        var startedAt = engine.Time.GetUtcNow();
        await engine.StateMachine.TryTransitionAsync(job.Id, JobStatus.Starting, JobStatus.Running, null, j => j.AttemptStarted(1, containerId, "d/default/x", startedAt));
        engine.Time.Advance(TimeSpan.FromSeconds(90));

        await engine.Reconciler.ReconcileOnceAsync(CancellationToken.None);
        await engine.CompleteAsync(job.Id, 1, containerId);

        var failed = await engine.GetJobAsync(job.Id);
        Assert.Equal((JobStatus.Failed, RunJob.TimeoutExceeded, 1), (failed.Status, failed.StatusReason, failed.AttemptCount));
        Assert.False(runtime.IsRunning(containerId));
    }
}
