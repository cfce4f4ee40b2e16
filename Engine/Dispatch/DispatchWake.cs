using BatchPortal.Engine.Domain;
using BatchPortal.Engine.Notifications;
using BatchPortal.Engine.Storage;

namespace BatchPortal.Engine.Dispatch;

/// <summary>
/// Wakes the dispatcher when a change may have made work for it: a new job, a job that became RUNNABLE or finished (its
/// capacity is free, its dependents may go), a launch that gave its place back, new array children.
/// </summary>
internal sealed class DispatchWake(DispatchSignal signal) : IJobTransitionObserver
{
    public Task OnAppliedAsync(IReadOnlyList<JobStatusChanged> changes)
    {
        if (changes.Any(c => c.PreviousStatus is null
            || (c.Status != c.PreviousStatus && (c.Status is JobStatus.Runnable || c.Status.IsFinal() || c.PreviousStatus is JobStatus.Starting or JobStatus.Running))
            || (c.Status == JobStatus.Pending && c.PreviousStatus == JobStatus.Pending)))
        {
            signal.Notify();
        }

        return Task.CompletedTask;
    }
}
