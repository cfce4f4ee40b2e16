using BatchPortal.Engine.Domain;
using BatchPortal.Engine.IntegrationTests.Support;
using BatchPortal.Engine.Resources;
using Microsoft.Extensions.DependencyInjection;

namespace BatchPortal.Engine.IntegrationTests.Dispatch;

[Collection(DockerCollection.Name)]
[Trait("Category", "Docker")]
public class JobDispatcherTests(EngineHostFixture engine)
{
    private const string NoDocker = "unix:///tmp/no-such-docker.sock";

    [Fact]
    public async Task Job_StaysRunnableWithTheEndpointInItsReason_WhenItsComputeEnvironmentsDockerIsUnreachable()
    {
        EngineHostFixture.Ok(await engine.Services.GetRequiredService<ComputeEnvironmentService>().CreateAsync(new CreateComputeEnvironmentRequest
        {
            ComputeEnvironmentName = "ce-nowhere",
            Type = "MANAGED",
            ComputeResources = new ComputeResources { MaxvCpus = 4 },
            DockerEndpoint = NoDocker,
        }));
        await engine.CreateQueueAsync("q-nowhere", "ce-nowhere");
        await engine.RegisterAsync("nowhere", ["true"]);

        var submitted = await engine.SubmitAsync("nowhere", s => s.JobQueue = "q-nowhere");
        var job = await engine.WaitForAsync(
            submitted.Id,
            j => j.StatusReason?.Contains($"Docker engine unreachable at {NoDocker}", StringComparison.Ordinal) == true,
            "RUNNABLE with an unreachable-engine reason");

        Assert.Equal(JobStatus.Runnable, job.Status);
        Assert.Equal(0, job.AttemptCount);
        Assert.Empty(job.Attempts);
        EngineHostFixture.Ok(await engine.JobService.CancelAsync(job.Id, "no engine"));
    }
}
