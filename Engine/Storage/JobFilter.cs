using BatchPortal.Engine.Domain;

namespace BatchPortal.Engine.Storage;

/// <summary>What a job list shows. Null members do not filter.</summary>
public sealed record JobFilter
{
    public string? Queue { get; init; }

    public IReadOnlyCollection<JobStatus>? Statuses { get; init; }

    public string? NamePrefix { get; init; }

    /// <summary>An exact job name.</summary>
    public string? Name { get; init; }

    /// <summary>A job definition name, optionally with <c>:revision</c>.</summary>
    public string? JobDefinition { get; init; }

    /// <summary>A job definition name prefix (AWS's <c>JOB_DEFINITION</c> filter with a trailing <c>*</c>).</summary>
    public string? JobDefinitionPrefix { get; init; }

    public DateTimeOffset? CreatedAfter { get; init; }

    public DateTimeOffset? CreatedBefore { get; init; }

    public int? ExitCode { get; init; }

    /// <summary>The children of one array job.</summary>
    public string? ParentJobId { get; init; }

    /// <summary>Leave array children out (AWS lists them only by <c>arrayJobId</c>).</summary>
    public bool TopLevelOnly { get; init; }
}

/// <summary>Keyset paging: newest first, continuing below <see cref="BeforeSeq"/>.</summary>
public sealed record PageRequest(int Size = 50, long? BeforeSeq = null);

public sealed record JobPage(IReadOnlyList<Job> Items, long? NextBeforeSeq);

/// <summary>A job found by <see cref="JobQueries.SearchAsync"/>: enough to name it and link to it.</summary>
public sealed record JobHit(string Id, string Name, JobStatus Status, string QueueName, DateTimeOffset CreatedAt, int? ArraySize);
