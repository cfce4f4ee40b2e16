using BatchPortal.Engine.Domain;
using BatchPortal.Engine.Execution;
using BatchPortal.Engine.Jobs;
using BatchPortal.Engine.Resources;
using BatchPortal.Engine.Dispatch;
using BatchPortal.Engine.Tests.Support;

namespace BatchPortal.Engine.Tests.Dispatch;

public class JobDispatcherTests
{
    [Fact]
    public async Task DispatchOnceAsync_MovesSubmittedJobThroughRunnableToStarting_WhenCapacityIsFree()
    {
        await using var engine = await EngineHarness.CreateAsync();
        await engine.CreateComputeEnvironmentAsync("ce", 4);
        await engine.CreateQueueAsync("q", 1, "ce");
        await engine.RegisterDefinitionAsync("d");
        var job = await engine.SubmitAsync("q", "d");

        var moved = await engine.DispatchOnceAsync();

        Assert.True(moved);
        var stored = await engine.GetJobAsync(job.Id);
        Assert.Equal(JobStatus.Starting, stored.Status);
        Assert.Equal(1, stored.AttemptCount);
        Assert.Equal("ce", stored.ComputeEnvironmentName);
        var attempt = Assert.Single(stored.Attempts);
        Assert.Equal((1, "ce"), (attempt.Number, attempt.ComputeEnvironmentName));
        Assert.Null(attempt.ContainerId);

        var history = await engine.Jobs.GetHistoryAsync(job.Id);
        Assert.Equal([JobStatus.Submitted, JobStatus.Runnable, JobStatus.Starting], history.Select(h => h.To));

        Assert.Equal([(job.Id, 1)], engine.Launches());
        Assert.Equal("Enqueued", Assert.Single(engine.Hangfire.Calls).State);
    }

    [Fact]
    public async Task DispatchOnceAsync_ReturnsFalse_WhenThereIsNothingToDo()
    {
        await using var engine = await EngineHarness.CreateAsync();
        await engine.CreateComputeEnvironmentAsync("ce", 4);
        await engine.CreateQueueAsync("q", 1, "ce");

        Assert.False(await engine.DispatchOnceAsync());
        Assert.Empty(engine.Hangfire.Calls);
    }

    [Fact]
    public async Task DispatchOnceAsync_PlacesOnlyWhatFits_WhenJobsNeedMoreThanMaxvCpus()
    {
        await using var engine = await EngineHarness.CreateAsync();
        await engine.CreateComputeEnvironmentAsync("ce-small", 4);
        await engine.CreateQueueAsync("q", 1, "ce-small");
        await engine.RegisterDefinitionAsync("d", vcpus: 1);
        var jobs = new List<Job>();
        for (var i = 0; i < 5; i++)
        {
            jobs.Add(await engine.SubmitAsync("q", "d", $"job-{i}"));
        }

        await engine.DispatchOnceAsync();

        var stored = await Task.WhenAll(jobs.Select(j => engine.GetJobAsync(j.Id)));
        Assert.Equal(4, stored.Count(j => j.Status == JobStatus.Starting));
        var waiting = Assert.Single(stored, j => j.Status == JobStatus.Runnable);
        Assert.Equal(jobs[4].Id, waiting.Id);
        Assert.StartsWith("CAPACITY:INSUFFICIENT_INSTANCE_CAPACITY", waiting.StatusReason, StringComparison.Ordinal);
        Assert.Contains("ce-small", waiting.StatusReason, StringComparison.Ordinal);
        Assert.Contains("4 of 4", waiting.StatusReason, StringComparison.Ordinal);
        Assert.Equal(4, engine.Launches().Count);
    }

    [Fact]
    public async Task DispatchOnceAsync_PlacesTheWaitingJob_WhenARunningJobFinishes()
    {
        await using var engine = await EngineHarness.CreateAsync();
        await engine.CreateComputeEnvironmentAsync("ce", 1);
        await engine.CreateQueueAsync("q", 1, "ce");
        await engine.RegisterDefinitionAsync("d", vcpus: 1);
        var first = await engine.SubmitAsync("q", "d", "first");
        var second = await engine.SubmitAsync("q", "d", "second");
        await engine.DispatchOnceAsync();
        Assert.Equal(JobStatus.Runnable, (await engine.GetJobAsync(second.Id)).Status);

        await engine.StateMachine.TryTransitionAsync(first.Id, JobStatus.Starting, JobStatus.Failed, "gone");
        await engine.DispatchOnceAsync();

        Assert.Equal(JobStatus.Starting, (await engine.GetJobAsync(second.Id)).Status);
        Assert.Equal([first.Id, second.Id], engine.Launches().Select(l => l.JobId));
    }

