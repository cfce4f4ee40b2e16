using BatchPortal.Engine.Domain;
using BatchPortal.Engine.Execution;
using BatchPortal.Engine.IntegrationTests.Support;

namespace BatchPortal.Engine.IntegrationTests.Execution;

/// <summary>
/// The attempt timeout on a real container. AWS's minimum is 60 s, so the engine's clock is moved past it rather than
/// waited out; the exact boundary is tested on a fixed clock in Engine.Tests (ContainerWatcherTests).
/// </summary>
[Collection(DockerCollection.Name)]
[Trait("Category", "Docker")]
public class TimeoutTests(EngineHostFixture engine)
{
    [Fact]
    public async Task Job_IsStoppedAndFailsWithoutARetry_WhenItRunsPastItsTimeout()
    {
        await engine.RegisterAsync("timeout-60", ["sh", "-c", "echo started; sleep 300"], r =>
        {
            r.Timeout = new JobTimeout { AttemptDurationSeconds = 60 };
            r.RetryStrategy = new RetryStrategy { Attempts = 2 };
        });
        var submitted = await engine.SubmitAsync("timeout-60");

        // The first line is stored by the watcher, which set its deadline before it started reading.
        await engine.WaitForAsync(submitted.Id, j => j.Status == JobStatus.Running, "RUNNING");
        using (var logged = new CancellationTokenSource(EngineHostFixture.Deadline))
        {
            while ((await engine.LogLinesAsync(submitted.Id, 1)).Count == 0)
            {
                await Task.Delay(50, logged.Token);
            }
        }

        engine.Clock.Jump(TimeSpan.FromSeconds(60));
        var job = await engine.WaitForFinalAsync(submitted.Id);

        Assert.Equal(JobStatus.Failed, job.Status);
        Assert.Equal(RunJob.TimeoutExceeded, job.StatusReason);
        Assert.Equal(1, job.AttemptCount);
        var attempt = Assert.Single(job.Attempts);

        // sleep as PID 1 ignores SIGTERM: Docker kills it after the grace period.
        Assert.Equal(137, attempt.ExitCode);
        Assert.True(attempt.StoppedAt - attempt.StartedAt >= TimeSpan.FromSeconds(60));
        Assert.Equal(["started"], await engine.LogLinesAsync(job.Id, 1));
        await engine.WaitForNoContainersAsync(job.Id);
    }
}
