using BatchPortal.Engine.Domain;
using BatchPortal.Engine.IntegrationTests.Support;
using BatchPortal.Engine.Dispatch;

namespace BatchPortal.Engine.IntegrationTests.Jobs;

/// <summary><c>dependsOn</c> on real containers (issue #4).</summary>
[Collection(DockerCollection.Name)]
[Trait("Category", "Docker")]
public class DependencyTests(EngineHostFixture engine)
{
    [Fact]
    public async Task Dependent_StaysPendingUntilItsDependencySucceeded_ThenRuns()
    {
        await engine.RegisterAsync("dep-first", ["sh", "-c", "sleep 1; echo first"]);
        await engine.RegisterAsync("dep-second", ["echo", "second"]);
        var a = await engine.SubmitAsync("dep-first");
        var b = await engine.SubmitAsync("dep-second", r => r.DependsOn = [new JobDependency { JobId = a.Id }]);

        await engine.WaitForAsync(a.Id, j => j.Status == JobStatus.Running, "RUNNING");
        var waiting = await engine.Jobs.GetAsync(b.Id);
        Assert.Equal(JobStatus.Pending, waiting!.Status);
        Assert.Empty(await engine.ContainersOfAsync(b.Id));

        var second = await engine.WaitForFinalAsync(b.Id);
        var first = await engine.Jobs.GetAsync(a.Id);

        Assert.Equal((JobStatus.Succeeded, JobStatus.Succeeded), (first!.Status, second.Status));
        Assert.True(second.Attempts.Single().StartedAt >= first.StoppedAt, $"B started at {second.StartedAt:O}, before A stopped at {first.StoppedAt:O}.");
        Assert.Equal(
            [JobStatus.Submitted, JobStatus.Pending, JobStatus.Runnable, JobStatus.Starting, JobStatus.Running, JobStatus.Succeeded],
            (await engine.Jobs.GetHistoryAsync(b.Id)).Select(h => h.To));
        Assert.Equal(["second"], await engine.LogLinesAsync(b.Id, 1));
    }

    [Fact]
    public async Task Dependents_FailDownTheChainWithoutRunning_WhenTheFirstJobFails()
    {
        await engine.RegisterAsync("dep-fails", ["sh", "-c", "exit 2"]);
        await engine.RegisterAsync("dep-never", ["echo", "must not run"]);
        var a = await engine.SubmitAsync("dep-fails");
        var b = await engine.SubmitAsync("dep-never", r => r.DependsOn = [new JobDependency { JobId = a.Id }]);
        var c = await engine.SubmitAsync("dep-never", r => r.DependsOn = [new JobDependency { JobId = b.Id }]);

        var last = await engine.WaitForFinalAsync(c.Id);
        var middle = (await engine.Jobs.GetAsync(b.Id))!;
        var first = (await engine.Jobs.GetAsync(a.Id))!;

        Assert.Equal((JobStatus.Failed, 2), (first.Status, first.ExitCode));
        foreach (var job in new[] { middle, last })
        {
            Assert.Equal(JobStatus.Failed, job.Status);
            Assert.Equal(JobDispatcher.DependentJobFailed, job.StatusReason);
            Assert.Empty(job.Attempts);
            Assert.Empty(await engine.LogLinesAsync(job.Id, 1));
            Assert.Empty(await engine.ContainersOfAsync(job.Id));
        }
    }
}
