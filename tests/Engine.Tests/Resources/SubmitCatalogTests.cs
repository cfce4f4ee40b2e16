using BatchPortal.Engine.Domain;
using BatchPortal.Engine.Jobs;
using BatchPortal.Engine.Resources;
using BatchPortal.Engine.Storage;
using BatchPortal.Engine.Tests.Support;
using Microsoft.EntityFrameworkCore;

namespace BatchPortal.Engine.Tests.Resources;

/// <summary>
/// SubmitJob reads queues and definitions from memory; a change this node does not hear of (another node's, written
/// straight to the database here) must still decide the job.
/// </summary>
public sealed class SubmitCatalogTests
{
    private static async Task<EngineHarness> EngineWithOneJobAsync()
    {
        var engine = await EngineHarness.CreateAsync();
        await engine.CreateComputeEnvironmentAsync("ce", 4, state: "DISABLED");
        await engine.CreateQueueAsync("q", 1, "ce");
        await engine.RegisterDefinitionAsync("d");

        // The first submission leaves the queue and the definition in the catalog.
        await engine.SubmitAsync("q", "d", "first");
        return engine;
    }

    /// <summary>Changes the database as another node would: through the engine's context, with no event published here.</summary>
    private static async Task ElsewhereAsync(EngineHarness engine, Func<BatchDbContext, Task> change)
    {
        await using var db = await engine.Get<IDbContextFactory<BatchDbContext>>().CreateDbContextAsync();
        await change(db);
        await db.SaveChangesAsync();
    }

    private static SubmitJobRequest Request(string definition = "d") => new() { JobName = "next", JobQueue = "q", JobDefinition = definition };

    [Fact]
    public async Task SubmitJob_RefusesTheJob_WhenAnotherNodeDisabledItsQueueAfterItWasKept()
    {
        await using var engine = await EngineWithOneJobAsync();
        await ElsewhereAsync(engine, async db => (await db.JobQueues.SingleAsync(q => q.Name == "q")).State = ResourceState.Disabled);

        var result = await engine.JobService.SubmitAsync(Request());

        Assert.Contains("DISABLED", Assert.IsType<ValidationFailed>(result.Error).For("jobQueue"), StringComparison.Ordinal);
        Assert.Equal(1, await engine.Jobs.CountAsync(new JobFilter()));
    }

    [Fact]
    public async Task SubmitJob_TakesTheNewestRevision_WhenAnotherNodeRegisteredOne()
    {
        await using var engine = await EngineWithOneJobAsync();
        await ElsewhereAsync(engine, db =>
        {
            db.JobDefinitions.Add(new JobDefinition
            {
                Name = "d",
                Revision = 2,
                ContainerProperties = new ContainerProperties { Image = "busybox:latest", Command = ["echo", "two"], Vcpus = 1, Memory = 512 },
            });
            return Task.CompletedTask;
        });

        var job = EngineHarness.Ok(await engine.JobService.SubmitAsync(Request()));

        Assert.Equal(2, job.JobDefinitionRevision);
        Assert.Equal(["echo", "two"], job.Container!.Command);
    }

    [Fact]
    public async Task SubmitJob_PropagatesTheDefinitionsNewTags_WhenAnotherNodeChangedThem()
    {
        await using var engine = await EngineHarness.CreateAsync();
        await engine.CreateComputeEnvironmentAsync("ce", 4, state: "DISABLED");
        await engine.CreateQueueAsync("q", 1, "ce");
        EngineHarness.Ok(await engine.Get<JobDefinitionService>().RegisterAsync(new RegisterJobDefinitionRequest
        {
            JobDefinitionName = "d",
            Type = "container",
            PropagateTags = true,
            Tags = new() { ["team"] = "a" },
            ContainerProperties = new ContainerProperties { Image = "busybox:latest", Command = ["true"], Vcpus = 1, Memory = 512 },
        }));
        Assert.Equal("a", (await engine.SubmitAsync("q", "d", "first")).Tags["team"]);
        await ElsewhereAsync(engine, async db => (await db.JobDefinitions.SingleAsync(d => d.Name == "d")).Tags = new() { ["team"] = "b" });

        var job = EngineHarness.Ok(await engine.JobService.SubmitAsync(Request()));

        Assert.Equal("b", job.Tags["team"]);
    }

    [Fact]
    public async Task SubmitJob_RefusesTheJob_WhenThisNodeDeregisteredTheDefinitionItKept()
    {
        await using var engine = await EngineWithOneJobAsync();
        EngineHarness.Ok(await engine.Get<JobDefinitionService>().DeregisterAsync("d:1"));

        var result = await engine.JobService.SubmitAsync(Request("d:1"));

        Assert.Contains("INACTIVE", Assert.IsType<ValidationFailed>(result.Error).For("jobDefinition"), StringComparison.Ordinal);
    }
}
