using BatchPortal.Engine.Domain;

namespace BatchPortal.Engine.Tests.Domain;

internal static class TestJobs
{
    public static Job New(RetryStrategy? retry = null) => new()
    {
        Id = "job-1",
        Name = "job",
        QueueName = "queue",
        JobDefinitionName = "definition",
        JobDefinitionRevision = 1,
        Container = new ContainerProperties { Image = "busybox" },
        RetryStrategy = retry,
    };

    /// <summary>A job already in <paramref name="status"/>, put there the way the store would.</summary>
    public static Job In(JobStatus status)
    {
        var job = New();
        job.ApplyTransition(status, "setup", DateTimeOffset.UnixEpoch);
        return job;
    }
}
