using BatchPortal.Engine.Domain;
using BatchPortal.Engine.Jobs;
using BatchPortal.Engine.Tests.Support;

namespace BatchPortal.Engine.Tests.Jobs;

/// <summary>SubmitJob's rules for <c>arrayProperties</c> and <c>dependsOn</c> (issue #4).</summary>
public class JobServiceSubmitRulesTests
{
    private static async Task<EngineHarness> EngineAsync()
    {
        var engine = await EngineHarness.CreateAsync();
        await engine.CreateComputeEnvironmentAsync("ce", 4);
        await engine.CreateQueueAsync("q", 1, "ce");
        await engine.RegisterDefinitionAsync("d");
        return engine;
    }

    private static SubmitJobRequest Request(Action<SubmitJobRequest>? configure = null)
    {
        var request = new SubmitJobRequest { JobName = "job", JobQueue = "q", JobDefinition = "d" };
        configure?.Invoke(request);
        return request;
    }

    [Fact]
    public async Task SubmitAsync_RequiresMemory_FromTheDefinitionOrTheOverrides_AsAwsDoes()
    {
        await using var engine = await EngineAsync();
        var container = new ContainerProperties { Image = "busybox", Command = ["true"] };
        container.SetRequirement("VCPU", "1");
        EngineHarness.Ok(await engine.Get<BatchPortal.Engine.Resources.JobDefinitionService>().RegisterAsync(
            new BatchPortal.Engine.Resources.RegisterJobDefinitionRequest { JobDefinitionName = "no-memory", Type = "container", ContainerProperties = container }));

        var refused = await engine.JobService.SubmitAsync(new SubmitJobRequest { JobName = "j", JobQueue = "q", JobDefinition = "no-memory" });
        var field = Assert.Single(Assert.IsType<ValidationFailed>(refused.Error).Errors);
        Assert.Equal("containerOverrides.resourceRequirements", field.Field);
        Assert.Contains("Memory is required: job definition no-memory:1 gives none", field.Message, StringComparison.Ordinal);
        Assert.Equal(0, await engine.Jobs.CountAsync(new BatchPortal.Engine.Storage.JobFilter()));

        var given = EngineHarness.Ok(await engine.JobService.SubmitAsync(new SubmitJobRequest
        {
            JobName = "j",
            JobQueue = "q",
            JobDefinition = "no-memory",
            ContainerOverrides = new ContainerOverrides { ResourceRequirements = [new ResourceRequirement { Type = "MEMORY", Value = "128" }] },
        }));
        Assert.Equal(128, given.MemoryMiB);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(0)]
    [InlineData(10_001)]
    public async Task SubmitAsync_RejectsArraySize_WhenOutside2To10000(int size)
    {
        await using var engine = await EngineAsync();

        var result = await engine.JobService.SubmitAsync(Request(r => r.ArrayProperties = new ArrayProperties { Size = size }));

        var error = Assert.IsType<ValidationFailed>(result.Error);
        var field = Assert.Single(error.Errors);
        Assert.Equal("arrayProperties.size", field.Field);
        Assert.Contains($"not {size}", field.Message, StringComparison.Ordinal);
        Assert.Equal(0, await engine.Jobs.CountAsync(new BatchPortal.Engine.Storage.JobFilter()));
    }

