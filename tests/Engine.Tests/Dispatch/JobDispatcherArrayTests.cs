using BatchPortal.Engine.Domain;
using BatchPortal.Engine.Jobs;
using BatchPortal.Engine.Dispatch;
using BatchPortal.Engine.Tests.Support;
using Microsoft.EntityFrameworkCore;

namespace BatchPortal.Engine.Tests.Dispatch;

/// <summary>Array jobs: children, the parent's states and outcome, SEQUENTIAL and N_TO_N (issue #4).</summary>
public class JobDispatcherArrayTests
{
    private static async Task<EngineHarness> EngineAsync(int maxvCpus = 8)
    {
        var engine = await EngineHarness.CreateAsync();
        await engine.CreateComputeEnvironmentAsync("ce", maxvCpus);
        await engine.CreateQueueAsync("q", 1, "ce");
        await engine.RegisterDefinitionAsync("d");
        return engine;
    }

    private static Task<Job> SubmitArrayAsync(EngineHarness engine, int size, string name = "array", params JobDependency[] dependsOn) =>
        engine.SubmitAsync(new SubmitJobRequest
        {
            JobName = name,
            JobQueue = "q",
            JobDefinition = "d",
            ArrayProperties = new ArrayProperties { Size = size },
            DependsOn = [.. dependsOn],
        });

    private static string Child(Job parent, int index) => $"{parent.Id}:{index}";

    [Fact]
    public async Task DispatchOnceAsync_SpawnsIndexedChildrenAndMovesTheParentToPending_WhenAnArrayIsSubmitted()
    {
        await using var engine = await EngineAsync();
        var parent = await SubmitArrayAsync(engine, 3);

        await engine.DispatchOnceAsync();

        var stored = await engine.GetJobAsync(parent.Id);
        Assert.Equal(JobStatus.Pending, stored.Status);
        Assert.True(stored.ChildrenSpawned);
        Assert.Empty(stored.Attempts);
        var children = await engine.Jobs.ArrayChildrenAsync(parent.Id, 0, 10);
        Assert.Equal([0, 1, 2], children.Select(c => c.Index));
        Assert.Equal([Child(parent, 0), Child(parent, 1), Child(parent, 2)], children.Select(c => c.Id));
        foreach (var (index, id, _) in children)
        {
            var child = await engine.GetJobAsync(id);
            Assert.Equal((index, parent.Id, "array", "q"), (child.ArrayIndex, child.ParentJobId, child.Name, child.QueueName));
            Assert.Null(child.ArraySize);
        }

        // The parent itself is never placed: only its children hold capacity.
        Assert.Equal([Child(parent, 0), Child(parent, 1), Child(parent, 2)], engine.Launches().Select(l => l.JobId).Order());
    }

    [Fact]
    public async Task Children_SeeTheirIndexAndTheArraySize_InTheirEnvironment()
    {
        await using var engine = await EngineAsync();
        var parent = await SubmitArrayAsync(engine, 3);
        await engine.DispatchOnceAsync();

        for (var i = 0; i < 3; i++)
        {
            await engine.LaunchAsync(Child(parent, i));
        }

        var specs = engine.Docker.Default.Created;
        Assert.Equal(3, specs.Count);
        Assert.Equal(
            ["0", "1", "2"],
            specs.Select(s => s.Environment["AWS_BATCH_JOB_ARRAY_INDEX"]).Order());
        Assert.All(specs, s => Assert.Equal("3", s.Environment["AWS_BATCH_JOB_ARRAY_SIZE"]));
        Assert.All(specs, s => Assert.Equal(s.Labels[BatchPortal.Engine.Execution.ContainerLabels.JobId], s.Environment["AWS_BATCH_JOB_ID"]));
        Assert.Equal([Child(parent, 0), Child(parent, 1), Child(parent, 2)], specs.Select(s => s.Environment["AWS_BATCH_JOB_ID"]).Order());
    }

