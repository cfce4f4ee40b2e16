using BatchPortal.Engine.Domain;
using BatchPortal.Engine.IntegrationTests.Support;

namespace BatchPortal.Engine.IntegrationTests.Jobs;

[Collection(DockerCollection.Name)]
[Trait("Category", "Docker")]
public class JobServiceTests(EngineHostFixture engine)
{
    [Fact]
    public async Task TerminateAsync_StopsTheContainerAndFailsTheJobWithTheReason_WhenJobIsRunning()
    {
        await engine.RegisterAsync("sleeper", ["sleep", "30"]);
        var submitted = await engine.SubmitAsync("sleeper");
        var running = await engine.WaitForAsync(submitted.Id, j => j.Status == JobStatus.Running, "RUNNING");
        Assert.Single(await engine.ContainersOfAsync(running.Id));

        var terminated = await engine.JobService.TerminateAsync(running.Id, "Stopped by the integration test");

        Assert.True(EngineHostFixture.Ok(terminated));
        var job = await engine.WaitForFinalAsync(running.Id);
        Assert.Equal(JobStatus.Failed, job.Status);
        Assert.Equal("Stopped by the integration test", job.StatusReason);
        Assert.True(job.IsTerminated);
        Assert.Equal(1, job.AttemptCount);
        Assert.NotEqual(0, job.ExitCode);
        await engine.WaitForNoContainersAsync(job.Id);
    }

    [Fact]
    public async Task CancelAsync_DoesNothing_WhenJobIsAlreadyRunning()
    {
        await engine.RegisterAsync("sleeper-cancel", ["sleep", "30"]);
        var submitted = await engine.SubmitAsync("sleeper-cancel");
        var running = await engine.WaitForAsync(submitted.Id, j => j.Status == JobStatus.Running, "RUNNING");

        var cancelled = await engine.JobService.CancelAsync(running.Id, "too late");

        Assert.False(EngineHostFixture.Ok(cancelled));
        Assert.Equal(JobStatus.Running, (await engine.Jobs.GetAsync(running.Id))!.Status);
        EngineHostFixture.Ok(await engine.JobService.TerminateAsync(running.Id, "clean up"));
        await engine.WaitForFinalAsync(running.Id);
        await engine.WaitForNoContainersAsync(running.Id);
    }
}
