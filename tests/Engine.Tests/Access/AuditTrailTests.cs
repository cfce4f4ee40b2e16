using BatchPortal.Engine.Access;
using BatchPortal.Engine.Domain;
using BatchPortal.Engine.Jobs;
using BatchPortal.Engine.Resources;
using BatchPortal.Engine.Tests.Support;

namespace BatchPortal.Engine.Tests.Access;

/// <summary>Every change through the engine's services is recorded with who made it; a role short of it changes nothing.</summary>
public sealed class AuditTrailTests : IAsyncLifetime
{
    private static readonly Actor Olivia = new("olivia", Role.Operator, ActorVia.Console);
    private static readonly Actor Victor = new("victor", Role.Viewer, ActorVia.ApiKey, "BPAKVICTOR0000000000");
    private EngineHarness _engine = default!;

    private AuditTrail Audit => _engine.Get<AuditTrail>();

    public async Task InitializeAsync() => _engine = await EngineHarness.CreateAsync();

    public async Task DisposeAsync() => await _engine.DisposeAsync();

    [Fact]
    public async Task Submit_RecordsWhoOnTheJobAndInTheTrail_InTheJobsOwnWrite()
    {
        await _engine.CreateComputeEnvironmentAsync("ce", 4);
        await _engine.CreateQueueAsync("q", 1, "ce");
        await _engine.RegisterDefinitionAsync("d");

        var job = EngineHarness.Ok(await _engine.JobService.SubmitAsync(new SubmitJobRequest { JobName = "audited", JobQueue = "q", JobDefinition = "d" }, Olivia));

        var stored = await _engine.GetJobAsync(job.Id);
        Assert.Equal(("olivia", "console"), (stored.SubmittedBy, stored.SubmittedVia));
        var entry = Assert.Single(await Audit.QueryAsync(new AuditQuery(Action: "SubmitJob")));
        Assert.Equal(("olivia", Role.Operator, job.Id, "audited on q"), (entry.Actor, entry.Role, entry.Target, entry.Detail));

        EngineHarness.Ok(await _engine.JobService.CancelAsync(job.Id, "not needed", Olivia));
        var cancel = Assert.Single(await Audit.QueryAsync(new AuditQuery(Action: "CancelJob")));
        Assert.Equal(("olivia", job.Id, "not needed"), (cancel.Actor, cancel.Target, cancel.Detail));
    }

    [Fact]
    public async Task AViewer_ChangesNothing_AndNothingIsRecorded()
    {
        await _engine.CreateComputeEnvironmentAsync("ce", 4);
        await _engine.CreateQueueAsync("q", 1, "ce");
        await _engine.RegisterDefinitionAsync("d");
        var before = (await Audit.QueryAsync(new AuditQuery())).Count;

        var submit = await _engine.JobService.SubmitAsync(new SubmitJobRequest { JobName = "nope", JobQueue = "q", JobDefinition = "d" }, Victor);
        var denied = Assert.IsType<AccessDenied>(submit.Error);
        Assert.Contains("victor (Viewer) is not authorized to perform: batch:SubmitJob", denied.Message, StringComparison.Ordinal);
        Assert.IsType<AccessDenied>((await _engine.Get<JobQueueService>().SetStateAsync("q", ResourceState.Disabled, Olivia)).Error);
        Assert.IsType<AccessDenied>((await _engine.Get<ComputeEnvironmentService>().DeleteAsync("ce", Victor)).Error);

        Assert.Equal(0, await _engine.Jobs.CountAsync(new BatchPortal.Engine.Storage.JobFilter { Queue = "q" }));
        Assert.Equal(ResourceState.Enabled, (await _engine.Get<JobQueueService>().GetAsync("q"))!.State);
        Assert.Equal(before, (await Audit.QueryAsync(new AuditQuery())).Count);
    }

    [Fact]
    public async Task APrivilegedDefinition_IsAnAdminsToRegister()
    {
        var container = new ContainerProperties { Image = "busybox", Command = ["true"], Privileged = true };
        container.SetRequirement("VCPU", "1");
        container.SetRequirement("MEMORY", "64");
        var request = new RegisterJobDefinitionRequest { JobDefinitionName = "root-on-host", Type = "container", ContainerProperties = container };
        var definitions = _engine.Get<JobDefinitionService>();

        Assert.IsType<AccessDenied>((await definitions.RegisterAsync(request, Olivia)).Error);
        var registered = EngineHarness.Ok(await definitions.RegisterAsync(request, new Actor("ana", Role.Admin, ActorVia.Console)));

        var entry = Assert.Single(await Audit.QueryAsync(new AuditQuery(Action: "RegisterJobDefinition")));
        Assert.Equal(("ana", $"root-on-host:{registered.Revision}"), (entry.Actor, entry.Target));
    }

    [Fact]
    public async Task Query_FiltersByActorActionTargetAndTime_NewestFirst_APageAtATime()
    {
        var at = _engine.Time.GetUtcNow();
        for (var i = 0; i < 5; i++)
        {
            await Audit.RecordAsync(i % 2 == 0 ? Olivia : Victor, i < 3 ? "CreateJobQueue" : "DeleteJobQueue", $"queue-{i}");
            _engine.Time.Advance(TimeSpan.FromMinutes(1));
        }

        Assert.Equal(["queue-4", "queue-2", "queue-0"], (await Audit.QueryAsync(new AuditQuery(Actor: "oli"))).Select(e => e.Target));
        Assert.Equal(["queue-4", "queue-3"], (await Audit.QueryAsync(new AuditQuery(Action: "DeleteJobQueue"))).Select(e => e.Target));
        Assert.Equal(["queue-2", "queue-1"], (await Audit.QueryAsync(new AuditQuery(From: at.AddMinutes(1), To: at.AddMinutes(3)))).Select(e => e.Target));
        var first = await Audit.QueryAsync(new AuditQuery(Limit: 2));
        Assert.Equal(["queue-4", "queue-3"], first.Select(e => e.Target));
        Assert.Equal(["queue-2", "queue-1"], (await Audit.QueryAsync(new AuditQuery(Before: first[^1].Id, Limit: 2))).Select(e => e.Target));
        Assert.Equal("API key BPAKVICTOR0000000000", (await Audit.QueryAsync(new AuditQuery(Actor: "victor")))[0].Source);
    }
}
