using BatchPortal.Engine.Domain;
using BatchPortal.Engine.Execution;
using BatchPortal.Engine.IntegrationTests.Support;

namespace BatchPortal.Engine.IntegrationTests.Execution;

/// <summary><c>retryStrategy</c> with <c>evaluateOnExit</c> on real containers: which exits are retried, and what each attempt records (issue #4).</summary>
[Collection(DockerCollection.Name)]
[Trait("Category", "Docker")]
public class RetryTests(EngineHostFixture engine)
{
    private static RetryStrategy Retry(int attempts, params (string OnExitCode, string Action)[] rules) => new()
    {
        Attempts = attempts,
        EvaluateOnExit = [.. rules.Select(r => new EvaluateOnExit { OnExitCode = r.OnExitCode, Action = r.Action })],
    };

    [Fact]
    public async Task Job_IsNotRetried_WhenAnExitRuleMatchesItsExitCode()
    {
        await engine.RegisterAsync("exit-rule", ["sh", "-c", "echo attempt $AWS_BATCH_JOB_ATTEMPT; exit 3"], r => r.RetryStrategy = Retry(3, ("3", "EXIT")));
        var submitted = await engine.SubmitAsync("exit-rule");

        var job = await engine.WaitForFinalAsync(submitted.Id);

        Assert.Equal((JobStatus.Failed, 3, 1), (job.Status, job.ExitCode, job.AttemptCount));
        Assert.Equal(3, Assert.Single(job.Attempts).ExitCode);
        Assert.Equal(["attempt 1"], await engine.LogLinesAsync(job.Id, 1));
    }

    [Fact]
    public async Task Job_IsRetriedWhileARetryRuleMatches_AndStopsAtTheFirstExitRule_RecordingEveryAttempt()
    {
        // 41 and 42 match "4*" (RETRY); 7 falls through to the catch-all EXIT, with attempts still left.
        await engine.RegisterAsync(
            "retry-rules",
            ["sh", "-c", "echo attempt $AWS_BATCH_JOB_ATTEMPT; case $AWS_BATCH_JOB_ATTEMPT in 1) exit 41;; 2) exit 42;; *) exit 7;; esac"],
            r => r.RetryStrategy = Retry(5, ("4*", "retry"), ("*", "EXIT")));
        var submitted = await engine.SubmitAsync("retry-rules");

        var job = await engine.WaitForFinalAsync(submitted.Id);

        Assert.Equal((JobStatus.Failed, 7, 3), (job.Status, job.ExitCode, job.AttemptCount));
        Assert.Equal([41, 42, 7], job.Attempts.Select(a => a.ExitCode));
        Assert.Equal([1, 2, 3], job.Attempts.Select(a => a.Number));
        Assert.All(job.Attempts, a =>
        {
            Assert.Equal(RunJob.EssentialContainerExited, a.StatusReason);
            Assert.NotNull(a.StartedAt);
            Assert.True(a.StoppedAt >= a.StartedAt);
            Assert.StartsWith("retry-rules/default/", a.LogStreamName, StringComparison.Ordinal);
            Assert.False(string.IsNullOrEmpty(a.ContainerId));
        });
        Assert.Equal(3, job.Attempts.Select(a => a.LogStreamName).Distinct().Count());
        Assert.Equal(3, job.Attempts.Select(a => a.ContainerId).Distinct().Count());
        for (var i = 1; i < job.Attempts.Count; i++)
        {
            Assert.True(job.Attempts[i].StartedAt >= job.Attempts[i - 1].StoppedAt, "Attempts overlap.");
        }

        for (var attempt = 1; attempt <= 3; attempt++)
        {
            Assert.Equal([$"attempt {attempt}"], await engine.LogLinesAsync(job.Id, attempt));
        }

        // The job's own fields follow the latest attempt.
        Assert.Equal((job.Attempts[^1].LogStreamName, job.Attempts[^1].StartedAt), (job.LogStreamName, job.StartedAt));
        Assert.Equal(3, (await engine.Jobs.GetHistoryAsync(job.Id)).Count(h => h.To == JobStatus.Runnable));
        await engine.WaitForNoContainersAsync(job.Id);
    }

    [Fact]
    public async Task Job_SucceedsOnALaterAttempt_WhenARetryRuleMatchedTheFirstExit()
    {
        await engine.RegisterAsync(
            "retry-then-succeed",
            ["sh", "-c", "[ \"$AWS_BATCH_JOB_ATTEMPT\" -ge 2 ] || exit 42"],
            r => r.RetryStrategy = Retry(3, ("42", "RETRY")));
        var submitted = await engine.SubmitAsync("retry-then-succeed");

        var job = await engine.WaitForFinalAsync(submitted.Id);

        Assert.Equal((JobStatus.Succeeded, 0, 2), (job.Status, job.ExitCode, job.AttemptCount));
        Assert.Equal([42, 0], job.Attempts.Select(a => a.ExitCode));
    }

    [Fact]
    public async Task Job_IsRetried_WhenItsContainerIsRemovedWhileItRuns()
    {
        await engine.RegisterAsync(
            "removed-under-it",
            ["sh", "-c", "echo attempt $AWS_BATCH_JOB_ATTEMPT; [ \"$AWS_BATCH_JOB_ATTEMPT\" = 2 ] || sleep 30"],
            r => r.RetryStrategy = new RetryStrategy { Attempts = 2 });
        var submitted = await engine.SubmitAsync("removed-under-it");
        var running = await engine.WaitForAsync(submitted.Id, j => j.Status == JobStatus.Running, "RUNNING");

        await engine.Docker.Containers.RemoveContainerAsync(running.Attempts.Single().ContainerId, new Docker.DotNet.Models.ContainerRemoveParameters { Force = true });
        var job = await engine.WaitForFinalAsync(submitted.Id);

        Assert.Equal((JobStatus.Succeeded, 2), (job.Status, job.AttemptCount));
        var lost = job.Attempts[0];
        // docker rm -f kills first: the engine sees the kill (137) or, when the container is already gone, says so.
        Assert.True(lost.ExitCode == 137 || lost.Reason?.Contains("no longer exists", StringComparison.Ordinal) == true, $"Attempt 1 ended with {lost.ExitCode} ({lost.Reason}).");
        Assert.NotNull(lost.StoppedAt);
        Assert.Equal(["attempt 2"], await engine.LogLinesAsync(job.Id, 2));
    }
}
