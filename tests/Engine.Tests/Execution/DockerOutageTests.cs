using BatchPortal.Engine.Domain;
using BatchPortal.Engine.Execution;
using BatchPortal.Engine.Jobs;
using BatchPortal.Engine.Tests.Support;
using Microsoft.Extensions.DependencyInjection;

namespace BatchPortal.Engine.Tests.Execution;

/// <summary>The Docker engine lost in the middle of a run (issue #4): the job waits with a reason, and goes on when it is back.</summary>
public class DockerOutageTests
{
    private static async Task<(EngineHarness Engine, Job Job, string ContainerId)> RunningAsync(RetryStrategy? retry = null)
    {
        var engine = await EngineHarness.CreateAsync();
        await engine.CreateComputeEnvironmentAsync("ce", 4);
        await engine.CreateQueueAsync("q", 1, "ce");
        await engine.RegisterDefinitionAsync("d");
        var job = await engine.SubmitAsync(new SubmitJobRequest { JobName = "j", JobQueue = "q", JobDefinition = "d", RetryStrategy = retry });
        await engine.DispatchUntilIdleAsync();
        var containerId = await engine.LaunchAsync(job.Id);
        await engine.Docker.Default.WaitingForExit(containerId);
        return (engine, job, containerId);
    }

    [Fact]
    public async Task RunningJob_SaysItsEngineIsAway_AndCompletesWhenItAnswersAgain()
    {
        var (engine, job, containerId) = await RunningAsync();
        await using var _ = engine;
        var docker = engine.Docker.Default;
        var watcher = engine.Services.GetRequiredService<ContainerWatcher>();
        var health = engine.Services.GetRequiredService<DockerHealth>();

        docker.Disconnect("connection refused");
        var away = await WaitForJobAsync(engine, job.Id, j => j.StatusReason?.Contains("unreachable", StringComparison.Ordinal) == true);

        // The job says what is going on, the watch goes on, and the engine is known to be down.
        Assert.Equal(JobStatus.Running, away.Status);
        Assert.StartsWith($"Docker engine unreachable at {docker.Endpoint} since", away.StatusReason, StringComparison.Ordinal);
        Assert.True(watcher.IsWatching(job.Id, 1));
        Assert.False(health.Peek(docker.Endpoint)!.Reachable);

        // While the engine was away the container finished well; when it answers, the watch sees it and completes it.
        docker.Exit(containerId, 0);
        docker.Reconnect();
        await PumpUntilAsync(engine, () => engine.Hangfire.Calls.Any(c => c.Method == nameof(RunJob.CompleteAsync)));
        await engine.CompleteAsync(job.Id, 1, containerId);

        var done = await engine.GetJobAsync(job.Id);
        Assert.Equal((JobStatus.Succeeded, RunJob.EssentialContainerExited), (done.Status, done.StatusReason));
        Assert.Single(done.Attempts);
        Assert.Single(docker.Created);
    }