    [Fact]
    public async Task Parent_Succeeds_WhenEveryChildSucceeded()
    {
        await using var engine = await EngineAsync();
        var parent = await SubmitArrayAsync(engine, 3);
        await engine.DispatchOnceAsync();

        for (var i = 0; i < 3; i++)
        {
            await engine.RunAsync(Child(parent, i), 0);
            await engine.DispatchUntilIdleAsync();
            var expected = i < 2 ? JobStatus.Pending : JobStatus.Succeeded;
            Assert.Equal(expected, (await engine.GetJobAsync(parent.Id)).Status);
        }

        var done = await engine.GetJobAsync(parent.Id);
        Assert.Null(done.StatusReason);
        Assert.NotNull(done.StoppedAt);
        Assert.Equal(
            [JobStatus.Submitted, JobStatus.Pending, JobStatus.Succeeded],
            (await engine.Jobs.GetHistoryAsync(parent.Id)).Select(h => h.To));
        Assert.Equal(new Dictionary<JobStatus, int> { [JobStatus.Succeeded] = 3 }, await engine.Jobs.ArraySummaryAsync(parent.Id));
    }

    [Fact]
    public async Task Parent_FailsWithArrayChildJobFailed_OnlyOnceEveryChildIsFinal()
    {
        await using var engine = await EngineAsync();
        var parent = await SubmitArrayAsync(engine, 3);
        await engine.DispatchOnceAsync();
        await engine.LaunchAsync(Child(parent, 0));
        await engine.LaunchAsync(Child(parent, 2));

        await engine.RunAsync(Child(parent, 1), 1);
        await engine.DispatchUntilIdleAsync();

        Assert.Equal(JobStatus.Pending, (await engine.GetJobAsync(parent.Id)).Status);
        Assert.Equal(
            new Dictionary<JobStatus, int> { [JobStatus.Running] = 2, [JobStatus.Failed] = 1 },
            await engine.Jobs.ArraySummaryAsync(parent.Id));

        await engine.ExitAsync(Child(parent, 0), 0);
        await engine.ExitAsync(Child(parent, 2), 0);
        await engine.DispatchUntilIdleAsync();

        var done = await engine.GetJobAsync(parent.Id);
        Assert.Equal(JobStatus.Failed, done.Status);
        Assert.Equal(JobDispatcher.ArrayChildJobFailed, done.StatusReason);
        Assert.Equal("Array Child Job failed", done.StatusReason);
        Assert.False(done.IsCancelled);
        Assert.Equal(
            new Dictionary<JobStatus, int> { [JobStatus.Succeeded] = 2, [JobStatus.Failed] = 1 },
            await engine.Jobs.ArraySummaryAsync(parent.Id));
    }

    [Fact]
    public async Task ArraySummaryAsync_CountsChildrenByStatus_WhileCapacityIsShort()
    {
        await using var engine = await EngineAsync(maxvCpus: 2);
        var parent = await SubmitArrayAsync(engine, 5);

        await engine.DispatchOnceAsync();

        Assert.Equal(
            new Dictionary<JobStatus, int> { [JobStatus.Starting] = 2, [JobStatus.Runnable] = 3 },
            await engine.Jobs.ArraySummaryAsync(parent.Id));
        Assert.Empty(await engine.Jobs.ArraySummaryAsync(Child(parent, 0)));
    }

    [Fact]
    public async Task Sequential_RunsChildrenOneAfterAnother()
    {
        await using var engine = await EngineAsync();
        var parent = await SubmitArrayAsync(engine, 3, "seq", new JobDependency { Type = "SEQUENTIAL" });
        await engine.DispatchOnceAsync();

        Assert.Equal(JobStatus.Starting, (await engine.GetJobAsync(Child(parent, 0))).Status);
        Assert.Equal(JobStatus.Pending, (await engine.GetJobAsync(Child(parent, 1))).Status);
        Assert.Equal(JobStatus.Pending, (await engine.GetJobAsync(Child(parent, 2))).Status);
        Assert.Equal([Child(parent, 0)], (await engine.Jobs.DependenciesAsync(Child(parent, 1))).DependsOn.Select(d => d.Id));
        Assert.Equal([Child(parent, 1)], (await engine.Jobs.DependenciesAsync(Child(parent, 2))).DependsOn.Select(d => d.Id));

        for (var i = 0; i < 3; i++)
        {
            Assert.Equal([.. Enumerable.Range(0, i + 1).Select(k => Child(parent, k))], engine.Launches().Select(l => l.JobId));
            await engine.RunAsync(Child(parent, i), 0);
            await engine.DispatchUntilIdleAsync();
        }

        Assert.Equal(JobStatus.Succeeded, (await engine.GetJobAsync(parent.Id)).Status);
    }

