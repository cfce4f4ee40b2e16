using BatchPortal.Engine.Domain;

namespace BatchPortal.Engine.Tests.Domain;

/// <summary>The end of an attempt, decided in one pure step from the job and the attempt's outcome (no worker decides).</summary>
public class JobElectionTests
{
    private static readonly DateTimeOffset At = new(2026, 1, 15, 9, 0, 0, TimeSpan.Zero);

    public static TheoryData<string, JobStatus, int?, int, int, bool, bool, string?, JobStatus, string> Table => new()
    {
        // case, from, exit code, attempt, max attempts, terminated, timed out, evaluateOnExit (onStatusReason → RETRY, rest EXIT), expected, expected reason
        { "exit 0 after running", JobStatus.Running, 0, 1, 1, false, false, null, JobStatus.Succeeded, AttemptOutcome.EssentialContainerExited },
        { "exit 0 on the last attempt", JobStatus.Running, 0, 3, 3, false, false, null, JobStatus.Succeeded, AttemptOutcome.EssentialContainerExited },
        { "failure, no retry strategy", JobStatus.Running, 1, 1, 1, false, false, null, JobStatus.Failed, AttemptOutcome.EssentialContainerExited },
        { "failure, attempts left", JobStatus.Running, 1, 1, 3, false, false, null, JobStatus.Runnable, AttemptOutcome.EssentialContainerExited },
        { "failure, attempts used up", JobStatus.Running, 1, 3, 3, false, false, null, JobStatus.Failed, AttemptOutcome.EssentialContainerExited },
        { "no container (pull failed), attempts left", JobStatus.Starting, null, 1, 2, false, false, null, JobStatus.Runnable, AttemptOutcome.TaskFailedToStart },
        { "exit 0 but never ran", JobStatus.Starting, 0, 1, 1, false, false, null, JobStatus.Failed, AttemptOutcome.TaskFailedToStart },
        { "terminated, exit 0", JobStatus.Running, 0, 1, 3, true, false, null, JobStatus.Failed, "stopped by ops" },
        { "terminated, attempts left", JobStatus.Running, 137, 1, 3, true, false, null, JobStatus.Failed, "stopped by ops" },
        { "timed out, attempts left", JobStatus.Running, 137, 1, 3, false, true, null, JobStatus.Failed, AttemptOutcome.TimeoutExceeded },
        { "host gone, retried on Host EC2*", JobStatus.Running, 137, 1, 2, false, false, "Host EC2*", JobStatus.Runnable, "host" },
        { "failure, Host EC2* rule does not match", JobStatus.Running, 1, 1, 2, false, false, "Host EC2*", JobStatus.Failed, AttemptOutcome.EssentialContainerExited },
    };

    [Theory]
    [MemberData(nameof(Table))]
    public void Elect_DecidesTheMove_AsAwsBatchDoes(
        string name,
        JobStatus from,
        int? exitCode,
        int attempt,
        int maxAttempts,
        bool terminated,
        bool timedOut,
        string? retryOnStatusReason,
        JobStatus expected,
        string expectedReason)
    {
        var strategy = new RetryStrategy { Attempts = maxAttempts };
        if (retryOnStatusReason is not null)
        {
            strategy.EvaluateOnExit = [new EvaluateOnExit { OnStatusReason = retryOnStatusReason, Action = "RETRY" }, new EvaluateOnExit { OnReason = "*", Action = "EXIT" }];
        }

        var job = TestJobs.New(strategy);
        job.IsTerminated = terminated;
        job.TerminationReason = terminated ? "stopped by ops" : null;
        job.TimedOut = timedOut;
        var statusReason = expectedReason == "host" ? AttemptOutcome.HostTerminated("unix:///x.sock")
            : from == JobStatus.Starting ? AttemptOutcome.TaskFailedToStart
            : AttemptOutcome.EssentialContainerExited;
        var outcome = new AttemptOutcome(from, exitCode, null, statusReason, At);

        var election = JobElection.Elect(job, attempt, outcome, JobElection.Default);

        Assert.True(expected == election.To, $"{name}: expected {expected}, elected {election.To}");
        Assert.Equal(expectedReason == "host" ? statusReason : expectedReason, election.StatusReason);
    }
}
