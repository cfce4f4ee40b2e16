using BatchPortal.Engine.Domain;
using BatchPortal.Engine.Tests.Support;

namespace BatchPortal.Engine.Tests.Storage;

/// <summary>Compare-and-set under racing writers whose moves also write other rows.</summary>
public class JobStoreConcurrencyTests
{
    [Fact]
    public async Task TryTransitionAsync_ReturnsNotApplied_WhenTheWinnerWroteTheSameAttemptRow()
    {
        // Regression: two placements of one job both add attempt 1. The loser's insert hit the (JobId, Number) unique
        // key before its job row's version check, and the DbUpdateException escaped instead of "not applied".
        await using var engine = await EngineHarness.CreateAsync();
        await engine.CreateComputeEnvironmentAsync("ce", 4);
        await engine.CreateQueueAsync("q", 1, "ce");
        await engine.RegisterDefinitionAsync("d");
        var ids = new List<string>();
        for (var i = 0; i < 8; i++)
        {
            var job = await engine.SubmitAsync("q", "d", $"job-{i}");
            await engine.StateMachine.TryTransitionAsync(job.Id, JobStatus.Submitted, JobStatus.Runnable, null);
            ids.Add(job.Id);
        }

        foreach (var id in ids)
        {
            var results = await Task.WhenAll(Enumerable.Range(0, 2).Select(_ => Task.Run(() =>
                engine.StateMachine.TryTransitionAsync(id, JobStatus.Runnable, JobStatus.Starting, null, j =>
                {
                    j.AttemptCount++;
                    j.Attempts.Add(new JobAttempt { JobId = j.Id, Number = j.AttemptCount, ComputeEnvironmentName = "ce" });
                }))));

            Assert.Single(results, r => r.IsApplied);
            Assert.Single(results, r => r.Outcome == TransitionOutcome.NotApplied);
            var stored = await engine.GetJobAsync(id);
            Assert.Equal((JobStatus.Starting, 1), (stored.Status, Assert.Single(stored.Attempts).Number));
        }
    }

    [Fact]
    public async Task DispatchOnceAsync_PlacesEachJobOnce_WhenTwoPassesRunAtTheSameTime()
    {
        await using var engine = await EngineHarness.CreateAsync();
        await engine.CreateComputeEnvironmentAsync("ce", 64);
        await engine.CreateQueueAsync("q", 1, "ce");
        await engine.RegisterDefinitionAsync("d", vcpus: 1, memoryMiB: 64);
        for (var i = 0; i < 40; i++)
        {
            await engine.SubmitAsync("q", "d", $"job-{i}");
        }

        await Task.WhenAll(Task.Run(engine.DispatchOnceAsync), Task.Run(engine.DispatchOnceAsync));
        await engine.DispatchUntilIdleAsync();

        var launches = engine.Launches();
        Assert.Equal(40, launches.Count);
        Assert.Equal(40, launches.Select(l => l.JobId).Distinct().Count());
        Assert.All(launches, l => Assert.Equal(1, l.Attempt));
    }
}