    [Fact]
    public async Task Sequential_FailsTheRemainingChildrenWithoutRunningThem_WhenAChildFails()
    {
        await using var engine = await EngineAsync();
        var parent = await SubmitArrayAsync(engine, 4, "seq", new JobDependency { Type = "SEQUENTIAL" });
        await engine.DispatchOnceAsync();
        await engine.RunAsync(Child(parent, 0), 0);
        await engine.DispatchUntilIdleAsync();

        var failed = await engine.RunAsync(Child(parent, 1), 3);
        await engine.DispatchUntilIdleAsync();

        Assert.Equal((JobStatus.Failed, 3), (failed.Status, failed.ExitCode));
        foreach (var i in new[] { 2, 3 })
        {
            var child = await engine.GetJobAsync(Child(parent, i));
            Assert.Equal(JobStatus.Failed, child.Status);
            Assert.Equal(JobDispatcher.DependentJobFailed, child.StatusReason);
            Assert.Equal("Dependent Job failed", child.StatusReason);
            Assert.Empty(child.Attempts);
            Assert.Equal([JobStatus.Pending, JobStatus.Failed], (await engine.Jobs.GetHistoryAsync(child.Id)).Select(h => h.To));
        }

        Assert.DoesNotContain(engine.Launches(), l => l.JobId == Child(parent, 2) || l.JobId == Child(parent, 3));
        var done = await engine.GetJobAsync(parent.Id);
        Assert.Equal((JobStatus.Failed, JobDispatcher.ArrayChildJobFailed), (done.Status, done.StatusReason));
    }

    [Fact]
    public async Task NToN_StartsChildIOfB_OnlyAfterChildIOfASucceeded()
    {
        await using var engine = await EngineAsync();
        var a = await SubmitArrayAsync(engine, 3, "a");
        var b = await SubmitArrayAsync(engine, 3, "b", new JobDependency { JobId = a.Id, Type = "N_TO_N" });
        await engine.DispatchOnceAsync();

        Assert.Equal(JobStatus.Pending, (await engine.GetJobAsync(b.Id)).Status);
        for (var i = 0; i < 3; i++)
        {
            Assert.Equal(JobStatus.Pending, (await engine.GetJobAsync(Child(b, i))).Status);
            Assert.Equal([Child(a, i)], (await engine.Jobs.DependenciesAsync(Child(b, i))).DependsOn.Select(d => d.Id));
        }

        // Out of order on purpose: b:1 follows a:1 while b:0 and b:2 keep waiting.
        await engine.RunAsync(Child(a, 1), 0);
        await engine.DispatchUntilIdleAsync();

        Assert.Equal(JobStatus.Starting, (await engine.GetJobAsync(Child(b, 1))).Status);
        Assert.Equal(JobStatus.Pending, (await engine.GetJobAsync(Child(b, 0))).Status);
        Assert.Equal(JobStatus.Pending, (await engine.GetJobAsync(Child(b, 2))).Status);

        await engine.RunAsync(Child(a, 0), 0);
        await engine.RunAsync(Child(a, 2), 2);
        await engine.DispatchUntilIdleAsync();

        Assert.Equal(JobStatus.Starting, (await engine.GetJobAsync(Child(b, 0))).Status);
        var blocked = await engine.GetJobAsync(Child(b, 2));
        Assert.Equal((JobStatus.Failed, JobDispatcher.DependentJobFailed), (blocked.Status, blocked.StatusReason));
        Assert.Empty(blocked.Attempts);
        Assert.Equal((JobStatus.Failed, JobDispatcher.ArrayChildJobFailed), ((await engine.GetJobAsync(a.Id)).Status, (await engine.GetJobAsync(a.Id)).StatusReason));
    }

    [Fact]
    public async Task NToN_FailsTheDependentChildren_WhenTheTargetArrayFailedBeforeItHadChildren()
    {
        // Regression: B's children wait for A's children by id; an A cancelled before it spawned never makes them,
        // and B's children used to wait in PENDING forever.
        await using var engine = await EngineAsync();
        var blocker = await engine.SubmitAsync("q", "d", "blocker");
        var a = await SubmitArrayAsync(engine, 2, "a", new JobDependency { JobId = blocker.Id });
        var b = await SubmitArrayAsync(engine, 2, "b", new JobDependency { JobId = a.Id, Type = "N_TO_N" });
        await engine.DispatchUntilIdleAsync();
        Assert.False((await engine.GetJobAsync(a.Id)).ChildrenSpawned);
        Assert.Equal(new Dictionary<JobStatus, int> { [JobStatus.Pending] = 2 }, await engine.Jobs.ArraySummaryAsync(b.Id));

        EngineHarness.Ok(await engine.JobService.CancelAsync(a.Id, "not needed"));
        await engine.DispatchUntilIdleAsync();

        for (var i = 0; i < 2; i++)
        {
            var child = await engine.GetJobAsync(Child(b, i));
            Assert.Equal((JobStatus.Failed, JobDispatcher.DependentJobFailed), (child.Status, child.StatusReason));
            Assert.Empty(child.Attempts);
        }

        Assert.Equal((JobStatus.Failed, JobDispatcher.ArrayChildJobFailed), ((await engine.GetJobAsync(b.Id)).Status, (await engine.GetJobAsync(b.Id)).StatusReason));
    }

