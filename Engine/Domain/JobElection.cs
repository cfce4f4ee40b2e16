namespace BatchPortal.Engine.Domain;

/// <summary>
/// How an attempt ended, as the worker saw it. The worker only reports this; <see cref="JobElection"/> decides what the
/// job becomes.
/// </summary>
/// <param name="From">STARTING when the container never ran (pull or start failed), else RUNNING.</param>
/// <param name="ExitCode">The container's exit code; null when there was no container or it vanished.</param>
/// <param name="ContainerReason">AWS's <c>container.reason</c>, e.g. <c>CannotPullContainerError: ...</c>.</param>
/// <param name="StatusReason">What the runner says happened, e.g. <c>Essential container in task exited</c>.</param>
/// <param name="StoppedAt">When the container stopped (Docker's own time when known).</param>
public sealed record AttemptOutcome(JobStatus From, int? ExitCode, string? ContainerReason, string StatusReason, DateTimeOffset StoppedAt)
{
    public const string EssentialContainerExited = "Essential container in task exited";
    public const string TaskFailedToStart = "Task failed to start";
    public const string TimeoutExceeded = "Job attempt duration exceeded timeout";

    /// <summary>AWS's reason when the instance under an attempt went away; retry strategies match it with <c>Host EC2*</c>.</summary>
    public static string HostTerminated(string host) => $"Host EC2 (instance {host}) terminated.";
}

/// <summary>The state a job moves to when an attempt ends, and the status reason it carries.</summary>
public readonly record struct Election(JobStatus To, string StatusReason);

/// <summary>
/// One rule of the election (Hangfire's elect-state filters): it sees the attempt's outcome and the vote so far, and may
/// change it. Filters are pure: they read the job and return a decision; the state machine applies it.
/// </summary>
public interface IJobElectFilter
{
    Election OnElecting(Job job, int attempt, AttemptOutcome outcome, Election proposed);
}

/// <summary>Decides the end of an attempt: the proposal (exit 0 after running: SUCCEEDED, else FAILED), then each filter in order.</summary>
public static class JobElection
{
    /// <summary>The filters AWS Batch's behaviour needs, in the order they apply.</summary>
    public static IReadOnlyList<IJobElectFilter> Default { get; } = [new StopFilter(), new RetryFilter()];

    public static Election Propose(AttemptOutcome outcome) =>
        new(outcome.ExitCode == 0 && outcome.From == JobStatus.Running ? JobStatus.Succeeded : JobStatus.Failed, outcome.StatusReason);

    public static Election Elect(Job job, int attempt, AttemptOutcome outcome, IEnumerable<IJobElectFilter> filters) =>
        filters.Aggregate(Propose(outcome), (vote, filter) => filter.OnElecting(job, attempt, outcome, vote));
}

/// <summary>
/// A job that TerminateJob stopped fails with the caller's reason, and one that ran past its attempt timeout fails with
/// AWS's timeout reason; neither is retried, whatever the container's exit code.
/// </summary>
public sealed class StopFilter : IJobElectFilter
{
    public Election OnElecting(Job job, int attempt, AttemptOutcome outcome, Election proposed) =>
        job.IsTerminated ? new(JobStatus.Failed, job.TerminationReason ?? "Terminated")
        : job.TimedOut ? new(JobStatus.Failed, AttemptOutcome.TimeoutExceeded)
        : proposed;
}

/// <summary><c>retryStrategy</c>: a failed attempt becomes a new one (RUNNABLE) while attempts remain and <c>evaluateOnExit</c> allows.</summary>
public sealed class RetryFilter : IJobElectFilter
{
    public Election OnElecting(Job job, int attempt, AttemptOutcome outcome, Election proposed) =>
        proposed.To == JobStatus.Failed && !job.IsTerminated && !job.TimedOut
        && RetryPolicy.ShouldRetry(job, attempt, outcome.ExitCode, outcome.ContainerReason, proposed.StatusReason)
            ? proposed with { To = JobStatus.Runnable }
            : proposed;
}
