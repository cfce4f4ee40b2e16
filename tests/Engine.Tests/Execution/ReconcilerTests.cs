using BatchPortal.Engine.Domain;
using BatchPortal.Engine.Execution;
using BatchPortal.Engine.Jobs;
using BatchPortal.Engine.Storage;
using BatchPortal.Engine.Tests.Support;

namespace BatchPortal.Engine.Tests.Execution;

/// <summary>
/// A restarted portal picking up the STARTING and RUNNING jobs of the previous one, by the containers' labels: each job
/// finishes once, no container is made twice and no log line is stored twice.
/// </summary>
public class ReconcilerTests
{
    private static readonly long WholeSecond = new DateTimeOffset(2026, 1, 15, 9, 0, 5, TimeSpan.Zero).ToUnixTimeMilliseconds() * 1_000_000;

    private static async Task<(EngineHarness Engine, Job Job)> PlacedJobAsync(int attempts = 1)
    {
        var engine = await EngineHarness.CreateAsync();
        await engine.CreateComputeEnvironmentAsync("ce", 4);
        await engine.CreateQueueAsync("q", 1, "ce");
        await engine.RegisterDefinitionAsync("d");
        var job = await engine.SubmitAsync(new SubmitJobRequest { JobName = "job", JobQueue = "q", JobDefinition = "d", RetryStrategy = new RetryStrategy { Attempts = attempts } });
        await engine.DispatchUntilIdleAsync();
        return (engine, job);
    }

    /// <summary>What a previous portal left: the attempt's container started and, unless <paramref name="running"/> is false, the job RUNNING.</summary>
    private static async Task<string> StartedByThePreviousPortalAsync(EngineHarness engine, string jobId, bool running = true)
    {
        var spec = engine.Get<RunJob>().BuildSpec(await engine.GetJobAsync(jobId), 1, 8);
        var containerId = await engine.Docker.Default.CreateAndStartAsync(spec, CancellationToken.None);
        if (running)
        {
            var now = engine.Time.GetUtcNow();
            await engine.StateMachine.TryTransitionAsync(jobId, JobStatus.Starting, JobStatus.Running, null, j => j.AttemptStarted(1, containerId, "d/default/x", now));
        }

        return containerId;
    }

    private static Task RecoverAsync(EngineHarness engine) => engine.Reconciler.ReconcileOnceAsync(CancellationToken.None);

    private static LogEvent Stored(string jobId, string stream, long nanos, string text) => new()
    {
        JobId = jobId,
        Attempt = 1,
        Stream = stream,
        Nanos = nanos,
        Timestamp = DateTimeOffset.FromUnixTimeMilliseconds(nanos / 1_000_000),
        Message = text,
    };

    [Fact]
    public async Task ReconcileOnceAsync_StoresEachLineOnce_WhenThePreviousPortalHadStoredSomeOfThem()
    {
        // Regression: the store keeps milliseconds and Docker nanoseconds, so a line already stored looked newer than
        // the stored copy and was stored again after every restart.
        var (engine, job) = await PlacedJobAsync();
        await using var _ = engine;
        var containerId = await StartedByThePreviousPortalAsync(engine, job.Id);
        engine.Docker.Default.Write(containerId, "stdout", WholeSecond + 123_400, "first");
        engine.Docker.Default.Write(containerId, "stderr", WholeSecond + 123_400, "same nanosecond");
        engine.Docker.Default.Write(containerId, "stdout", WholeSecond + 400_000_000, "second");
        engine.Docker.Default.Write(containerId, "stdout", WholeSecond + 1_200_000_000, "third");
        await engine.Get<LogStore>().AppendAsync(job.Id, 1, [Stored(job.Id, "stdout", WholeSecond + 123_400, "first")], 5, cut: false);
        engine.Docker.Default.Exit(containerId, 0);

        await RecoverAsync(engine);
        await engine.CompleteAsync(job.Id, 1, containerId);

        Assert.Equal(
            ["first", "same nanosecond", "second", "third"],
            (await engine.Get<LogStore>().ReadAsync(job.Id, 1)).Select(l => l.Message));
        Assert.Equal(JobStatus.Succeeded, (await engine.GetJobAsync(job.Id)).Status);
    }

    [Fact]
    public async Task ReconcileOnceAsync_StoresNothingTwice_WhenThePreviousPortalHadStoredEveryLine()
    {
        var (engine, job) = await PlacedJobAsync();
        await using var _ = engine;
        var containerId = await StartedByThePreviousPortalAsync(engine, job.Id);
        engine.Docker.Default.Write(containerId, "stdout", WholeSecond + 500, "a");
        engine.Docker.Default.Write(containerId, "stdout", WholeSecond + 777_700, "b");
        await engine.Get<LogStore>().AppendAsync(job.Id, 1, [Stored(job.Id, "stdout", WholeSecond + 500, "a"), Stored(job.Id, "stdout", WholeSecond + 777_700, "b")], 2, cut: false);
        engine.Docker.Default.Exit(containerId, 0);

        await RecoverAsync(engine);
        await engine.CompleteAsync(job.Id, 1, containerId);

        Assert.Equal(["a", "b"], (await engine.Get<LogStore>().ReadAsync(job.Id, 1)).Select(l => l.Message));
    }

