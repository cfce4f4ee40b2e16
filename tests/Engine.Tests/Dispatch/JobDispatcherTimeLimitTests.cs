using BatchPortal.Engine.Domain;
using BatchPortal.Engine.Resources;
using BatchPortal.Engine.Dispatch;
using BatchPortal.Engine.Tests.Support;

namespace BatchPortal.Engine.Tests.Dispatch;

/// <summary>A queue's job state time limit actions, on a fixed clock (issue #4).</summary>
public class JobDispatcherTimeLimitTests
{
    private const string MaxResource = "MISCONFIGURATION:COMPUTE_ENVIRONMENT_MAX_RESOURCE";
    private const int MaxTimeSeconds = 600;

    private static async Task<EngineHarness> EngineAsync()
    {
        var engine = await EngineHarness.CreateAsync();
        await engine.CreateComputeEnvironmentAsync("ce", 4);
        EngineHarness.Ok(await engine.Get<JobQueueService>().CreateAsync(new CreateJobQueueRequest
        {
            JobQueueName = "q",
            Priority = 1,
            ComputeEnvironmentOrder = [new ComputeEnvironmentOrder { Order = 1, ComputeEnvironment = "ce" }],
            JobStateTimeLimitActions = [new JobStateTimeLimitAction { Reason = MaxResource, State = "RUNNABLE", MaxTimeSeconds = MaxTimeSeconds, Action = "CANCEL" }],
        }));
        await engine.CreateQueueAsync("q-other", 1, "ce");
        await engine.RegisterDefinitionAsync("too-big", vcpus: 8);
        await engine.RegisterDefinitionAsync("fits", vcpus: 4);
        return engine;
    }

    [Fact]
    public async Task DispatchOnceAsync_CancelsARunnableJob_WhenItWaitedForTheActionsReasonLongerThanMaxTime()
    {
        await using var engine = await EngineAsync();
        var job = await engine.SubmitAsync("q", "too-big");
        await engine.DispatchUntilIdleAsync();
        var waiting = await engine.GetJobAsync(job.Id);
        Assert.Equal(JobStatus.Runnable, waiting.Status);
        Assert.StartsWith(MaxResource, waiting.StatusReason, StringComparison.Ordinal);

        engine.Time.Advance(TimeSpan.FromSeconds(MaxTimeSeconds));
        await engine.DispatchUntilIdleAsync();
        Assert.Equal(JobStatus.Runnable, (await engine.GetJobAsync(job.Id)).Status);

        engine.Time.Advance(TimeSpan.FromSeconds(1));
        await engine.DispatchUntilIdleAsync();

        var cancelled = await engine.GetJobAsync(job.Id);
        Assert.Equal(JobStatus.Failed, cancelled.Status);
        Assert.Equal("Canceled by JobStateTimeLimit action due to reason: MISCONFIGURATION:COMPUTE_ENVIRONMENT_MAX_RESOURCE", cancelled.StatusReason);
        Assert.True(cancelled.IsCancelled);
        Assert.Empty(cancelled.Attempts);
        Assert.Equal(waiting.RunnableSince!.Value.AddSeconds(MaxTimeSeconds + 1), cancelled.StoppedAt);
    }

    [Fact]
    public async Task DispatchOnceAsync_KeepsAJobWaiting_WhenItWaitsForAnotherReason()
    {
        await using var engine = await EngineAsync();
        var first = await engine.SubmitAsync("q", "fits", "first");
        var second = await engine.SubmitAsync("q", "fits", "second");
        await engine.DispatchUntilIdleAsync();
        Assert.StartsWith("CAPACITY:INSUFFICIENT_INSTANCE_CAPACITY", (await engine.GetJobAsync(second.Id)).StatusReason, StringComparison.Ordinal);

        engine.Time.Advance(TimeSpan.FromHours(2));
        await engine.DispatchUntilIdleAsync();

        Assert.Equal(JobStatus.Starting, (await engine.GetJobAsync(first.Id)).Status);
        Assert.Equal(JobStatus.Runnable, (await engine.GetJobAsync(second.Id)).Status);
    }

    [Fact]
    public async Task DispatchOnceAsync_AppliesNoAction_ToAQueueWithoutOne()
    {
        await using var engine = await EngineAsync();
        var job = await engine.SubmitAsync("q-other", "too-big");
        await engine.DispatchUntilIdleAsync();

        engine.Time.Advance(TimeSpan.FromDays(1));
        await engine.DispatchUntilIdleAsync();

        var waiting = await engine.GetJobAsync(job.Id);
        Assert.Equal(JobStatus.Runnable, waiting.Status);
        Assert.StartsWith(JobDispatcher.MaxResourceReason, waiting.StatusReason, StringComparison.Ordinal);
    }
}
