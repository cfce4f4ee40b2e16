namespace BatchPortal.Engine.Domain;

/// <summary>One revision of a job definition. Revisions of a name are numbered from 1 and never reused.</summary>
public sealed class JobDefinition : IVersioned
{
    public int Id { get; private set; }

    public required string Name { get; init; }

    public required int Revision { get; init; }

    public JobDefinitionStatus Status { get; set; } = JobDefinitionStatus.Active;

    public string Type { get; init; } = "container";

    public required ContainerProperties ContainerProperties { get; init; }

    public Dictionary<string, string> Parameters { get; init; } = [];

    public RetryStrategy? RetryStrategy { get; init; }

    public JobTimeout? Timeout { get; init; }

    public bool PropagateTags { get; init; }

    public int? SchedulingPriority { get; init; }

    public List<string> PlatformCapabilities { get; init; } = ["EC2"];

    public Dictionary<string, string> Tags { get; set; } = [];

    public DateTimeOffset CreatedAt { get; init; }

    /// <summary>Moves on every save: two writers of the same resource cannot both win (see <see cref="IVersioned"/>).</summary>
    public long Version { get; set; }
}

public enum JobDefinitionStatus
{
    Active,
    Inactive,
}