    [Fact]
    public async Task RunningJob_FailsAsItsHostTerminated_AtTheContainersOwnExitTime_WhenItStoppedWithTheEngine()
    {
        // Regression: #11. With the engine stopped under running jobs they showed RUNNING with no reason, and ended
        // FAILED with "Essential container in task exited" and stoppedAt at the time of the recovery.
        var (engine, job, containerId) = await RunningAsync();
        await using var _ = engine;
        var docker = engine.Docker.Default;
        engine.Time.Advance(TimeSpan.FromMinutes(1));

        docker.Disconnect("connection refused");
        await WaitForJobAsync(engine, job.Id, j => j.StatusReason?.Contains("unreachable", StringComparison.Ordinal) == true);
        engine.Time.Advance(TimeSpan.FromSeconds(30));
        var stoppedAt = engine.Time.GetUtcNow();
        docker.Exit(containerId, 143); // the engine stopping stops its containers
        engine.Time.Advance(TimeSpan.FromMinutes(2));
        docker.Reconnect();
        await PumpUntilAsync(engine, () => engine.Hangfire.Calls.Any(c => c.Method == nameof(RunJob.CompleteAsync)));
        await engine.CompleteAsync(job.Id, 1, containerId);

        var done = await engine.GetJobAsync(job.Id);
        Assert.Equal(JobStatus.Failed, done.Status);
        Assert.Equal($"Host EC2 (instance {docker.Endpoint}) terminated.", done.StatusReason);
        Assert.Equal(stoppedAt.ToUnixTimeMilliseconds(), done.StoppedAt!.Value.ToUnixTimeMilliseconds());
        var attempt = Assert.Single(done.Attempts);
        Assert.Equal(143, attempt.ExitCode);
        Assert.Contains("stopped answering", attempt.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RunningJob_IsRetried_WhenItsRetryStrategyRetriesOnHostEc2_AndItsContainerStoppedWithTheEngine()
    {
        var retry = new RetryStrategy { Attempts = 2, EvaluateOnExit = [new EvaluateOnExit { OnStatusReason = "Host EC2*", Action = "RETRY" }, new EvaluateOnExit { OnReason = "*", Action = "EXIT" }] };
        var (engine, job, containerId) = await RunningAsync(retry);
        await using var _ = engine;
        var docker = engine.Docker.Default;

        docker.Disconnect("connection refused");
        await WaitForJobAsync(engine, job.Id, j => j.StatusReason?.Contains("unreachable", StringComparison.Ordinal) == true);
        docker.Exit(containerId, 137);
        docker.Reconnect();
        await PumpUntilAsync(engine, () => engine.Hangfire.Calls.Any(c => c.Method == nameof(RunJob.CompleteAsync)));
        await engine.CompleteAsync(job.Id, 1, containerId);

        var retried = await engine.GetJobAsync(job.Id);
        Assert.Equal(JobStatus.Runnable, retried.Status);
        Assert.StartsWith("Host EC2", retried.Attempts.Single().StatusReason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RunnableJob_WaitsWithTheEnginesReason_WhileDockerIsAway()
    {
        await using var engine = await EngineHarness.CreateAsync();
        await engine.CreateComputeEnvironmentAsync("ce", 4);
        await engine.CreateQueueAsync("q", 1, "ce");
        await engine.RegisterDefinitionAsync("d");
        engine.Docker.Default.Disconnect("no such file or directory");
        var health = engine.Services.GetRequiredService<DockerHealth>();
        await health.CheckAsync(engine.Docker.DefaultEndpoint);

        var job = await engine.SubmitAsync("q", "d");
        await engine.DispatchUntilIdleAsync();

        var waiting = await engine.GetJobAsync(job.Id);
        Assert.Equal(JobStatus.Runnable, waiting.Status);
        Assert.Equal($"Docker engine unreachable at {engine.Docker.DefaultEndpoint}: no such file or directory", waiting.StatusReason);

        engine.Docker.Default.Reconnect();
        await health.CheckAsync(engine.Docker.DefaultEndpoint);
        await engine.DispatchUntilIdleAsync();
        Assert.Equal(JobStatus.Starting, (await engine.GetJobAsync(job.Id)).Status);
    }

    private static async Task<Job> WaitForJobAsync(EngineHarness engine, string jobId, Func<Job, bool> condition)
    {
        Job? job = null;
        await PumpUntilAsync(engine, () =>
        {
            job = engine.GetJobAsync(jobId).GetAwaiter().GetResult();
            return condition(job);
        });
        return job!;
    }

    /// <summary>Moves the fake clock a second at a time (the watch's pauses run on it) until the condition holds.</summary>
    private static async Task PumpUntilAsync(EngineHarness engine, Func<bool> condition)
    {
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        while (!condition())
        {
            engine.Time.Advance(TimeSpan.FromSeconds(1));
            await Task.Delay(10, deadline.Token);
        }
    }
}
