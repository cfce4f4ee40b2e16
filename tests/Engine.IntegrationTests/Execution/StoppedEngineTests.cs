using BatchPortal.Engine.Domain;
using BatchPortal.Engine.Execution;
using BatchPortal.Engine.IntegrationTests.Support;
using BatchPortal.Engine.Resources;
using Microsoft.Extensions.DependencyInjection;

namespace BatchPortal.Engine.IntegrationTests.Execution;

/// <summary>A real Docker engine stopped under running jobs, and started again (issue #11).</summary>
[Collection(DockerCollection.Name)]
[Trait("Category", "Docker")]
public class StoppedEngineTests(EngineHostFixture engine)
{
    [Fact]
    public async Task RunningJobs_SayTheEngineIsAway_ThenFailAsTheirHostTerminated_AtTheTimeTheirContainersStopped()
    {
        // Regression: #11. With the engine stopped under three running jobs, they showed RUNNING with no reason, and
        // afterwards ended FAILED with "Essential container in task exited" and stoppedAt at the time of the recovery.
        await using var docker2 = await SecondDockerEngine.StartAsync();
        var ce = $"ce-stop-{Guid.NewGuid():N}"[..16];
        EngineHostFixture.Ok(await engine.Services.GetRequiredService<ComputeEnvironmentService>().CreateAsync(new CreateComputeEnvironmentRequest
        {
            ComputeEnvironmentName = ce,
            Type = "MANAGED",
            ComputeResources = new ComputeResources { MaxvCpus = 8 },
            DockerEndpoint = docker2.Endpoint,
        }));
        await engine.CreateQueueAsync($"q-{ce}", ce);
        await engine.RegisterAsync("long-sleep", ["sh", "-c", "echo started; exec sleep 600"]);
        var jobs = new List<Job>();
        for (var i = 0; i < 3; i++)
        {
            jobs.Add(await engine.SubmitAsync("long-sleep", r => r.JobQueue = $"q-{ce}"));
        }

        foreach (var job in jobs)
        {
            await engine.WaitForAsync(job.Id, j => j.Status == JobStatus.Running, "RUNNING");
            await WaitUntilAsync(async () => (await engine.LogLinesAsync(job.Id, 1)).Contains("started"), "its first line stored");
        }

        var stopping = engine.Clock.Provider.GetUtcNow();
        await docker2.StopAsync();
        var stopped = engine.Clock.Provider.GetUtcNow();

        // While it is away the jobs say so, and so does the engine's health.
        foreach (var job in jobs)
        {
            var away = await engine.WaitForAsync(job.Id, j => j.StatusReason?.StartsWith($"Docker engine unreachable at {docker2.Endpoint}", StringComparison.Ordinal) == true, "told its engine is unreachable");
            Assert.Equal(JobStatus.Running, away.Status);
        }

        Assert.False(engine.Services.GetRequiredService<DockerHealth>().Peek(docker2.Endpoint)!.Reachable);

        await docker2.StartAgainAsync();
        foreach (var job in jobs)
        {
            var done = await engine.WaitForFinalAsync(job.Id);
            Assert.Equal(JobStatus.Failed, done.Status);
            Assert.Equal($"Host EC2 (instance {docker2.Endpoint}) terminated.", done.StatusReason);
            var attempt = Assert.Single(done.Attempts);
            Assert.Contains("stopped answering", attempt.Reason, StringComparison.Ordinal);
            Assert.True(done.StoppedAt >= stopping.AddSeconds(-2) && done.StoppedAt <= stopped.AddSeconds(2), $"stoppedAt {done.StoppedAt:O} is not when the engine stopped its container ({stopping:O} to {stopped:O}).");
            Assert.Equal(["started"], await engine.LogLinesAsync(job.Id, 1));
        }

        await WaitUntilAsync(async () => (await engine.Services.GetRequiredService<IContainerRuntimeFactory>().ForEndpoint(docker2.Endpoint).ListManagedAsync(CancellationToken.None)).Count == 0, "no container left on the engine");
    }

    private static async Task WaitUntilAsync(Func<Task<bool>> condition, string what)
    {
        using var deadline = new CancellationTokenSource(EngineHostFixture.Deadline);
        while (!await condition())
        {
            if (deadline.IsCancellationRequested)
            {
                Assert.Fail($"Not {what} within {EngineHostFixture.Deadline.TotalSeconds:0} s.");
            }

            await Task.Delay(100, CancellationToken.None);
        }
    }
}
