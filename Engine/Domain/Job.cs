namespace BatchPortal.Engine.Domain;

/// <summary>A submitted job. Its status only changes through <see cref="JobTransitions"/>.</summary>
public sealed class Job
{
    /// <summary>Insertion order; the FIFO key within a queue and the paging key for lists.</summary>
    public long Seq { get; internal set; }

    public required string Id { get; init; }

    public required string Name { get; init; }

    public required string QueueName { get; init; }

    public required string JobDefinitionName { get; init; }

    public required int JobDefinitionRevision { get; init; }

    public JobStatus Status { get; private set; } = JobStatus.Submitted;

    public string? StatusReason { get; private set; }

    public DateTimeOffset CreatedAt { get; init; }

    /// <summary>The STARTING → RUNNING moment of the latest attempt (AWS's <c>startedAt</c>).</summary>
    public DateTimeOffset? StartedAt { get; set; }

    /// <summary>The moment the job reached SUCCEEDED or FAILED.</summary>
    public DateTimeOffset? StoppedAt { get; private set; }

    /// <summary>
    /// The container as it runs: the definition's properties with the submit overrides and parameters applied. An array
    /// child shares its parent's: the store keeps it once, on the parent, and fills it in when it reads a child.
    /// </summary>
    public required ContainerProperties Container { get; set; }

    /// <summary>The parameters after the definition's defaults were merged in; an array child shares its parent's.</summary>
    public Dictionary<string, string> Parameters { get; set; } = [];

    public RetryStrategy? RetryStrategy { get; init; }

    public JobTimeout? Timeout { get; init; }

    public Dictionary<string, string> Tags { get; init; } = [];

    /// <summary>Whether the job's and its definition's tags go to its containers' tasks (AWS's <c>propagateTags</c>).</summary>
    public bool PropagateTags { get; init; }

    /// <summary>The submit's <c>schedulingPriorityOverride</c>, else the definition's <c>schedulingPriority</c>.</summary>
    public int? SchedulingPriority { get; init; }

    /// <summary>How many attempts have been placed so far; the current attempt's number.</summary>
    public int AttemptCount { get; set; }

    /// <summary>Where the current attempt was placed.</summary>
    public string? ComputeEnvironmentName { get; set; }

    public int? ExitCode { get; set; }

    /// <summary>The container-level reason (AWS's <c>container.reason</c>), e.g. <c>CannotPullContainerError: ...</c>.</summary>
    public string? ContainerReason { get; set; }

    public string? LogStreamName { get; set; }

    public bool IsCancelled { get; set; }

    public bool IsTerminated { get; set; }

    /// <summary>The caller's reason, kept from TerminateJob on a running job until its container has stopped.</summary>
    public string? TerminationReason { get; set; }

    /// <summary>When TerminateJob reached the job while it ran: its container gets SIGTERM, then SIGKILL after the grace period.</summary>
    public DateTimeOffset? TerminationRequestedAt { get; set; }

    /// <summary>An array parent's size (2–10,000); null for other jobs.</summary>
    public int? ArraySize { get; init; }

    /// <summary>An array child's index; null for other jobs.</summary>
    public int? ArrayIndex { get; init; }

    /// <summary>An array child's parent job id.</summary>
    public string? ParentJobId { get; init; }

    /// <summary>An array parent whose children exist (they are made once its own dependencies have succeeded).</summary>
    public bool ChildrenSpawned { get; set; }

    /// <summary>
    /// How many jobs this job still waits for: its dependencies that have not finished, or, for an array parent whose
    /// children exist, its children that have not. Kept by the store in the same transaction as each finish, so that a
    /// dispatch pass reads only the jobs whose wait is over, never every waiting one.
    /// </summary>
    public int WaitsFor { get; internal set; }

    /// <summary>One of the jobs it waited for failed: a dependency (the job fails without running) or a child.</summary>
    public bool WaitFailed { get; internal set; }

    /// <summary>AWS's <c>dependsOn</c>, as submitted.</summary>
    public List<JobDependency> DependsOn { get; init; } = [];

    /// <summary>When the job last became RUNNABLE; the clock of the queue's job state time limit actions.</summary>
    public DateTimeOffset? RunnableSince { get; private set; }

