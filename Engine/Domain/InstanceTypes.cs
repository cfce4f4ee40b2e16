namespace BatchPortal.Engine.Domain;

/// <summary>
/// The EC2 instance types the console offers for "Allowed instance types": <c>optimal</c> (the best fit of M4, C4 and
/// R4) and those families and sizes. Kept as a setting here; jobs run on the compute environment's Docker host.
/// </summary>
public static class InstanceTypes
{
    public const string Optimal = "optimal";

    public static readonly IReadOnlyList<string> Families = ["m4", "c4", "r4"];

    public static readonly IReadOnlyList<InstanceType> Catalogue =
    [
        new("m4.large", 2, 8), new("m4.xlarge", 4, 16), new("m4.2xlarge", 8, 32), new("m4.4xlarge", 16, 64), new("m4.10xlarge", 40, 160), new("m4.16xlarge", 64, 256),
        new("c4.large", 2, 3.75), new("c4.xlarge", 4, 7.5), new("c4.2xlarge", 8, 15), new("c4.4xlarge", 16, 30), new("c4.8xlarge", 36, 60),
        new("r4.large", 2, 15.25), new("r4.xlarge", 4, 30.5), new("r4.2xlarge", 8, 61), new("r4.4xlarge", 16, 122), new("r4.8xlarge", 32, 244), new("r4.16xlarge", 64, 488),
    ];

    public static readonly IReadOnlyList<string> AllocationStrategies =
        ["BEST_FIT", "BEST_FIT_PROGRESSIVE", "SPOT_CAPACITY_OPTIMIZED", "SPOT_PRICE_CAPACITY_OPTIMIZED"];

    public static bool IsKnown(string type) =>
        type == Optimal || Families.Contains(type) || Catalogue.Any(t => t.Name == type);
}

/// <summary>An instance type: its vCPUs and memory in GiB.</summary>
public sealed record InstanceType(string Name, int Vcpus, double MemoryGiB)
{
    public string Family => Name[..Name.IndexOf('.', StringComparison.Ordinal)];
}
