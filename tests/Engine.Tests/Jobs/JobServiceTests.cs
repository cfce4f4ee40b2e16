using Microsoft.Extensions.DependencyInjection;
using BatchPortal.Engine.Domain;
using BatchPortal.Engine.Execution;
using BatchPortal.Engine.Jobs;
using BatchPortal.Engine.Resources;
using BatchPortal.Engine.Tests.Support;

namespace BatchPortal.Engine.Tests.Jobs;

public class JobServiceTests
{
    private static ContainerProperties Definition() => new()
    {
        Image = "busybox",
        Command = ["echo", "Ref::greeting", "Ref::who"],
        Environment =
        [
            new EnvironmentVariable { Name = "MODE", Value = "definition" },
            new EnvironmentVariable { Name = "KEEP", Value = "kept" },
        ],
        ResourceRequirements =
        [
            new ResourceRequirement { Type = "VCPU", Value = "2" },
            new ResourceRequirement { Type = "MEMORY", Value = "1024" },
        ],
    };

    private static Dictionary<string, string> Parameters(params (string Key, string Value)[] pairs) =>
        pairs.ToDictionary(p => p.Key, p => p.Value);

    [Fact]
    public void Resolve_ReplacesEveryPlaceholderInTheCommand_WhenParametersAreKnown()
    {
        var definition = Definition();
        definition.Command = ["sh", "-c", "echo Ref::greeting Ref::who; echo Ref::greeting!", "--name=Ref::who"];

        var resolved = JobService.Resolve(definition, null, Parameters(("greeting", "hello"), ("who", "world")));

        Assert.Equal(["sh", "-c", "echo hello world; echo hello!", "--name=world"], resolved.Command);
    }

    [Fact]
    public void Resolve_LeavesPlaceholdersLiteral_WhenNoParameterHasTheirName()
    {
        var resolved = JobService.Resolve(Definition(), null, Parameters(("greeting", "hello")));

        Assert.Equal(["echo", "hello", "Ref::who"], resolved.Command);
    }

    [Fact]
    public void Resolve_UsesTheLongestParameterName_WhenNamesShareAPrefix()
    {
        var definition = Definition();
        definition.Command = ["echo", "Ref::who_else", "Ref::who"];

        var resolved = JobService.Resolve(definition, null, Parameters(("who", "a"), ("who_else", "b")));

        Assert.Equal(["echo", "b", "a"], resolved.Command);
    }

    [Fact]
    public void Resolve_FillsPlaceholdersInTheOverrideCommand_WhenCommandIsOverridden()
    {
        var overrides = new ContainerOverrides { Command = ["printf", "%s", "Ref::who"] };

        var resolved = JobService.Resolve(Definition(), overrides, Parameters(("who", "override")));

        Assert.Equal(["printf", "%s", "override"], resolved.Command);
    }

    [Fact]
    public void Resolve_KeepsDefinitionCommand_WhenOverrideCommandIsEmpty()
    {
        var resolved = JobService.Resolve(Definition(), new ContainerOverrides { Command = [] }, Parameters(("greeting", "hi"), ("who", "you")));

        Assert.Equal(["echo", "hi", "you"], resolved.Command);
    }

    [Fact]
    public void Resolve_MergesEnvironmentByName_WhenOverridesGiveVariables()
    {
        var overrides = new ContainerOverrides
        {
            Environment =
            [
                new EnvironmentVariable { Name = "MODE", Value = "override" },
                new EnvironmentVariable { Name = "EXTRA", Value = "added" },
            ],
        };

        var resolved = JobService.Resolve(Definition(), overrides, Parameters());

        Assert.Equal(
            new Dictionary<string, string?> { ["MODE"] = "override", ["KEEP"] = "kept", ["EXTRA"] = "added" },
            resolved.Environment.ToDictionary(e => e.Name!, e => e.Value));
    }

    [Fact]
    public void Resolve_UsesOverrideVcpusAndMemory_WhenLegacyMembersAreGiven()
    {
        var resolved = JobService.Resolve(Definition(), new ContainerOverrides { Vcpus = 4, Memory = 256 }, Parameters());

        Assert.Equal(4, resolved.EffectiveVcpus);
        Assert.Equal(256, resolved.EffectiveMemoryMiB);
    }

    [Fact]
    public void Resolve_UsesOverrideResourceRequirements_WhenGiven()
    {
        var overrides = new ContainerOverrides { ResourceRequirements = [new ResourceRequirement { Type = "memory", Value = "64" }] };

        var resolved = JobService.Resolve(Definition(), overrides, Parameters());

        Assert.Equal(2, resolved.EffectiveVcpus);
        Assert.Equal(64, resolved.EffectiveMemoryMiB);
        Assert.Single(resolved.ResourceRequirements, r => string.Equals(r.Type, "MEMORY", StringComparison.OrdinalIgnoreCase));
    }

    [Fact]
    public void Resolve_LeavesTheDefinitionUnchanged()
    {
        var definition = Definition();

        JobService.Resolve(
            definition,
            new ContainerOverrides { Command = ["true"], Environment = [new EnvironmentVariable { Name = "MODE", Value = "x" }], Vcpus = 8 },
            Parameters(("greeting", "hi")));

        Assert.Equal(["echo", "Ref::greeting", "Ref::who"], definition.Command);
        Assert.Equal("definition", definition.Environment.Single(e => e.Name == "MODE").Value);
        Assert.Equal(2, definition.EffectiveVcpus);
    }

