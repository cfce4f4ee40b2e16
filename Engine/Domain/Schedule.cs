namespace BatchPortal.Engine.Domain;

/// <summary>A recurring submission: an expression, a time zone, and the job it submits. Stands in for a CloudWatch rule and a Lambda.</summary>
public sealed class Schedule : IVersioned
{
    public int Id { get; private set; }

    public required string Name { get; init; }

    public string? Description { get; set; }

    /// <summary>rate(...), cron(...) (EventBridge) or a standard 5-field cron.</summary>
    public required string Expression { get; set; }

    /// <summary>An IANA time zone, e.g. Europe/Berlin.</summary>
    public string TimeZone { get; set; } = "UTC";

    public DateTimeOffset? StartDate { get; set; }

    public DateTimeOffset? EndDate { get; set; }

    public bool Enabled { get; set; } = true;

    public required string JobQueue { get; set; }

    /// <summary>A job definition name (its latest revision at each fire) or name:revision (a fixed one).</summary>
    public required string JobDefinition { get; set; }

    /// <summary>The job name; <c>{{time}}</c> becomes the fire time (yyyyMMdd-HHmmss, UTC).</summary>
    public required string JobName { get; set; }

    public Dictionary<string, string> Parameters { get; set; } = [];

    public ScheduleOverrides? Overrides { get; set; }

    public RetryStrategy? RetryStrategy { get; set; }

    public JobTimeout? Timeout { get; set; }

    public MissedRunPolicy MissedRunPolicy { get; set; } = MissedRunPolicy.Skip;

    public OverlapPolicy OverlapPolicy { get; set; } = OverlapPolicy.Allow;

    public DateTimeOffset CreatedAt { get; init; }

    /// <summary>Moves on every save: two writers of the same resource cannot both win (see <see cref="IVersioned"/>).</summary>
    public long Version { get; set; }

    /// <summary>The fire time of the last run (a job submitted, or a run skipped by the overlap policy).</summary>
    public DateTimeOffset? LastFireTime { get; set; }

    /// <summary>What the last fire did, in words.</summary>
    public string? LastRunNote { get; set; }

    public DateTimeOffset Anchor => StartDate ?? CreatedAt;
}

/// <summary>Container overrides a schedule applies to every job it submits.</summary>
public sealed class ScheduleOverrides
{
    public List<string>? Command { get; set; }

    public List<EnvironmentVariable>? Environment { get; set; }

    public int? Vcpus { get; set; }

    public int? Memory { get; set; }
}

/// <summary>What to do about fire times that passed while the portal was down.</summary>
public enum MissedRunPolicy
{
    /// <summary>Let them go; the schedule continues with its next fire time.</summary>
    Skip,

    /// <summary>Submit one job for the latest missed fire time.</summary>
    RunOnce,
}

/// <summary>What to do when a fire time comes while the previous run is still active.</summary>
public enum OverlapPolicy
{
    Allow,

    /// <summary>Submit nothing this time.</summary>
    Skip,

    /// <summary>Terminate the previous run, then submit.</summary>
    CancelPrevious,
}