    [Fact]
    public async Task Children_SpawnOnlyAfterTheParentsOwnDependencySucceeded()
    {
        await using var engine = await EngineAsync();
        var first = await engine.SubmitAsync("q", "d", "first");
        var parent = await SubmitArrayAsync(engine, 2, "after-first", new JobDependency { JobId = first.Id });
        await engine.DispatchOnceAsync();

        Assert.Equal(JobStatus.Pending, (await engine.GetJobAsync(parent.Id)).Status);
        Assert.False((await engine.GetJobAsync(parent.Id)).ChildrenSpawned);
        Assert.Empty(await engine.Jobs.ArraySummaryAsync(parent.Id));

        await engine.RunAsync(first.Id, 0);
        await engine.DispatchUntilIdleAsync();

        Assert.True((await engine.GetJobAsync(parent.Id)).ChildrenSpawned);
        Assert.Equal(new Dictionary<JobStatus, int> { [JobStatus.Starting] = 2 }, await engine.Jobs.ArraySummaryAsync(parent.Id));
        Assert.Equal([JobStatus.Submitted, JobStatus.Pending], (await engine.Jobs.GetHistoryAsync(parent.Id)).Select(h => h.To));
    }

    [Fact]
    public async Task Dependent_WaitsForTheWholeArray_WhenItDependsOnAnArrayParent()
    {
        await using var engine = await EngineAsync();
        var parent = await SubmitArrayAsync(engine, 2);
        var after = await engine.JobService.SubmitAsync(new SubmitJobRequest { JobName = "after", JobQueue = "q", JobDefinition = "d", DependsOn = [new JobDependency { JobId = parent.Id }] });
        var dependent = EngineHarness.Ok(after);
        await engine.DispatchOnceAsync();

        await engine.RunAsync(Child(parent, 0), 0);
        await engine.DispatchUntilIdleAsync();
        Assert.Equal(JobStatus.Pending, (await engine.GetJobAsync(dependent.Id)).Status);

        await engine.RunAsync(Child(parent, 1), 0);
        await engine.DispatchUntilIdleAsync();
        Assert.Equal(JobStatus.Starting, (await engine.GetJobAsync(dependent.Id)).Status);
    }

    [Fact]
    public async Task SpawnChildrenAsync_StoresTheContainerOnce_AndEachChildReadsItFromItsParent()
    {
        // Regression: #11. An array of 10,000 wrote 10,000 copies of its container spec in one transaction (about
        // 0.5 GB for a 30 KB request), blocking every other writer meanwhile.
        await using var engine = await EngineAsync();
        var command = Enumerable.Range(0, 200).Select(i => $"argument-{i}").ToList();
        var parent = await engine.SubmitAsync(new SubmitJobRequest
        {
            JobName = "wide",
            JobQueue = "q",
            JobDefinition = "d",
            ArrayProperties = new ArrayProperties { Size = 500 },
            ContainerOverrides = new ContainerOverrides { Command = command },
            Parameters = new Dictionary<string, string> { ["p"] = "v" },
        });

        await engine.DispatchOnceAsync();

        await using (var db = await engine.Get<IDbContextFactory<Engine.Storage.BatchDbContext>>().CreateDbContextAsync())
        {
            var stored = await db.Database.SqlQueryRaw<long>("SELECT COUNT(*) AS \"Value\" FROM \"Jobs\" WHERE \"ParentJobId\" = {0} AND \"Container\" IS NOT NULL", parent.Id)
                .SingleAsync();
            Assert.Equal(0, stored);
        }

        var child = await engine.GetJobAsync(Child(parent, 321));
        Assert.Equal(command, child.Container.Command);
        Assert.Equal("v", child.Parameters["p"]);
        var many = await engine.Jobs.GetManyAsync([Child(parent, 0), Child(parent, 499)]);
        Assert.All(many, c => Assert.Equal(command, c.Container.Command));
    }
}
