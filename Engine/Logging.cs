using BatchPortal.Engine.Domain;
using Microsoft.Extensions.Logging;

namespace BatchPortal.Engine;

internal static partial class Log
{
    [LoggerMessage(1, LogLevel.Information, "Job {JobId} ({JobName}) {From} -> {To}: {Reason}")]
    public static partial void Transitioned(this ILogger logger, string jobId, string jobName, JobStatus from, JobStatus to, string? reason);

    [LoggerMessage(2, LogLevel.Debug, "Job {JobId}: {From} -> {To} not applied, the job is {Actual}")]
    public static partial void TransitionNotApplied(this ILogger logger, string jobId, JobStatus from, JobStatus to, JobStatus actual);

    [LoggerMessage(3, LogLevel.Error, "A dispatch pass failed; the next signal or poll tries again")]
    public static partial void DispatchPassFailed(this ILogger logger, Exception exception);

    [LoggerMessage(4, LogLevel.Information, "Job {JobId} attempt {Attempt}: container {ContainerId} started on {Endpoint}")]
    public static partial void ContainerStarted(this ILogger logger, string jobId, int attempt, string containerId, string endpoint);

    [LoggerMessage(5, LogLevel.Warning, "Job {JobId} attempt {Attempt}: launch failed: {Reason}")]
    public static partial void LaunchFailed(this ILogger logger, string jobId, int attempt, string reason, Exception? exception);

    [LoggerMessage(6, LogLevel.Warning, "Docker engine at {Endpoint} is unreachable: {Error}")]
    public static partial void DockerUnreachable(this ILogger logger, string endpoint, string error);

    [LoggerMessage(7, LogLevel.Information, "Docker engine at {Endpoint} answers: {Version}, {Cpus} CPUs, {MemoryMiB} MiB")]
    public static partial void DockerReachable(this ILogger logger, string endpoint, string? version, int cpus, long memoryMiB);

    [LoggerMessage(8, LogLevel.Warning, "Watching container {ContainerId} of job {JobId} failed")]
    public static partial void WatchFailed(this ILogger logger, string jobId, string containerId, Exception exception);

    [LoggerMessage(9, LogLevel.Information, "Recovered job {JobId} in {Status}: {Action}")]
    public static partial void Recovered(this ILogger logger, string jobId, JobStatus status, string action);

    [LoggerMessage(11, LogLevel.Warning, "A Docker health round failed; the next round tries again")]
    public static partial void HealthRoundFailed(this ILogger logger, Exception exception);

    [LoggerMessage(10, LogLevel.Warning, "Removing container {ContainerId} of job {JobId} failed")]
    public static partial void RemoveFailed(this ILogger logger, string jobId, string containerId, Exception exception);

    [LoggerMessage(12, LogLevel.Error, "A job change observer ({Observer}) failed; the change itself is committed")]
    public static partial void ObserverFailed(this ILogger logger, string observer, Exception exception);

    [LoggerMessage(13, LogLevel.Warning, "A reconciliation round failed; the next round tries again")]
    public static partial void ReconcileFailed(this ILogger logger, Exception exception);

    [LoggerMessage(14, LogLevel.Information, "Removed container {ContainerId} left behind by job {JobId} attempt {Attempt}, its output stored")]
    public static partial void LeftoverRemoved(this ILogger logger, string jobId, string attempt, string containerId);

    [LoggerMessage(15, LogLevel.Error, "Engine start-up step {Step} failed; the engine goes on, and the reconciler tries again")]
    public static partial void StartupStepFailed(this ILogger logger, string step, Exception exception);

    [LoggerMessage(16, LogLevel.Warning, "Job {JobId} attempt {Attempt}: the stop of the terminated job could not be queued; the reconciler queues it again")]
    public static partial void StopNotQueued(this ILogger logger, string jobId, int attempt, Exception exception);

    [LoggerMessage(17, LogLevel.Debug, "Log capture of job {JobId} attempt {Attempt} (follow {Follow}) from cursor {Cursor} since {Since}: {ToSkip} stored lines to skip, {Read} events read, {Skipped} skipped, {Stored} stored; {Outcome}")]
    public static partial void Captured(this ILogger logger, string jobId, int attempt, bool follow, long cursor, long? since, int toSkip, long read, long skipped, int stored, string outcome);
}