    [Fact]
    public async Task SubmitAsync_RejectsArrayProperties_WhenSizeIsMissing()
    {
        await using var engine = await EngineAsync();

        var result = await engine.JobService.SubmitAsync(Request(r => r.ArrayProperties = new ArrayProperties()));

        Assert.Contains("missing", Assert.IsType<ValidationFailed>(result.Error).For("arrayProperties.size"), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(2)]
    [InlineData(10_000)]
    public async Task SubmitAsync_AcceptsArraySize_AtTheBounds(int size)
    {
        await using var engine = await EngineAsync();

        var job = await engine.SubmitAsync(Request(r => r.ArrayProperties = new ArrayProperties { Size = size }));

        var stored = await engine.GetJobAsync(job.Id);
        Assert.Equal(size, stored.ArraySize);
        Assert.True(stored.IsArrayParent);
        Assert.False(stored.ChildrenSpawned);
        Assert.Equal(JobStatus.Submitted, stored.Status);
    }

    [Fact]
    public async Task SubmitAsync_RejectsDependsOn_WhenMoreThan20AreGiven()
    {
        await using var engine = await EngineAsync();
        var target = await engine.SubmitAsync("q", "d", "target");

        var result = await engine.JobService.SubmitAsync(Request(r =>
            r.DependsOn = [.. Enumerable.Range(0, 21).Select(_ => new JobDependency { JobId = target.Id })]));

        var field = Assert.Single(Assert.IsType<ValidationFailed>(result.Error).Errors);
        Assert.Equal("dependsOn", field.Field);
        Assert.Contains("at most 20", field.Message, StringComparison.Ordinal);
        Assert.Contains("21 given", field.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SubmitAsync_Accepts20Dependencies()
    {
        await using var engine = await EngineAsync();
        var targets = new List<Job>();
        for (var i = 0; i < 20; i++)
        {
            targets.Add(await engine.SubmitAsync("q", "d", $"t{i}"));
        }

        var job = await engine.SubmitAsync(Request(r => r.DependsOn = [.. targets.Select(t => new JobDependency { JobId = t.Id })]));

        var (dependsOn, _) = await engine.Jobs.DependenciesAsync(job.Id);
        Assert.Equal(targets.Select(t => t.Id).Order(), dependsOn.Select(d => d.Id).Order());
    }

    [Fact]
    public async Task SubmitAsync_NamesTheEntry_WhenADependencyJobIdIsUnknown()
    {
        await using var engine = await EngineAsync();
        var known = await engine.SubmitAsync("q", "d", "known");

        var result = await engine.JobService.SubmitAsync(Request(r => r.DependsOn =
        [
            new JobDependency { JobId = known.Id },
            new JobDependency { JobId = "no-such-job" },
        ]));

        var field = Assert.Single(Assert.IsType<ValidationFailed>(result.Error).Errors);
        Assert.Equal("dependsOn[1].jobId", field.Field);
        Assert.Contains("no-such-job does not exist", field.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SubmitAsync_AcceptsADependencyGivenAsAnArn()
    {
        await using var engine = await EngineAsync();
        var target = await engine.SubmitAsync("q", "d", "target");

        var job = await engine.SubmitAsync(Request(r => r.DependsOn = [new JobDependency { JobId = $"arn:aws:batch:us-east-1:000000000000:job/{target.Id}" }]));

        Assert.Equal([target.Id], (await engine.Jobs.DependenciesAsync(job.Id)).DependsOn.Select(d => d.Id));
    }

    [Fact]
    public async Task SubmitAsync_RejectsNToN_WhenArraySizesDiffer()
    {
        await using var engine = await EngineAsync();
        var a = await engine.SubmitAsync(Request(r => r.ArrayProperties = new ArrayProperties { Size = 3 }));

        var result = await engine.JobService.SubmitAsync(Request(r =>
        {
            r.ArrayProperties = new ArrayProperties { Size = 4 };
            r.DependsOn = [new JobDependency { JobId = a.Id, Type = "N_TO_N" }];
        }));

        var message = Assert.IsType<ValidationFailed>(result.Error).For("dependsOn[0].jobId");
        Assert.Contains("same size (4)", message, StringComparison.Ordinal);
        Assert.Contains("has size 3", message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SubmitAsync_RejectsNToN_WhenTheTargetIsNotAnArrayJob()
    {
        await using var engine = await EngineAsync();
        var plain = await engine.SubmitAsync("q", "d", "plain");

        var result = await engine.JobService.SubmitAsync(Request(r =>
        {
            r.ArrayProperties = new ArrayProperties { Size = 2 };
            r.DependsOn = [new JobDependency { JobId = plain.Id, Type = "N_TO_N" }];
        }));

        Assert.Contains("is not an array job", Assert.IsType<ValidationFailed>(result.Error).For("dependsOn[0].jobId"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task SubmitAsync_RejectsATypedDependency_WhenTheJobIsNotAnArray()
    {
        await using var engine = await EngineAsync();

        var result = await engine.JobService.SubmitAsync(Request(r => r.DependsOn = [new JobDependency { Type = "SEQUENTIAL" }]));

        Assert.Contains("for array jobs", Assert.IsType<ValidationFailed>(result.Error).For("dependsOn[0].type"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task SubmitAsync_RejectsSequentialWithAJobId()
    {
        await using var engine = await EngineAsync();
        var other = await engine.SubmitAsync("q", "d", "other");

        var result = await engine.JobService.SubmitAsync(Request(r =>
        {
            r.ArrayProperties = new ArrayProperties { Size = 2 };
            r.DependsOn = [new JobDependency { JobId = other.Id, Type = "SEQUENTIAL" }];
        }));

        Assert.Contains("takes no jobId", Assert.IsType<ValidationFailed>(result.Error).For("dependsOn[0].jobId"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task SubmitAsync_RejectsAnUnknownDependencyType()
    {
        await using var engine = await EngineAsync();

        var result = await engine.JobService.SubmitAsync(Request(r =>
        {
            r.ArrayProperties = new ArrayProperties { Size = 2 };
            r.DependsOn = [new JobDependency { Type = "ALL_AT_ONCE" }];
        }));

        Assert.Contains("'ALL_AT_ONCE'", Assert.IsType<ValidationFailed>(result.Error).For("dependsOn[0].type"), StringComparison.Ordinal);
    }
}