    [Fact]
    public async Task SubmitAsync_LetsSubmitParametersOverrideDefinitionDefaults()
    {
        await using var engine = await EngineHarness.CreateAsync();
        await engine.CreateComputeEnvironmentAsync("ce", 4);
        await engine.CreateQueueAsync("q", 1, "ce");
        EngineHarness.Ok(await engine.Get<JobDefinitionService>().RegisterAsync(new RegisterJobDefinitionRequest
        {
            JobDefinitionName = "greet",
            Type = "container",
            ContainerProperties = Definition(),
            Parameters = new() { ["greeting"] = "hello", ["who"] = "default" },
        }));

        var job = EngineHarness.Ok(await engine.JobService.SubmitAsync(new SubmitJobRequest
        {
            JobName = "greet-1",
            JobQueue = "q",
            JobDefinition = "greet",
            Parameters = new() { ["who"] = "world" },
            ContainerOverrides = new ContainerOverrides { Vcpus = 3 },
        }));

        var stored = await engine.GetJobAsync(job.Id);
        Assert.Equal(["echo", "hello", "world"], stored.Container.Command);
        Assert.Equal(new Dictionary<string, string> { ["greeting"] = "hello", ["who"] = "world" }, stored.Parameters);
        Assert.Equal(3, stored.Vcpus);
        Assert.Equal(1024, stored.MemoryMiB);
        Assert.Equal(JobStatus.Submitted, stored.Status);
        Assert.Equal(EngineHarness.Epoch, stored.CreatedAt);
    }

    [Fact]
    public async Task SubmitAsync_FailsOnEachBadField_WhenQueueDefinitionAndNameAreWrong()
    {
        await using var engine = await EngineHarness.CreateAsync();

        var result = await engine.JobService.SubmitAsync(new SubmitJobRequest { JobName = "-bad", JobQueue = "nowhere", JobDefinition = "nothing" });

        var error = Assert.IsType<ValidationFailed>(result.Error);
        Assert.Contains("'-bad'", error.For("jobName"), StringComparison.Ordinal);
        Assert.Contains("nowhere", error.For("jobQueue"), StringComparison.Ordinal);
        Assert.Contains("nothing", error.For("jobDefinition"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task CancelAsync_FailsTheJobWithTheReason_WhenItHasNotStarted()
    {
        await using var engine = await EngineHarness.CreateAsync();
        await engine.CreateComputeEnvironmentAsync("ce", 4);
        await engine.CreateQueueAsync("q", 1, "ce");
        await engine.RegisterDefinitionAsync("d");
        var job = await engine.SubmitAsync("q", "d");

        var cancelled = await engine.JobService.CancelAsync(job.Id, "not needed");

        Assert.True(EngineHarness.Ok(cancelled));
        var stored = await engine.GetJobAsync(job.Id);
        Assert.Equal(JobStatus.Failed, stored.Status);
        Assert.Equal("not needed", stored.StatusReason);
        Assert.True(stored.IsCancelled);
    }

    [Fact]
    public async Task TerminateAsync_QueuesTheStopAndKeepsTheJobRunning_UntilTheContainerHasExited()
    {
        await using var engine = await EngineHarness.CreateAsync();
        await engine.CreateComputeEnvironmentAsync("ce", 4);
        await engine.CreateQueueAsync("q", 1, "ce");
        await engine.RegisterDefinitionAsync("d");
        var job = await engine.SubmitAsync("q", "d");
        await engine.DispatchOnceAsync();
        var runtime = engine.Docker.Default;
        var containerId = await runtime.CreateAndStartAsync(
            new ContainerSpec("c", "busybox", [], new Dictionary<string, string>(), new Dictionary<string, string>(), 1, 0, 8),
            CancellationToken.None);
        await engine.StateMachine.TryTransitionAsync(job.Id, JobStatus.Starting, JobStatus.Running, null, j => j.Attempts.Single().ContainerId = containerId);

        var terminated = await engine.JobService.TerminateAsync(job.Id, "operator stop");

        // Docker's stop waits out the grace period, so it runs on Hangfire rather than in the caller's request.
        Assert.True(EngineHarness.Ok(terminated));
        var stop = Assert.Single(engine.Hangfire.Calls, c => c.Method == nameof(RunJob.StopAsync));
        Assert.Equal([job.Id, 1], stop.Args.Take(2));
        Assert.True((await runtime.InspectAsync(containerId, CancellationToken.None))!.Running);
        await engine.Services.GetRequiredService<RunJob>().StopAsync(job.Id, 1, CancellationToken.None);
        var state = await runtime.InspectAsync(containerId, CancellationToken.None);
        Assert.False(state!.Running);
        var stored = await engine.GetJobAsync(job.Id);
        Assert.Equal(JobStatus.Running, stored.Status);
        Assert.True(stored.IsTerminated);
        Assert.Equal("operator stop", stored.TerminationReason);
    }

    [Theory]
    [InlineData(null)]
    [InlineData(" ")]
    public async Task CancelAsync_FailsOnReasonField_WhenReasonIsMissing(string? reason)
    {
        await using var engine = await EngineHarness.CreateAsync();

        var result = await engine.JobService.CancelAsync("any", reason);

        var error = Assert.IsType<ValidationFailed>(result.Error);
        Assert.NotNull(error.For("reason"));
    }
}
