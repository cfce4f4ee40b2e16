using BatchPortal.Engine.Domain;
using BatchPortal.Engine.Tests.Support;

namespace BatchPortal.Engine.Tests.Dispatch;

public class JobDispatcherCapacityTests
{
    // How many containers run at once follows compute environment capacity, not a thread pool (issue #4).
    [Fact]
    public async Task DispatchUntilIdle_RunsEvery1vCpuJob_When256FitOnA256vCpuEnvironment()
    {
        await using var engine = await EngineHarness.CreateAsync();
        await engine.CreateComputeEnvironmentAsync("big", 256);
        await engine.CreateQueueAsync("q", 1, "big");
        await engine.RegisterDefinitionAsync("d", vcpus: 1, memoryMiB: 16);
        var jobs = new List<Job>();
        for (var i = 0; i < 257; i++)
        {
            jobs.Add(await engine.SubmitAsync("q", "d", $"j{i}"));
        }

        await engine.DispatchUntilIdleAsync();
        foreach (var job in jobs.Take(256))
        {
            await engine.LaunchAsync(job.Id);
        }

        var stored = await Task.WhenAll(jobs.Select(j => engine.GetJobAsync(j.Id)));
        Assert.Equal(256, stored.Count(j => j.Status == JobStatus.Running));
        Assert.Equal(256, engine.Docker.Default.Started.Count);
        var last = Assert.Single(stored, j => j.Status == JobStatus.Runnable);
        Assert.Equal("j256", last.Name);
        Assert.StartsWith("CAPACITY:INSUFFICIENT_INSTANCE_CAPACITY", last.StatusReason, StringComparison.Ordinal);
        Assert.Contains("256 of 256 in use", last.StatusReason, StringComparison.Ordinal);
    }
}
