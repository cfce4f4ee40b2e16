namespace BatchPortal.Engine.Domain;

/// <summary>Accepts submissions and places them on its compute environments, tried in <see cref="ComputeEnvironmentOrder"/>.</summary>
public sealed class JobQueue : IVersioned
{
    public int Id { get; private set; }

    public required string Name { get; init; }

    public ResourceState State { get; set; } = ResourceState.Enabled;

    public ResourceStatus Status { get; set; } = ResourceStatus.Valid;

    public string? StatusReason { get; set; }

    /// <summary>A higher integer is preferred between queues that share a compute environment.</summary>
    public int Priority { get; set; }

    public List<ComputeEnvironmentOrder> ComputeEnvironmentOrder { get; set; } = [];

    public List<JobStateTimeLimitAction> JobStateTimeLimitActions { get; set; } = [];

    public Dictionary<string, string> Tags { get; set; } = [];

    public DateTimeOffset CreatedAt { get; init; }

    /// <summary>Moves on every save: two writers of the same resource cannot both win (see <see cref="IVersioned"/>).</summary>
    public long Version { get; set; }

    public IEnumerable<string> OrderedComputeEnvironments =>
        ComputeEnvironmentOrder.OrderBy(o => o.Order).Select(o => o.ComputeEnvironment);
}

public sealed class ComputeEnvironmentOrder
{
    public int Order { get; set; }

    /// <summary>The compute environment's name.</summary>
    public required string ComputeEnvironment { get; set; }
}

public sealed class JobStateTimeLimitAction
{
    public required string Reason { get; set; }

    public string State { get; set; } = "RUNNABLE";

    public int MaxTimeSeconds { get; set; }

    public string Action { get; set; } = "CANCEL";
}
