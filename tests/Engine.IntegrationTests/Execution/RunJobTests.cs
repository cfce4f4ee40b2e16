using BatchPortal.Engine.Domain;
using BatchPortal.Engine.Execution;
using BatchPortal.Engine.IntegrationTests.Support;
using Xunit.Abstractions;

namespace BatchPortal.Engine.IntegrationTests.Execution;

[Collection(DockerCollection.Name)]
[Trait("Category", "Docker")]
public class RunJobTests(EngineHostFixture engine, ITestOutputHelper output)
{
    [Fact]
    public async Task Job_Succeeds_WhenContainerExitsZero_AndItsOutputIsStoredAndContainerRemoved()
    {
        await engine.RegisterAsync("two-lines", ["sh", "-c", "echo to-stdout; echo to-stderr >&2"]);
        var submitted = await engine.SubmitAsync("two-lines");

        var job = await engine.WaitForFinalAsync(submitted.Id);

        Assert.Equal(JobStatus.Succeeded, job.Status);
        Assert.Equal(RunJob.EssentialContainerExited, job.StatusReason);
        Assert.Equal("Essential container in task exited", job.StatusReason);
        Assert.Equal(0, job.ExitCode);
        Assert.NotNull(job.StartedAt);
        Assert.NotNull(job.StoppedAt);
        Assert.False(string.IsNullOrEmpty(job.LogStreamName));

        var attempt = Assert.Single(job.Attempts);
        Assert.Equal(1, attempt.Number);
        Assert.NotNull(attempt.StartedAt);
        Assert.NotNull(attempt.StoppedAt);
        Assert.True(attempt.StoppedAt >= attempt.StartedAt);
        Assert.Equal(0, attempt.ExitCode);
        Assert.Equal(job.LogStreamName, attempt.LogStreamName);
        Assert.StartsWith("two-lines/default/", attempt.LogStreamName, StringComparison.Ordinal);
        Assert.False(string.IsNullOrEmpty(attempt.ContainerId));

        var lines = await engine.Logs.ReadAsync(job.Id, 1);
        Assert.Contains(lines, l => l is { Stream: "stdout", Message: "to-stdout" });
        Assert.Contains(lines, l => l is { Stream: "stderr", Message: "to-stderr" });
        Assert.Equal(2, lines.Count);

        await engine.WaitForNoContainersAsync(job.Id);
    }

    [Fact]
    public async Task Job_FailsWithExitCode_WhenContainerExitsNonZero()
    {
        await engine.RegisterAsync("exit-three", ["sh", "-c", "exit 3"]);
        var submitted = await engine.SubmitAsync("exit-three");

        var job = await engine.WaitForFinalAsync(submitted.Id);

        Assert.Equal(JobStatus.Failed, job.Status);
        Assert.Equal(3, job.ExitCode);
        Assert.Equal("Essential container in task exited", job.StatusReason);
        Assert.Equal(3, Assert.Single(job.Attempts).ExitCode);
        await engine.WaitForNoContainersAsync(job.Id);
    }

    [Fact]
    public async Task Job_FailsToStartWithCannotPullContainerError_WhenImageIsNotPresentAndCannotBePulled()
    {
        await engine.RegisterAsync("missing-image", ["true"], r => r.ContainerProperties!.Image = "batchportal/does-not-exist:1");
        var submitted = await engine.SubmitAsync("missing-image");

        var job = await engine.WaitForFinalAsync(submitted.Id);

        Assert.Equal(JobStatus.Failed, job.Status);
        Assert.StartsWith("CannotPullContainerError:", job.ContainerReason, StringComparison.Ordinal);
        Assert.Equal(RunJob.TaskFailedToStart, job.StatusReason);
        Assert.Equal("Task failed to start", job.StatusReason);
        Assert.Null(job.ExitCode);
        var attempt = Assert.Single(job.Attempts);
        Assert.Equal(job.ContainerReason, attempt.Reason);
        Assert.Null(attempt.ContainerId);

        // Reported, not asserted: how long the engine spent trying to pull (STARTING -> FAILED).
        var history = await engine.Jobs.GetHistoryAsync(job.Id);
        var launch = history.Single(h => h.To == JobStatus.Failed).At - history.Single(h => h.To == JobStatus.Starting).At;
        output.WriteLine($"Launch with a failing pull took {launch.TotalMilliseconds:0} ms: {job.ContainerReason}");
    }

