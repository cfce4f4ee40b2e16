using BatchPortal.Engine.Domain;
using BatchPortal.Engine.Resources;
using BatchPortal.Engine.Storage;
using BatchPortal.Engine.Tests.Support;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace BatchPortal.Engine.Tests.Dispatch;

/// <summary>A managed compute environment's desired vCPUs follows what runs on it, between min and max (issue #4).</summary>
public class JobDispatcherDesiredvCpusTests
{
    private static async Task<int?> DesiredAsync(EngineHarness engine, string ce)
    {
        await using var db = await engine.Get<IDbContextFactory<BatchDbContext>>().CreateDbContextAsync();
        return (await db.ComputeEnvironments.AsNoTracking().SingleAsync(c => c.Name == ce)).ComputeResources!.DesiredvCpus;
    }

    [Fact]
    public async Task DispatchOnceAsync_RaisesDesiredvCpusWithRunningJobsUpToMax_AndLowersItToMinWhenIdle()
    {
        await using var engine = await EngineHarness.CreateAsync();
        await engine.CreateComputeEnvironmentAsync("ce", maxvCpus: 4, minvCpus: 1);
        await engine.CreateQueueAsync("q", 1, "ce");
        await engine.RegisterDefinitionAsync("d", vcpus: 1);
        await engine.DispatchUntilIdleAsync();
        Assert.Equal(1, await DesiredAsync(engine, "ce"));

        var first = new[] { await engine.SubmitAsync("q", "d", "a"), await engine.SubmitAsync("q", "d", "b") };
        await engine.DispatchUntilIdleAsync();
        Assert.Equal(2, await DesiredAsync(engine, "ce"));

        var more = new List<Job>();
        for (var i = 0; i < 4; i++)
        {
            more.Add(await engine.SubmitAsync("q", "d", $"more-{i}"));
        }

        await engine.DispatchUntilIdleAsync();
        Assert.Equal(4, await DesiredAsync(engine, "ce"));
        Assert.Equal(2, (await Task.WhenAll(more.Select(j => engine.GetJobAsync(j.Id)))).Count(j => j.Status == JobStatus.Runnable));

        foreach (var job in first)
        {
            await engine.RunAsync(job.Id, 0);
        }

        // Two finished and the two waiting took their place: still 4 in use.
        await engine.DispatchUntilIdleAsync();
        Assert.Equal(4, await DesiredAsync(engine, "ce"));

        foreach (var job in more)
        {
            await engine.RunAsync(job.Id, 0);
        }

        await engine.DispatchUntilIdleAsync();
        Assert.Equal(1, await DesiredAsync(engine, "ce"));
    }

    [Fact]
    public async Task DispatchOnceAsync_CountsFractionalvCpusUpward()
    {
        await using var engine = await EngineHarness.CreateAsync();
        await engine.CreateComputeEnvironmentAsync("ce", maxvCpus: 4);
        await engine.CreateQueueAsync("q", 1, "ce");
        EngineHarness.Ok(await engine.Get<JobDefinitionService>().RegisterAsync(new RegisterJobDefinitionRequest
        {
            JobDefinitionName = "half",
            Type = "container",
            ContainerProperties = new ContainerProperties
            {
                Image = "busybox:latest",
                ResourceRequirements = [new ResourceRequirement { Type = "VCPU", Value = "0.5" }, new ResourceRequirement { Type = "MEMORY", Value = "64" }],
            },
        }));

        await engine.SubmitAsync("q", "half", "a");
        await engine.SubmitAsync("q", "half", "b");
        await engine.SubmitAsync("q", "half", "c");
        await engine.DispatchUntilIdleAsync();

        Assert.Equal(2, await DesiredAsync(engine, "ce"));
    }

    [Fact]
    public async Task DispatchOnceAsync_KeepsAnEditMadeDuringThePass_WhenItFollowsDesiredvCpus()
    {
        // Regression: #11. The dispatcher wrote desired vCPUs over the whole compute resources it had read at the start
        // of the pass, with no concurrency token: an edit made meanwhile (here max vCPUs 4 → 16) was lost.
        var edit = new EditDuringRead();
        await using var engine = await EngineHarness.CreateAsync(services: s => s.AddSingleton<Microsoft.EntityFrameworkCore.Diagnostics.IInterceptor>(edit));
        await engine.CreateComputeEnvironmentAsync("ce", maxvCpus: 4);
        await engine.CreateQueueAsync("q", 1, "ce");
        await engine.RegisterDefinitionAsync("d", vcpus: 1);
        await engine.SubmitAsync("q", "d", "a");
        await engine.DispatchOnceAsync(); // SUBMITTED → RUNNABLE
        edit.Arm(() => engine.Get<ComputeEnvironmentService>().UpdateAsync(new UpdateComputeEnvironmentRequest
        {
            ComputeEnvironment = "ce",
            ComputeResources = new ComputeResourceUpdate { MaxvCpus = 16 },
        }));

        await engine.DispatchOnceAsync(); // places the job: desired vCPUs 0 → 1, from what the pass read before the edit
        await engine.DispatchUntilIdleAsync();

        Assert.True(edit.Done);
        await using var db = await engine.Get<IDbContextFactory<BatchDbContext>>().CreateDbContextAsync();
        var ce = await db.ComputeEnvironments.AsNoTracking().SingleAsync(c => c.Name == "ce");
        Assert.Equal((16, 1), (ce.ComputeResources!.MaxvCpus, ce.ComputeResources.DesiredvCpus));
    }

    /// <summary>Runs an edit right after the next read of the compute environments, as a user saving a form would.</summary>
    private sealed class EditDuringRead : Microsoft.EntityFrameworkCore.Diagnostics.DbCommandInterceptor
    {
        private Func<Task>? _edit;

        public bool Done { get; private set; }

        public void Arm(Func<Task> edit) => _edit = edit;

        public override async ValueTask<System.Data.Common.DbDataReader> ReaderExecutedAsync(
            System.Data.Common.DbCommand command,
            Microsoft.EntityFrameworkCore.Diagnostics.CommandExecutedEventData eventData,
            System.Data.Common.DbDataReader result,
            CancellationToken cancellationToken = default)
        {
            if (command.CommandText.Contains("FROM \"ComputeEnvironments\"", StringComparison.Ordinal) && Interlocked.Exchange(ref _edit, null) is { } edit)
            {
                await edit();
                Done = true;
            }

            return result;
        }
    }
}
