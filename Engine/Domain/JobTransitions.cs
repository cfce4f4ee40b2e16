namespace BatchPortal.Engine.Domain;

/// <summary>
/// The one table of legal job moves. Every status write goes through <see cref="TryTransition"/>; the store then applies
/// the result as compare-and-set on the expected status, so two racing writers cannot both win.
/// </summary>
public static class JobTransitions
{
    private static readonly HashSet<(JobStatus From, JobStatus To)> Legal =
    [
        (JobStatus.Submitted, JobStatus.Pending),   // waits on dependencies
        (JobStatus.Submitted, JobStatus.Runnable),
        (JobStatus.Submitted, JobStatus.Failed),    // cancel / terminate
        (JobStatus.Pending, JobStatus.Runnable),    // dependencies succeeded
        (JobStatus.Pending, JobStatus.Failed),      // a dependency failed, or cancel / terminate
        (JobStatus.Pending, JobStatus.Succeeded),   // an array parent whose children all succeeded
        (JobStatus.Runnable, JobStatus.Starting),   // placed on a compute environment
        (JobStatus.Runnable, JobStatus.Failed),     // cancel / terminate / queue time-limit action
        (JobStatus.Starting, JobStatus.Running),
        (JobStatus.Starting, JobStatus.Runnable),   // the launch never reached the engine (Docker unreachable): place again
        (JobStatus.Starting, JobStatus.Failed),     // image pull or container start failed, or terminate
        (JobStatus.Running, JobStatus.Succeeded),
        (JobStatus.Running, JobStatus.Failed),
        (JobStatus.Running, JobStatus.Runnable),    // retry: a new attempt
    ];

    public static bool IsLegal(JobStatus from, JobStatus to) => Legal.Contains((from, to));

    public static IEnumerable<(JobStatus From, JobStatus To)> All => Legal;

    /// <summary>
    /// Checks a move of <paramref name="job"/> from <paramref name="expectedFrom"/> to <paramref name="to"/> and, when it
    /// is legal and the job is still in the expected state, applies it to the entity (status, reason, timestamps).
    /// </summary>
    public static TransitionResult TryTransition(Job job, JobStatus expectedFrom, JobStatus to, string? reason, DateTimeOffset now)
    {
        if (!IsLegal(expectedFrom, to))
        {
            return TransitionResult.Illegal(expectedFrom, to);
        }

        if (job.Status != expectedFrom)
        {
            return TransitionResult.NotApplied(job.Status);
        }

        job.ApplyTransition(to, reason, now);
        return TransitionResult.Applied(expectedFrom, to);
    }
}

public readonly record struct TransitionResult(TransitionOutcome Outcome, JobStatus From, JobStatus To)
{
    public bool IsApplied => Outcome == TransitionOutcome.Applied;

    public static TransitionResult Applied(JobStatus from, JobStatus to) => new(TransitionOutcome.Applied, from, to);

    public static TransitionResult NotApplied(JobStatus actual) => new(TransitionOutcome.NotApplied, actual, actual);

    public static TransitionResult Illegal(JobStatus from, JobStatus to) => new(TransitionOutcome.Illegal, from, to);

    public static TransitionResult NotFound { get; } = new(TransitionOutcome.NotFound, default, default);
}

public enum TransitionOutcome
{
    Applied,

    /// <summary>The job was no longer in the expected state: another writer moved it first.</summary>
    NotApplied,

    /// <summary>The move is not in the table. A bug in the caller.</summary>
    Illegal,

    NotFound,
}
