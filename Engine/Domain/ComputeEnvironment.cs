namespace BatchPortal.Engine.Domain;

/// <summary>A pool of vCPUs on a Docker host that job queues place jobs on.</summary>
public sealed class ComputeEnvironment : IVersioned
{
    public int Id { get; private set; }

    public required string Name { get; init; }

    public required ComputeEnvironmentType Type { get; init; }

    public ResourceState State { get; set; } = ResourceState.Enabled;

    public ResourceStatus Status { get; set; } = ResourceStatus.Valid;

    public string? StatusReason { get; set; }

    public string? ServiceRole { get; set; }

    /// <summary>For MANAGED environments.</summary>
    public ComputeResources? ComputeResources { get; set; }

    /// <summary>For UNMANAGED environments: the capacity in vCPUs.</summary>
    public int? UnmanagedvCpus { get; set; }

    /// <summary>The Docker engine the environment runs its containers on; null for the portal's default endpoint.</summary>
    public string? DockerEndpoint { get; set; }

    public string Uuid { get; init; } = Guid.NewGuid().ToString();

    public Dictionary<string, string> Tags { get; set; } = [];

    public DateTimeOffset CreatedAt { get; init; }

    /// <summary>Moves on every save: two writers of the same resource cannot both win (see <see cref="IVersioned"/>).</summary>
    public long Version { get; set; }

    /// <summary>The most vCPUs that may be in use by STARTING and RUNNING jobs at once.</summary>
    public int CapacityvCpus => Type == ComputeEnvironmentType.Managed ? ComputeResources?.MaxvCpus ?? 0 : UnmanagedvCpus ?? 0;

    public bool AcceptsWork => State == ResourceState.Enabled && Status == ResourceStatus.Valid;
}

/// <summary>AWS's <c>computeResources</c>. Kept as settings; capacity comes from <see cref="MaxvCpus"/>.</summary>
public sealed class ComputeResources
{
    /// <summary>EC2 (On-Demand) or SPOT.</summary>
    public string Type { get; set; } = "EC2";

    public int? MinvCpus { get; set; }

    public int MaxvCpus { get; set; }

    public int? DesiredvCpus { get; set; }

    public List<string> InstanceTypes { get; set; } = [];

    public string? AllocationStrategy { get; set; }

    public string? InstanceRole { get; set; }

    public string? Ec2KeyPair { get; set; }

    public int? BidPercentage { get; set; }

    public string? SpotIamFleetRole { get; set; }

    public List<string> Subnets { get; set; } = [];

    public List<string> SecurityGroupIds { get; set; } = [];

    public Dictionary<string, string> Tags { get; set; } = [];
}

public enum ComputeEnvironmentType
{
    Managed,
    Unmanaged,
}

public enum ResourceState
{
    Enabled,
    Disabled,
}

public enum ResourceStatus
{
    Creating,
    Updating,
    Deleting,
    Deleted,
    Valid,
    Invalid,
}
