using BatchPortal.Engine.Domain;
using BatchPortal.Engine.IntegrationTests.Support;
using BatchPortal.Engine.Jobs;
using BatchPortal.Engine.Dispatch;

namespace BatchPortal.Engine.IntegrationTests.Jobs;

/// <summary>Array jobs on real containers: children, the parent's outcome, SEQUENTIAL and N_TO_N (issue #4).</summary>
[Collection(DockerCollection.Name)]
[Trait("Category", "Docker")]
public class ArrayJobTests(EngineHostFixture engine)
{
    private const string FailsAtIndex1 = "[ \"$AWS_BATCH_JOB_ARRAY_INDEX\" != 1 ]";

    private static void Array(SubmitJobRequest request, int size, params JobDependency[] dependsOn)
    {
        request.ArrayProperties = new ArrayProperties { Size = size };
        request.DependsOn = [.. dependsOn];
    }

    private async Task<IReadOnlyList<Job>> ChildrenAsync(Job parent) =>
        [.. (await engine.Jobs.GetManyAsync([.. Enumerable.Range(0, parent.ArraySize!.Value).Select(i => $"{parent.Id}:{i}")])).OrderBy(c => c.ArrayIndex)];

    [Fact]
    public async Task Array_RunsEveryChildWithItsIndex_AndTheParentSucceeds()
    {
        await engine.RegisterAsync("array-echo", ["sh", "-c", "echo \"index=$AWS_BATCH_JOB_ARRAY_INDEX size=$AWS_BATCH_JOB_ARRAY_SIZE id=$AWS_BATCH_JOB_ID\""]);
        var submitted = await engine.SubmitAsync("array-echo", r => Array(r, 3));

        var parent = await engine.WaitForFinalAsync(submitted.Id);

        Assert.Equal(JobStatus.Succeeded, parent.Status);
        Assert.Empty(parent.Attempts);
        Assert.Equal(
            [JobStatus.Submitted, JobStatus.Pending, JobStatus.Succeeded],
            (await engine.Jobs.GetHistoryAsync(parent.Id)).Select(h => h.To));
        Assert.Equal(new Dictionary<JobStatus, int> { [JobStatus.Succeeded] = 3 }, await engine.Jobs.ArraySummaryAsync(parent.Id));
        foreach (var child in await ChildrenAsync(parent))
        {
            Assert.Equal(JobStatus.Succeeded, child.Status);
            Assert.Equal([$"index={child.ArrayIndex} size=3 id={parent.Id}:{child.ArrayIndex}"], await engine.LogLinesAsync(child.Id, 1));
            await engine.WaitForNoContainersAsync(child.Id);
        }
    }

    [Fact]
    public async Task Array_FailsWithArrayChildJobFailed_WhenOneChildFails()
    {
        await engine.RegisterAsync("array-one-fails", ["sh", "-c", FailsAtIndex1]);
        var submitted = await engine.SubmitAsync("array-one-fails", r => Array(r, 3));

        var parent = await engine.WaitForFinalAsync(submitted.Id);

        Assert.Equal(JobStatus.Failed, parent.Status);
        Assert.Equal(JobDispatcher.ArrayChildJobFailed, parent.StatusReason);
        Assert.Equal(
            new Dictionary<JobStatus, int> { [JobStatus.Succeeded] = 2, [JobStatus.Failed] = 1 },
            await engine.Jobs.ArraySummaryAsync(parent.Id));
        var failed = (await ChildrenAsync(parent)).Single(c => c.Status == JobStatus.Failed);
        Assert.Equal((1, 1), (failed.ArrayIndex, failed.ExitCode));

        // The parent resolves only once its last child has: its stop is not before any child's.
        Assert.All(await ChildrenAsync(parent), c => Assert.True(c.StoppedAt <= parent.StoppedAt));
    }