    /// <summary>The current attempt ran past <c>timeout.attemptDurationSeconds</c> and was stopped.</summary>
    public bool TimedOut { get; set; }

    public bool IsArrayParent => ArraySize is not null;

    /// <summary>The schedule that submitted the job, if any.</summary>
    public string? ScheduleName { get; init; }

    /// <summary>The fire time the job came from; with <see cref="ScheduleName"/> unique, so a fire time submits at most one job.</summary>
    public DateTimeOffset? ScheduledFireTime { get; init; }

    /// <summary>Who submitted it (a user, an API key's owner, a schedule); null for jobs stored before the audit trail.</summary>
    public string? SubmittedBy { get; init; }

    /// <summary>How it was submitted: <c>console</c>, <c>API key AKIA…</c>, <c>schedule</c> (<see cref="Access.Actor.Source"/>).</summary>
    public string? SubmittedVia { get; init; }

    /// <summary>Bumped on every write; the concurrency token that makes transitions compare-and-set.</summary>
    public long Version { get; set; }

    public List<JobAttempt> Attempts { get; init; } = [];

    public int MaxAttempts => Math.Clamp(RetryStrategy?.Attempts ?? 1, 1, 10);

    /// <summary>The vCPUs the job holds while it runs; stored so capacity can be summed in the database.</summary>
    public double Vcpus { get; init; }

    public int MemoryMiB { get; init; }

    /// <summary>Places the next attempt on a compute environment (RUNNABLE → STARTING); the endpoint is recorded before any container exists.</summary>
    public JobAttempt PlaceAttempt(string computeEnvironment, string dockerEndpoint, DateTimeOffset now)
    {
        AttemptCount++;
        ComputeEnvironmentName = computeEnvironment;
        ExitCode = null;
        ContainerReason = null;
        TimedOut = false;
        var row = new JobAttempt { JobId = Id, Number = AttemptCount, ComputeEnvironmentName = computeEnvironment, DockerEndpoint = dockerEndpoint, PlacedAt = now };
        Attempts.Add(row);
        return row;
    }

    /// <summary>The launch never reached the engine: the attempt did not happen and the capacity goes back.</summary>
    public void UndoPlacement(int attempt)
    {
        if (Attempt(attempt) is { } row)
        {
            Attempts.Remove(row);
        }

        AttemptCount = Attempts.Count == 0 ? 0 : Attempts.Max(a => a.Number);
    }

    /// <summary>The attempt's container runs (STARTING → RUNNING).</summary>
    public void AttemptStarted(int attempt, string containerId, string logStreamName, DateTimeOffset startedAt)
    {
        StartedAt = startedAt;
        LogStreamName = logStreamName;
        var row = RequireAttempt(attempt);
        row.ContainerId = containerId;
        row.StartedAt = startedAt;
        row.LogStreamName = logStreamName;
        row.HostUnreachableSince = null;
    }

    /// <summary>Records how the attempt ended, on the job (AWS shows the latest attempt's container) and on its row.</summary>
    public void EndAttempt(int attempt, AttemptOutcome outcome, string statusReason)
    {
        ExitCode = outcome.ExitCode;
        ContainerReason = outcome.ContainerReason;
        TimedOut = false;
        var row = RequireAttempt(attempt);
        row.StoppedAt = outcome.StoppedAt;
        row.StartedAt ??= outcome.StoppedAt;
        row.ExitCode = outcome.ExitCode;
        row.Reason = outcome.ContainerReason;
        row.StatusReason = statusReason;
    }

    public JobAttempt? Attempt(int number) => Attempts.FirstOrDefault(a => a.Number == number);

    private JobAttempt RequireAttempt(int number) =>
        Attempt(number) ?? throw new InvalidOperationException($"Job {Id} has no attempt {number}.");

    /// <summary>The move's end, when it is not the moment it was written (a container's own exit time).</summary>
    internal void StoppedAtOverride(DateTimeOffset at) => StoppedAt = at;

