using BatchPortal.Engine.Domain;

namespace BatchPortal.Engine.Notifications;

/// <summary>A job changed status (or, while RUNNABLE, the reason it waits). Carries ids and status, not the entity.</summary>
public sealed record JobStatusChanged(
    string JobId,
    string JobName,
    string JobQueue,
    JobStatus Status,
    JobStatus? PreviousStatus,
    string? StatusReason,
    DateTimeOffset At);

/// <summary>New log lines were stored for a job's attempt.</summary>
public sealed record JobLogAppended(string JobId, int Attempt, int Lines);

/// <summary>A compute environment, job queue or job definition was created, updated or deleted.</summary>
public sealed record ResourceChanged(string Kind, string Name);