    [Fact]
    public async Task Job_GoesThroughEveryStatusInOrder_WhenItSucceeds()
    {
        await engine.RegisterAsync("history", ["true"]);
        var submitted = await engine.SubmitAsync("history");

        var job = await engine.WaitForFinalAsync(submitted.Id);
        var history = await engine.Jobs.GetHistoryAsync(job.Id);

        Assert.Equal(
            [JobStatus.Submitted, JobStatus.Runnable, JobStatus.Starting, JobStatus.Running, JobStatus.Succeeded],
            history.Select(h => h.To));
        Assert.Equal([null, JobStatus.Submitted, JobStatus.Runnable, JobStatus.Starting, JobStatus.Running], history.Select(h => h.From));
        Assert.True(history.Zip(history.Skip(1)).All(p => p.First.At <= p.Second.At), "History timestamps go backwards.");
    }

    [Fact]
    public async Task Container_SeesTheBatchEnvironmentVariables_AndTheDefinitionsOwn()
    {
        await engine.RegisterAsync(
            "print-env",
            ["sh", "-c", "echo \"ID=$AWS_BATCH_JOB_ID\"; echo \"ATTEMPT=$AWS_BATCH_JOB_ATTEMPT\"; echo \"JQ=$AWS_BATCH_JQ_NAME\"; echo \"CE=$AWS_BATCH_CE_NAME\"; echo \"MODE=$MODE\""],
            r => r.ContainerProperties!.Environment.Add(new EnvironmentVariable { Name = "MODE", Value = "integration" }));
        var submitted = await engine.SubmitAsync("print-env");

        var job = await engine.WaitForFinalAsync(submitted.Id);

        Assert.Equal(JobStatus.Succeeded, job.Status);
        Assert.Equal(
            [$"ID={job.Id}", "ATTEMPT=1", $"JQ={EngineHostFixture.Queue}", $"CE={engine.ComputeEnvironment}", "MODE=integration"],
            await engine.LogLinesAsync(job.Id, 1));
    }

    [Fact]
    public async Task Container_RunsUnderTheJobsMemoryLimit_WhenMemoryIs64MiB()
    {
        // cgroup v1 (this machine) shows the limit in memory.limit_in_bytes; cgroup v2 in memory.max.
        await engine.RegisterAsync(
            "memory-limit",
            ["sh", "-c", "cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max"],
            r => r.ContainerProperties!.SetRequirement("MEMORY", "64"));
        var submitted = await engine.SubmitAsync("memory-limit");

        var job = await engine.WaitForFinalAsync(submitted.Id);

        Assert.Equal(JobStatus.Succeeded, job.Status);
        Assert.Equal(64, job.MemoryMiB);
        Assert.Equal(["67108864"], await engine.LogLinesAsync(job.Id, 1));
    }

    [Fact]
    public async Task Container_RunsTheCommandWithParametersSubstituted_WhenSubmitOverridesADefault()
    {
        await engine.RegisterAsync(
            "greet",
            ["echo", "Ref::greeting", "Ref::who", "Ref::unknown"],
            r => r.Parameters = new() { ["greeting"] = "hello", ["who"] = "default" });
        var submitted = await engine.SubmitAsync("greet", s => s.Parameters = new() { ["who"] = "world" });

        var job = await engine.WaitForFinalAsync(submitted.Id);

        Assert.Equal(JobStatus.Succeeded, job.Status);
        Assert.Equal(["hello world Ref::unknown"], await engine.LogLinesAsync(job.Id, 1));
    }

    [Fact]
    public async Task Job_IsRetriedThenFails_WhenEveryAttemptFailsAndAttemptsAre2()
    {
        await engine.RegisterAsync(
            "fails-twice",
            ["sh", "-c", "echo \"attempt $AWS_BATCH_JOB_ATTEMPT\"; exit 1"],
            r => r.RetryStrategy = new RetryStrategy { Attempts = 2 });
        var submitted = await engine.SubmitAsync("fails-twice");

        var job = await engine.WaitForFinalAsync(submitted.Id);

        Assert.Equal(JobStatus.Failed, job.Status);
        Assert.Equal(1, job.ExitCode);
        Assert.Equal(2, job.AttemptCount);
        Assert.Collection(
            job.Attempts,
            a => Assert.Equal((1, 1, RunJob.EssentialContainerExited), (a.Number, a.ExitCode, a.StatusReason)),
            a => Assert.Equal((2, 1, RunJob.EssentialContainerExited), (a.Number, a.ExitCode, a.StatusReason)));
        Assert.NotEqual(job.Attempts[0].ContainerId, job.Attempts[1].ContainerId);
        Assert.Equal(["attempt 1"], await engine.LogLinesAsync(job.Id, 1));
        Assert.Equal(["attempt 2"], await engine.LogLinesAsync(job.Id, 2));

        var history = await engine.Jobs.GetHistoryAsync(job.Id);
        Assert.Equal(
            [JobStatus.Submitted, JobStatus.Runnable, JobStatus.Starting, JobStatus.Running, JobStatus.Runnable, JobStatus.Starting, JobStatus.Running, JobStatus.Failed],
            history.Select(h => h.To));
        await engine.WaitForNoContainersAsync(job.Id);
    }
}
