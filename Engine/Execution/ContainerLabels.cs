namespace BatchPortal.Engine.Execution;

/// <summary>Labels on every container the engine makes, so a restarted portal finds its own containers (and no one else's).</summary>
public static class ContainerLabels
{
    public const string Managed = "batchportal.managed";
    public const string JobId = "batchportal.job-id";
    public const string Attempt = "batchportal.attempt";
    public const string JobName = "batchportal.job-name";
    public const string JobQueue = "batchportal.job-queue";
    public const string ComputeEnvironment = "batchportal.compute-environment";

    /// <summary>The database the job lives in: an orphan (its job unknown) is removed only by the store that made it.</summary>
    public const string Store = "batchportal.store";
}