    [Fact]
    public async Task DispatchOnceAsync_PlacesTheHigherPriorityQueueFirst_WhenCapacityIsShort()
    {
        await using var engine = await EngineHarness.CreateAsync();
        await engine.CreateComputeEnvironmentAsync("shared", 1);
        await engine.CreateQueueAsync("low", 1, "shared");
        await engine.CreateQueueAsync("high", 100, "shared");
        await engine.RegisterDefinitionAsync("d", vcpus: 1);

        // Submitted first, so FIFO alone would pick it.
        var lowJob = await engine.SubmitAsync("low", "d", "low-job");
        var highJob = await engine.SubmitAsync("high", "d", "high-job");

        await engine.DispatchOnceAsync();

        Assert.Equal(JobStatus.Starting, (await engine.GetJobAsync(highJob.Id)).Status);
        var low = await engine.GetJobAsync(lowJob.Id);
        Assert.Equal(JobStatus.Runnable, low.Status);
        Assert.StartsWith("CAPACITY:INSUFFICIENT_INSTANCE_CAPACITY", low.StatusReason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task DispatchOnceAsync_PlacesJobsInSubmitOrder_WithinAQueue()
    {
        await using var engine = await EngineHarness.CreateAsync();
        await engine.CreateComputeEnvironmentAsync("ce", 1);
        await engine.CreateQueueAsync("q", 1, "ce");
        await engine.RegisterDefinitionAsync("d", vcpus: 1);
        var ids = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            ids.Add((await engine.SubmitAsync("q", "d", $"job-{i}")).Id);
        }

        // One slot: each pass places the oldest waiting job once the previous one is done.
        for (var i = 0; i < 3; i++)
        {
            await engine.DispatchOnceAsync();
            Assert.Equal(ids[..(i + 1)], engine.Launches().Select(l => l.JobId));
            await engine.StateMachine.TryTransitionAsync(ids[i], JobStatus.Starting, JobStatus.Failed, "done");
        }
    }

    [Fact]
    public async Task DispatchOnceAsync_KeepsJobRunnableWithMaxResourceReason_WhenNoComputeEnvironmentHasEnoughvCpus()
    {
        await using var engine = await EngineHarness.CreateAsync();
        await engine.CreateComputeEnvironmentAsync("ce-a", 2);
        await engine.CreateComputeEnvironmentAsync("ce-b", 4);
        await engine.CreateQueueAsync("q", 1, "ce-a", "ce-b");
        await engine.RegisterDefinitionAsync("big", vcpus: 6);
        var job = await engine.SubmitAsync("q", "big");

        var moved = await engine.DispatchOnceAsync();

        var stored = await engine.GetJobAsync(job.Id);
        Assert.Equal(JobStatus.Runnable, stored.Status);
        Assert.StartsWith(JobDispatcher.MaxResourceReason, stored.StatusReason, StringComparison.Ordinal);
        Assert.StartsWith("MISCONFIGURATION:COMPUTE_ENVIRONMENT_MAX_RESOURCE", stored.StatusReason, StringComparison.Ordinal);
        Assert.Contains("needs 6 vCPUs", stored.StatusReason, StringComparison.Ordinal);
        Assert.Contains("allows is 4", stored.StatusReason, StringComparison.Ordinal);
        Assert.Empty(engine.Launches());
        Assert.True(moved); // SUBMITTED -> RUNNABLE was a move.
    }

    [Fact]
    public async Task DispatchOnceAsync_UsesTheNextComputeEnvironment_WhenTheFirstIsFull()
    {
        await using var engine = await EngineHarness.CreateAsync();
        await engine.CreateComputeEnvironmentAsync("ce-first", 1);
        await engine.CreateComputeEnvironmentAsync("ce-second", 1);
        await engine.CreateQueueAsync("q", 1, "ce-first", "ce-second");
        await engine.RegisterDefinitionAsync("d", vcpus: 1);
        var a = await engine.SubmitAsync("q", "d", "a");
        var b = await engine.SubmitAsync("q", "d", "b");

        await engine.DispatchOnceAsync();

        Assert.Equal("ce-first", (await engine.GetJobAsync(a.Id)).ComputeEnvironmentName);
        Assert.Equal("ce-second", (await engine.GetJobAsync(b.Id)).ComputeEnvironmentName);
    }

    [Fact]
    public async Task DispatchOnceAsync_KeepsJobRunnableWithReason_WhenEveryComputeEnvironmentIsDisabled()
    {
        await using var engine = await EngineHarness.CreateAsync();
        await engine.CreateComputeEnvironmentAsync("ce-off", 4, state: "DISABLED");
        await engine.CreateQueueAsync("q", 1, "ce-off");
        await engine.RegisterDefinitionAsync("d");
        var job = await engine.SubmitAsync("q", "d");

        await engine.DispatchOnceAsync();

        var stored = await engine.GetJobAsync(job.Id);
        Assert.Equal(JobStatus.Runnable, stored.Status);
        Assert.Contains("disabled", stored.StatusReason, StringComparison.Ordinal);
        Assert.Contains("ce-off", stored.StatusReason, StringComparison.Ordinal);
        Assert.Empty(engine.Launches());
    }

    [Fact]
    public async Task DispatchOnceAsync_PlacesTheJob_WhenItsComputeEnvironmentIsEnabledAgain()
    {
        await using var engine = await EngineHarness.CreateAsync();
        await engine.CreateComputeEnvironmentAsync("ce", 4, state: "DISABLED");
        await engine.CreateQueueAsync("q", 1, "ce");
        await engine.RegisterDefinitionAsync("d");
        var job = await engine.SubmitAsync("q", "d");
        await engine.DispatchOnceAsync();

        EngineHarness.Ok(await engine.Get<ComputeEnvironmentService>().SetStateAsync("ce", ResourceState.Enabled));
        await engine.DispatchOnceAsync();

        Assert.Equal(JobStatus.Starting, (await engine.GetJobAsync(job.Id)).Status);
    }

    [Fact]
    public async Task DispatchOnceAsync_KeepsJobRunnableWithEndpointInReason_WhenDockerIsUnreachable()
    {
        await using var engine = await EngineHarness.CreateAsync();
        engine.Docker.Default.UnreachableError = "connect ENOENT /fake/docker.sock";
        await engine.CreateComputeEnvironmentAsync("ce", 4);
        await engine.CreateQueueAsync("q", 1, "ce");
        await engine.RegisterDefinitionAsync("d");
        var job = await engine.SubmitAsync("q", "d");

        await engine.DispatchOnceAsync();

        var stored = await engine.GetJobAsync(job.Id);
        Assert.Equal(JobStatus.Runnable, stored.Status);
        Assert.Contains($"Docker engine unreachable at {engine.Docker.DefaultEndpoint}", stored.StatusReason, StringComparison.Ordinal);
        Assert.Contains("connect ENOENT /fake/docker.sock", stored.StatusReason, StringComparison.Ordinal);
        Assert.Empty(engine.Launches());
    }

    [Fact]
    public async Task DispatchOnceAsync_PlacesOnTheReachableEngine_WhenAnotherComputeEnvironmentsDockerIsDown()
    {
        await using var engine = await EngineHarness.CreateAsync();
        engine.Docker.For("tcp://down.example:2375").UnreachableError = "connection refused";
        await engine.CreateComputeEnvironmentAsync("ce-down", 4, dockerEndpoint: "tcp://down.example:2375");
        await engine.CreateComputeEnvironmentAsync("ce-up", 4);
        await engine.CreateQueueAsync("q", 1, "ce-down", "ce-up");
        await engine.RegisterDefinitionAsync("d");
        var job = await engine.SubmitAsync("q", "d");

        await engine.DispatchOnceAsync();

        var stored = await engine.GetJobAsync(job.Id);
        Assert.Equal(JobStatus.Starting, stored.Status);
        Assert.Equal("ce-up", stored.ComputeEnvironmentName);
    }

    [Fact]
    public async Task DispatchOnceAsync_KeepsJobRunnableWithReason_WhenItNeedsMoreMemoryThanTheDockerHost()
    {
        await using var engine = await EngineHarness.CreateAsync();
        engine.Docker.Default.Host = new HostInfo("fake", 8, 2L * 1024 * 1024 * 1024, "FakeOS");
        await engine.CreateComputeEnvironmentAsync("ce", 8);
        await engine.CreateQueueAsync("q", 1, "ce");
        await engine.RegisterDefinitionAsync("d", memoryMiB: 4096);
        var job = await engine.SubmitAsync("q", "d");

        await engine.DispatchOnceAsync();

        var stored = await engine.GetJobAsync(job.Id);
        Assert.Equal(JobStatus.Runnable, stored.Status);
        Assert.StartsWith("MISCONFIGURATION:JOB_RESOURCE_REQUIREMENT", stored.StatusReason, StringComparison.Ordinal);
        Assert.Contains("2048 MiB", stored.StatusReason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SubmitAsync_RefusesDisabledQueue_ButDispatchStillPlacesItsRunnableJobs()
    {
        await using var engine = await EngineHarness.CreateAsync();
        await engine.CreateComputeEnvironmentAsync("ce", 4);
        await engine.CreateQueueAsync("q", 1, "ce");
        await engine.RegisterDefinitionAsync("d");
        var accepted = await engine.SubmitAsync("q", "d", "before-disable");
        EngineHarness.Ok(await engine.Get<JobQueueService>().SetStateAsync("q", ResourceState.Disabled));

        var refused = await engine.JobService.SubmitAsync(new SubmitJobRequest { JobName = "after-disable", JobQueue = "q", JobDefinition = "d" });
        await engine.DispatchOnceAsync();

        var error = Assert.IsType<ValidationFailed>(refused.Error);
        var field = Assert.Single(error.Errors);
        Assert.Equal("jobQueue", field.Field);
        Assert.Contains("q is DISABLED", field.Message, StringComparison.Ordinal);
        Assert.Equal(JobStatus.Starting, (await engine.GetJobAsync(accepted.Id)).Status);
    }
}
