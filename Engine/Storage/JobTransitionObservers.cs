using BatchPortal.Engine.Domain;
using BatchPortal.Engine.Notifications;

namespace BatchPortal.Engine.Storage;

/// <summary>
/// A reaction to job changes, registered with the container and run by <see cref="JobStateMachine"/> after each commit,
/// in registration order (Hangfire's apply-state filters, after the write). A change is a move, or a new status reason
/// while the job stays where it is (why it waits, an engine outage). Observers must return quickly: they run on the
/// writer's path, so work that takes time is handed off (a page reloads on its own time).
/// </summary>
public interface IJobTransitionObserver
{
    Task OnAppliedAsync(IReadOnlyList<JobStatusChanged> changes);
}

/// <summary>Every change goes out as an event: to the console's pages and the SignalR hub.</summary>
internal sealed class PublishJobEvents(IJobEventPublisher events) : IJobTransitionObserver
{
    public async Task OnAppliedAsync(IReadOnlyList<JobStatusChanged> changes)
    {
        foreach (var change in changes)
        {
            await events.PublishAsync(change);
        }
    }
}