    [Fact]
    public async Task ReconcileOnceAsync_FollowsTheRunningContainer_WithoutStartingAnother()
    {
        var (engine, job) = await PlacedJobAsync();
        await using var _ = engine;
        var containerId = await StartedByThePreviousPortalAsync(engine, job.Id);

        await RecoverAsync(engine);
        await RecoverAsync(engine);
        Assert.True(engine.Get<ContainerWatcher>().IsWatching(job.Id, 1));
        var done = await engine.ExitAsync(job.Id, 0);

        Assert.Equal(JobStatus.Succeeded, done.Status);
        Assert.Single(engine.Docker.Default.Created);
        Assert.Single(engine.Hangfire.Calls, c => c.Method == nameof(RunJob.CompleteAsync));
        Assert.Equal(containerId, Assert.Single(done.Attempts).ContainerId);
    }

    [Fact]
    public async Task ReconcileOnceAsync_ReusesTheStartedContainer_WhenTheJobWasStillStarting()
    {
        var (engine, job) = await PlacedJobAsync();
        await using var _ = engine;
        var containerId = await StartedByThePreviousPortalAsync(engine, job.Id, running: false);
        engine.Time.Advance(Reconciler.LaunchGrace);

        await RecoverAsync(engine);
        // The dispatcher's launch was lost with the previous portal; recovery queues it again, for the same attempt.
        Assert.Equal([(job.Id, 1), (job.Id, 1)], engine.Launches());
        await engine.Get<RunJob>().LaunchAsync(job.Id, 1, CancellationToken.None);

        var running = await engine.GetJobAsync(job.Id);
        Assert.Equal(JobStatus.Running, running.Status);
        Assert.Equal(containerId, running.Attempts.Single().ContainerId);
        Assert.Single(engine.Docker.Default.Created);
    }

    [Theory]
    [InlineData(2, JobStatus.Runnable)]
    [InlineData(1, JobStatus.Failed)]
    public async Task ReconcileOnceAsync_EndsTheAttemptWithAReason_WhenItsContainerVanished(int attempts, JobStatus expected)
    {
        var (engine, job) = await PlacedJobAsync(attempts);
        await using var _ = engine;
        var containerId = await StartedByThePreviousPortalAsync(engine, job.Id);
        engine.Docker.Default.Vanish(containerId);

        await RecoverAsync(engine);

        var stored = await engine.GetJobAsync(job.Id);
        Assert.Equal(expected, stored.Status);
        var attempt = Assert.Single(stored.Attempts);
        Assert.Contains("was not found", attempt.Reason, StringComparison.Ordinal);
        Assert.Null(attempt.ExitCode);
        Assert.NotNull(attempt.StoppedAt);
        Assert.False(engine.Get<ContainerWatcher>().IsWatching(job.Id, 1));
    }

    [Fact]
    public async Task ReconcileOnceAsync_QueuesTheStopAgain_WhenATerminatedJobStillRunsAfterARestart()
    {
        // The previous portal flagged the job terminated and queued its stop in Hangfire's in-memory queue, then went away.
        var (engine, job) = await PlacedJobAsync();
        await using var _ = engine;
        await StartedByThePreviousPortalAsync(engine, job.Id);
        Assert.True(await engine.StateMachine.MarkTerminatingAsync(job.Id, "Stopped by the operator"));
        int Stops() => engine.Hangfire.Calls.Count(c => c.Method == nameof(RunJob.StopAsync) && (string?)c.Args[0] == job.Id && (int?)c.Args[1] == 1);

        await RecoverAsync(engine);
        Assert.Equal(1, Stops());

        // Not again while that stop may still be waiting out Docker's grace period.
        engine.Time.Advance(TimeSpan.FromSeconds(10));
        await RecoverAsync(engine);
        Assert.Equal(1, Stops());

        // Overdue: the container still runs, so the stop is queued once more.
        engine.Time.Advance(TimeSpan.FromSeconds(30));
        await RecoverAsync(engine);
        Assert.Equal(2, Stops());
    }

    [Fact]
    public async Task TerminateAsync_IsKeptAndItsStopQueuedByTheReconciler_WhenHangfireRefusesTheStop()
    {
        var (engine, job) = await PlacedJobAsync();
        await using var _ = engine;
        var containerId = await StartedByThePreviousPortalAsync(engine, job.Id);
        await RecoverAsync(engine);
        engine.Hangfire.Failing.Add(nameof(RunJob.StopAsync));

        var terminated = await engine.JobService.TerminateAsync(job.Id, "Stopped by the operator");

        Assert.True(terminated.IsSuccess, terminated.Error?.Message);
        var flagged = await engine.GetJobAsync(job.Id);
        Assert.True(flagged.IsTerminated);
        Assert.Equal(JobStatus.Running, flagged.Status);
        Assert.DoesNotContain(engine.Hangfire.Calls, c => c.Method == nameof(RunJob.StopAsync));

        engine.Hangfire.Failing.Clear();
        await RecoverAsync(engine);
        Assert.Single(engine.Hangfire.Calls, c => c.Method == nameof(RunJob.StopAsync));

        await engine.Get<RunJob>().StopAsync(job.Id, 1, CancellationToken.None);
        await engine.CompleteAsync(job.Id, 1, containerId);
        var done = await engine.GetJobAsync(job.Id);
        Assert.Equal((JobStatus.Failed, "Stopped by the operator"), (done.Status, done.StatusReason));
    }
}
