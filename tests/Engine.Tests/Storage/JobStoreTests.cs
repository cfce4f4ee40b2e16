using BatchPortal.Engine.Domain;
using BatchPortal.Engine.Tests.Support;

namespace BatchPortal.Engine.Tests.Storage;

public class JobStoreTests
{
    private static Job NewJob(string id) => new()
    {
        Id = id,
        Name = $"name-{id}",
        QueueName = "q",
        JobDefinitionName = "d",
        JobDefinitionRevision = 1,
        Container = new ContainerProperties { Image = "busybox", Command = ["true"] },
        CreatedAt = EngineHarness.Epoch,
        Vcpus = 1,
    };

    [Fact]
    public async Task TryTransitionAsync_AppliesOnceAndWritesHistory_WhenJobIsInExpectedState()
    {
        await using var engine = await EngineHarness.CreateAsync();
        await engine.Submissions.AddAsync(NewJob("j1"));
        engine.Time.Advance(TimeSpan.FromSeconds(5));

        var first = await engine.StateMachine.TryTransitionAsync("j1", JobStatus.Submitted, JobStatus.Runnable, "promoted");
        var second = await engine.StateMachine.TryTransitionAsync("j1", JobStatus.Submitted, JobStatus.Runnable, "promoted again");

        Assert.Equal(TransitionOutcome.Applied, first.Outcome);
        Assert.Equal(TransitionOutcome.NotApplied, second.Outcome);
        Assert.Equal(JobStatus.Runnable, second.From);

        var job = await engine.GetJobAsync("j1");
        Assert.Equal(JobStatus.Runnable, job.Status);
        Assert.Equal("promoted", job.StatusReason);

        var history = await engine.Jobs.GetHistoryAsync("j1");
        Assert.Collection(
            history,
            h => Assert.Equal(((JobStatus?)null, JobStatus.Submitted, EngineHarness.Epoch), (h.From, h.To, h.At)),
            h => Assert.Equal(((JobStatus?)JobStatus.Submitted, JobStatus.Runnable, "promoted", EngineHarness.Epoch.AddSeconds(5)), (h.From, h.To, h.Reason, h.At)));
    }

    [Fact]
    public async Task TryTransitionAsync_WritesOtherChangesInTheSameMove_WhenApplyIsGiven()
    {
        await using var engine = await EngineHarness.CreateAsync();
        await engine.Submissions.AddAsync(NewJob("j1"));
        await engine.StateMachine.TryTransitionAsync("j1", JobStatus.Submitted, JobStatus.Runnable, null);

        await engine.StateMachine.TryTransitionAsync("j1", JobStatus.Runnable, JobStatus.Starting, null, job =>
        {
            job.AttemptCount = 1;
            job.ComputeEnvironmentName = "ce";
            job.Attempts.Add(new JobAttempt { JobId = job.Id, Number = 1, ComputeEnvironmentName = "ce" });
        });

        var stored = await engine.GetJobAsync("j1");
        Assert.Equal(1, stored.AttemptCount);
        Assert.Equal("ce", stored.ComputeEnvironmentName);
        Assert.Equal(1, Assert.Single(stored.Attempts).Number);
    }

    [Fact]
    public async Task TryTransitionAsync_SetsStoppedAt_WhenMovingToAFinalState()
    {
        await using var engine = await EngineHarness.CreateAsync();
        await engine.Submissions.AddAsync(NewJob("j1"));
        engine.Time.Advance(TimeSpan.FromMinutes(1));

        await engine.StateMachine.TryTransitionAsync("j1", JobStatus.Submitted, JobStatus.Failed, "cancelled");

        var stored = await engine.GetJobAsync("j1");
        Assert.Equal(EngineHarness.Epoch.AddMinutes(1), stored.StoppedAt);
    }

    [Fact]
    public async Task TryTransitionAsync_AppliesExactlyOne_WhenTwoWritersMoveFromTheSameStateConcurrently()
    {
        await using var engine = await EngineHarness.CreateAsync();
        const int Jobs = 8;
        for (var i = 0; i < Jobs; i++)
        {
            await engine.Submissions.AddAsync(NewJob($"j{i}"));
        }

        for (var i = 0; i < Jobs; i++)
        {
            var id = $"j{i}";
            var results = await Task.WhenAll(
                Task.Run(() => engine.StateMachine.TryTransitionAsync(id, JobStatus.Submitted, JobStatus.Runnable, "writer A")),
                Task.Run(() => engine.StateMachine.TryTransitionAsync(id, JobStatus.Submitted, JobStatus.Failed, "writer B")));

            Assert.Single(results, r => r.Outcome == TransitionOutcome.Applied);
            Assert.Single(results, r => r.Outcome == TransitionOutcome.NotApplied);

            var winner = results.Single(r => r.IsApplied);
            var job = await engine.GetJobAsync(id);
            Assert.Equal(winner.To, job.Status);
            var moves = (await engine.Jobs.GetHistoryAsync(id)).Where(h => h.From is not null).ToList();
            Assert.Equal(winner.To, Assert.Single(moves).To);
        }
    }

    [Fact]
    public async Task TryTransitionAsync_Throws_WhenMoveIsIllegal()
    {
        await using var engine = await EngineHarness.CreateAsync();
        await engine.Submissions.AddAsync(NewJob("j1"));

        var ex = await Assert.ThrowsAsync<InvalidOperationException>(
            () => engine.StateMachine.TryTransitionAsync("j1", JobStatus.Submitted, JobStatus.Succeeded, null));

        Assert.Contains("j1", ex.Message, StringComparison.Ordinal);
        Assert.Equal(JobStatus.Submitted, (await engine.GetJobAsync("j1")).Status);
        Assert.Single(await engine.Jobs.GetHistoryAsync("j1"));
    }

    [Fact]
    public async Task TryTransitionAsync_ReturnsNotFound_WhenJobIdIsUnknown()
    {
        await using var engine = await EngineHarness.CreateAsync();

        var result = await engine.StateMachine.TryTransitionAsync("no-such-job", JobStatus.Submitted, JobStatus.Runnable, null);

        Assert.Equal(TransitionOutcome.NotFound, result.Outcome);
    }

    [Fact]
    public async Task SetWaitReasonsAsync_ChangesTheReasonWithoutHistory_WhenJobIsRunnable()
    {
        await using var engine = await EngineHarness.CreateAsync();
        await engine.Submissions.AddAsync(NewJob("j1"));
        await engine.StateMachine.TryTransitionAsync("j1", JobStatus.Submitted, JobStatus.Runnable, null);

        await engine.StateMachine.SetReasonsAsync(JobStatus.Runnable, [("j1", "waiting for capacity")]);

        Assert.Equal("waiting for capacity", (await engine.GetJobAsync("j1")).StatusReason);
        Assert.Equal(2, (await engine.Jobs.GetHistoryAsync("j1")).Count);
    }
}