    [Fact]
    public async Task Sequential_StartsEachChildAfterThePreviousOneStopped()
    {
        await engine.RegisterAsync("array-seq", ["sh", "-c", "echo $AWS_BATCH_JOB_ARRAY_INDEX; sleep 0.2"]);
        var submitted = await engine.SubmitAsync("array-seq", r => Array(r, 3, new JobDependency { Type = "SEQUENTIAL" }));

        var parent = await engine.WaitForFinalAsync(submitted.Id);

        Assert.Equal(JobStatus.Succeeded, parent.Status);
        var children = await ChildrenAsync(parent);
        Assert.All(children, c => Assert.Equal(JobStatus.Succeeded, c.Status));
        for (var i = 1; i < children.Count; i++)
        {
            var previous = Assert.Single(children[i - 1].Attempts);
            var current = Assert.Single(children[i].Attempts);
            Assert.True(
                current.StartedAt >= previous.StoppedAt,
                $"Child {i} started at {current.StartedAt:O}, before child {i - 1} stopped at {previous.StoppedAt:O}.");
        }
    }

    [Fact]
    public async Task Sequential_FailsTheRemainingChildrenWithoutRunningThem_WhenAChildFails()
    {
        await engine.RegisterAsync("array-seq-fails", ["sh", "-c", FailsAtIndex1]);
        var submitted = await engine.SubmitAsync("array-seq-fails", r => Array(r, 4, new JobDependency { Type = "SEQUENTIAL" }));

        var parent = await engine.WaitForFinalAsync(submitted.Id);

        Assert.Equal((JobStatus.Failed, JobDispatcher.ArrayChildJobFailed), (parent.Status, parent.StatusReason));
        var children = await ChildrenAsync(parent);
        Assert.Equal([JobStatus.Succeeded, JobStatus.Failed, JobStatus.Failed, JobStatus.Failed], children.Select(c => c.Status));
        Assert.Equal(1, children[1].ExitCode);
        foreach (var child in children.Skip(2))
        {
            Assert.Equal(JobDispatcher.DependentJobFailed, child.StatusReason);
            Assert.Empty(child.Attempts);
            Assert.Empty(await engine.ContainersOfAsync(child.Id));
        }
    }

    [Fact]
    public async Task NToN_StartsChildIOfB_AfterChildIOfASucceeded()
    {
        // A's children finish in reverse order (a:0 last), so each of B's must have waited for its own index.
        await engine.RegisterAsync("array-a", ["sh", "-c", "sleep $(( 2 - AWS_BATCH_JOB_ARRAY_INDEX ))"]);
        await engine.RegisterAsync("array-b", ["sh", "-c", "echo b$AWS_BATCH_JOB_ARRAY_INDEX"]);
        var a = await engine.SubmitAsync("array-a", r => Array(r, 3));
        var b = await engine.SubmitAsync("array-b", r => Array(r, 3, new JobDependency { JobId = a.Id, Type = "N_TO_N" }));

        var bDone = await engine.WaitForFinalAsync(b.Id);
        var aDone = await engine.WaitForFinalAsync(a.Id);

        Assert.Equal((JobStatus.Succeeded, JobStatus.Succeeded), (aDone.Status, bDone.Status));
        var aChildren = await ChildrenAsync(aDone);
        var bChildren = await ChildrenAsync(bDone);
        for (var i = 0; i < 3; i++)
        {
            var after = Assert.Single(bChildren[i].Attempts).StartedAt;
            var before = Assert.Single(aChildren[i].Attempts).StoppedAt;
            Assert.True(after >= before, $"b:{i} started at {after:O}, before a:{i} stopped at {before:O}.");
            Assert.Equal([$"b{i}"], await engine.LogLinesAsync(bChildren[i].Id, 1));
        }

        // That b:i does not wait for the rest of A is shown on a fixed clock, in Engine.Tests (JobDispatcherArrayTests):
        // here, Docker's start times under load would make it a race.
    }

    [Fact]
    public async Task SubmitAsync_RejectsNToN_WhenTheArraySizesDiffer()
    {
        await engine.RegisterAsync("array-mismatch", ["true"]);
        var a = await engine.SubmitAsync("array-mismatch", r => Array(r, 2));

        var result = await engine.JobService.SubmitAsync(new SubmitJobRequest
        {
            JobName = "mismatch",
            JobQueue = EngineHostFixture.Queue,
            JobDefinition = "array-mismatch",
            ArrayProperties = new ArrayProperties { Size = 3 },
            DependsOn = [new JobDependency { JobId = a.Id, Type = "N_TO_N" }],
        });

        Assert.NotNull(Assert.IsType<ValidationFailed>(result.Error).For("dependsOn[0].jobId"));
        await engine.WaitForFinalAsync(a.Id);
    }
}
