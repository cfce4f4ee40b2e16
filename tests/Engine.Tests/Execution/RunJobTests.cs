using BatchPortal.Engine.Domain;
using BatchPortal.Engine.Execution;
using BatchPortal.Engine.Tests.Support;

namespace BatchPortal.Engine.Tests.Execution;

public class RunJobTests
{
    private static async Task<(EngineHarness Engine, Job Job)> StartingJobAsync()
    {
        var engine = await EngineHarness.CreateAsync();
        await engine.CreateComputeEnvironmentAsync("ce", 4);
        await engine.CreateQueueAsync("q", 1, "ce");
        await engine.RegisterDefinitionAsync("d", vcpus: 2, memoryMiB: 256);
        var job = await engine.SubmitAsync("q", "d");
        await engine.DispatchOnceAsync();
        Assert.Equal(JobStatus.Starting, (await engine.GetJobAsync(job.Id)).Status);
        return (engine, job);
    }

    [Fact]
    public async Task LaunchAsync_StartsALabelledContainerWithTheBatchEnvironment_AndCompleteAsyncFinishesTheJob()
    {
        var (engine, job) = await StartingJobAsync();
        await using var _ = engine;
        var runJob = engine.Get<RunJob>();

        await runJob.LaunchAsync(job.Id, 1, CancellationToken.None);

        var running = await engine.GetJobAsync(job.Id);
        Assert.Equal(JobStatus.Running, running.Status);
        var spec = Assert.Single(engine.Docker.Default.Started);
        Assert.Equal("busybox:latest", spec.Image);
        Assert.Equal(["echo", "hello"], spec.Command);
        Assert.Equal((2.0, 256), (spec.Vcpus, spec.MemoryMiB));
        Assert.Equal(job.Id, spec.Environment["AWS_BATCH_JOB_ID"]);
        Assert.Equal("1", spec.Environment["AWS_BATCH_JOB_ATTEMPT"]);
        Assert.Equal("q", spec.Environment["AWS_BATCH_JQ_NAME"]);
        Assert.Equal("ce", spec.Environment["AWS_BATCH_CE_NAME"]);
        Assert.Equal(job.Id, spec.Labels[ContainerLabels.JobId]);
        Assert.Equal("1", spec.Labels[ContainerLabels.Attempt]);
        var containerId = Assert.Single(running.Attempts).ContainerId!;
        Assert.Equal(EngineHarness.Epoch.AddMilliseconds(10), running.StartedAt);

        engine.Docker.Default.Exit(containerId, 0);
        var complete = await engine.Hangfire.WaitForAsync(c => c.Method == nameof(RunJob.CompleteAsync));
        Assert.Equal([job.Id, 1, containerId], complete.Args.Take(3));
        await runJob.CompleteAsync(job.Id, 1, containerId, CancellationToken.None);

        var done = await engine.GetJobAsync(job.Id);
        Assert.Equal(JobStatus.Succeeded, done.Status);
        Assert.Equal(RunJob.EssentialContainerExited, done.StatusReason);
        Assert.Equal(0, done.ExitCode);
        Assert.Null(await engine.Docker.Default.InspectAsync(containerId, CancellationToken.None));
    }

    [Fact]
    public async Task LaunchAsync_PutsTheJobBackToRunnableAndDropsTheAttempt_WhenDockerIsUnreachable()
    {
        var (engine, job) = await StartingJobAsync();
        await using var _ = engine;
        engine.Docker.Default.UnreachableError = "connection refused";

        await engine.Get<RunJob>().LaunchAsync(job.Id, 1, CancellationToken.None);

        var stored = await engine.GetJobAsync(job.Id);
        Assert.Equal(JobStatus.Runnable, stored.Status);
        Assert.Equal(0, stored.AttemptCount);
        Assert.Empty(stored.Attempts);
        Assert.Contains($"Docker engine unreachable at {engine.Docker.DefaultEndpoint}", stored.StatusReason, StringComparison.Ordinal);
        Assert.Empty(engine.Docker.Default.Started);

        // The capacity it held is free again: once Docker answers, the job is placed as attempt 1.
        engine.Docker.Default.UnreachableError = null;
        await engine.Get<DockerHealth>().CheckAsync(engine.Docker.DefaultEndpoint);
        await engine.DispatchOnceAsync();
        var placed = await engine.GetJobAsync(job.Id);
        Assert.Equal(JobStatus.Starting, placed.Status);
        Assert.Equal(1, Assert.Single(placed.Attempts).Number);
    }

    [Fact]
    public async Task LaunchAsync_DoesNothing_WhenTheAttemptIsNotTheCurrentOne()
    {
        var (engine, job) = await StartingJobAsync();
        await using var _ = engine;

        await engine.Get<RunJob>().LaunchAsync(job.Id, 2, CancellationToken.None);

        Assert.Equal(JobStatus.Starting, (await engine.GetJobAsync(job.Id)).Status);
        Assert.Empty(engine.Docker.Default.Started);
    }
}