    internal void ApplyTransition(JobStatus to, string? reason, DateTimeOffset now)
    {
        Status = to;
        StatusReason = reason;
        if (SetsRunnableSince(to))
        {
            RunnableSince = now;
        }

        if (SetsStoppedAt(to))
        {
            StoppedAt = now;
        }
    }

    /// <summary>A move to <paramref name="to"/> starts the job's wait for a place (the time limit actions count from it).</summary>
    internal static bool SetsRunnableSince(JobStatus to) => to == JobStatus.Runnable;

    /// <summary>A move to <paramref name="to"/> ends the job.</summary>
    internal static bool SetsStoppedAt(JobStatus to) => to.IsFinal();

    /// <summary>
    /// Where a job starts: a new job SUBMITTED, or PENDING when it already waits for another; an array child RUNNABLE, or
    /// PENDING when it waits for a sibling or another array's child.
    /// </summary>
    internal void StartAs(JobStatus status, DateTimeOffset now)
    {
        Status = status;
        if (status == JobStatus.Runnable)
        {
            RunnableSince = now;
        }
    }

    internal void ReplaceTags(Dictionary<string, string> tags)
    {
        var copy = new Dictionary<string, string>(tags);
        Tags.Clear();
        foreach (var (k, v) in copy)
        {
            Tags[k] = v;
        }
    }
}

/// <summary>AWS's <c>JobDependency</c>: a job id, and for array jobs the type (N_TO_N or SEQUENTIAL).</summary>
public sealed class JobDependency
{
    public string? JobId { get; set; }

    public string? Type { get; set; }
}

/// <summary>One "waits for" edge: <see cref="JobId"/> may not become RUNNABLE until <see cref="DependsOnJobId"/> has SUCCEEDED.</summary>
public sealed class JobDependencyEdge
{
    public long Id { get; private set; }

    public required string JobId { get; init; }

    public required string DependsOnJobId { get; init; }
}

/// <summary>One try at running a job's container.</summary>
public sealed class JobAttempt
{
    public long Id { get; private set; }

    public required string JobId { get; init; }

    public required int Number { get; init; }

    public required string ComputeEnvironmentName { get; init; }

    /// <summary>The Docker engine the attempt was placed on, recorded before its container was created.</summary>
    public string? DockerEndpoint { get; init; }

    /// <summary>When the attempt was placed (RUNNABLE → STARTING).</summary>
    public DateTimeOffset? PlacedAt { get; init; }

    /// <summary>
    /// A launch of this attempt lost its answer from Docker (a timeout, a cut connection): its container may exist. The
    /// attempt then keeps its engine until a launch finds out, whatever later launches are told.
    /// </summary>
    public bool LaunchUncertain { get; set; }

    public string? ContainerId { get; set; }

    public DateTimeOffset? StartedAt { get; set; }

    public DateTimeOffset? StoppedAt { get; set; }

    public int? ExitCode { get; set; }

    public string? Reason { get; set; }

    public string? StatusReason { get; set; }

    public string? LogStreamName { get; set; }

    /// <summary>
    /// Set while the attempt's Docker engine does not answer: the last moment it was known to answer. A container that
    /// stopped after it, with a failure, was stopped by whatever took the engine away (AWS: the host terminated).
    /// </summary>
    public DateTimeOffset? HostUnreachableSince { get; set; }

    /// <summary>Bytes of output stored for the attempt (the messages' UTF-8 length), bounded by the logs' per-attempt cap.</summary>
    public long LogBytes { get; set; }

    /// <summary>The output reached the per-attempt cap: the rest was not stored, and the log says so.</summary>
    public bool LogCut { get; set; }

    /// <summary>
    /// Where the stored output ends in Docker's log: the latest Docker timestamp (Unix nanoseconds) of a stored event. A
    /// read again starts just before it and skips what is stored, however often the stream was cut.
    /// </summary>
    public long LogCursorNanos { get; set; }
}

/// <summary>A row of a job's status history: one per applied transition.</summary>
public sealed class JobStatusChange
{
    public long Id { get; private set; }

    public required string JobId { get; init; }

    public JobStatus? From { get; init; }

    public required JobStatus To { get; init; }

    public string? Reason { get; init; }

    public required DateTimeOffset At { get; init; }
}
