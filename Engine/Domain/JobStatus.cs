namespace BatchPortal.Engine.Domain;

/// <summary>The AWS Batch job states, in lifecycle order.</summary>
public enum JobStatus
{
    Submitted,
    Pending,
    Runnable,
    Starting,
    Running,
    Succeeded,
    Failed,
}

public static class JobStatusExtensions
{
    public static bool IsFinal(this JobStatus status) => status is JobStatus.Succeeded or JobStatus.Failed;

    /// <summary>Jobs in these states hold vCPUs on the compute environment they were placed on.</summary>
    public static bool HoldsCapacity(this JobStatus status) => status is JobStatus.Starting or JobStatus.Running;

    /// <summary>The wire spelling AWS uses: <c>SUCCEEDED</c>, <c>RUNNABLE</c>, ...</summary>
    public static string ToWire(this JobStatus status) => status.ToString().ToUpperInvariant();

    public static bool TryParseWire(string? value, out JobStatus status) =>
        Enum.TryParse(value, ignoreCase: true, out status) && Enum.IsDefined(status) && !int.TryParse(value, out _);
}
