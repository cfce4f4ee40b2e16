using BatchPortal.Engine.Domain;

namespace BatchPortal.Portal.Components.Shared;

/// <summary>How the console names a job: an array child as <c>parent:index</c>, as AWS's console does, others by name.</summary>
public static class JobNames
{
    public static string Display(Job job) => job.ArrayIndex is { } index ? $"{job.Name}:{index}" : job.Name;
}
