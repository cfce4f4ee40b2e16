using BatchPortal.Engine.Domain;
using BatchPortal.Engine.Execution;
using BatchPortal.Engine.Tests.Support;
using Microsoft.Extensions.DependencyInjection;

namespace BatchPortal.Engine.Tests.Execution;

/// <summary>The Docker engine lost in the middle of a run (issue #4): the job waits with a reason, and goes on when it is back.</summary>
public class DockerOutageTests
{
    [Fact]
    public async Task RunningJob_StaysRunningWhileDockerIsAway_AndCompletesWhenItAnswersAgain()
    {
        await using var engine = await EngineHarness.CreateAsync();
        await engine.CreateComputeEnvironmentAsync("ce", 4);
        await engine.CreateQueueAsync("q", 1, "ce");
        await engine.RegisterDefinitionAsync("d");
        var job = await engine.SubmitAsync("q", "d");
        await engine.DispatchUntilIdleAsync();
        var containerId = await engine.LaunchAsync(job.Id);
        var docker = engine.Docker.Default;
        var watcher = engine.Services.GetRequiredService<ContainerWatcher>();
        var health = engine.Services.GetRequiredService<DockerHealth>();
        await docker.WaitingForExit(containerId);

        docker.Disconnect("connection refused");
        await WaitUntilAsync(() => !watcher.IsWatching(job.Id, 1));

        Assert.Equal(JobStatus.Running, (await engine.GetJobAsync(job.Id)).Status);
        Assert.False(health.Peek(docker.Endpoint)!.Reachable);
        Assert.Contains("connection refused", health.Peek(docker.Endpoint)!.UnreachableReason, StringComparison.Ordinal);

        // While the engine was away the container finished; when it answers, recovery finds it by its labels.
        docker.Exit(containerId, 0);
        docker.Reconnect();
        await health.CheckAsync(docker.Endpoint);
        await engine.CompleteAsync(job.Id, 1, containerId);

        var done = await engine.GetJobAsync(job.Id);
        Assert.Equal(JobStatus.Succeeded, done.Status);
        Assert.Single(done.Attempts);
        Assert.Single(docker.Created);
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

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        while (!condition())
        {
            await Task.Delay(10, deadline.Token);
        }
    }
}
