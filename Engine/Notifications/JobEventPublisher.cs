using Microsoft.AspNetCore.SignalR;

namespace BatchPortal.Engine.Notifications;

internal sealed class JobEventPublisher(JobEventBroadcaster broadcaster, IHubContext<JobEventHub, IJobEventClient> hub) : IJobEventPublisher
{
    public async Task PublishAsync(JobStatusChanged change)
    {
        await broadcaster.BroadcastAsync(change);
        var message = JobStatusMessage.From(change);
        await hub.Clients.Groups(JobEventHub.AllGroup, JobEventHub.QueueGroup(change.JobQueue), JobEventHub.JobGroup(change.JobId))
            .JobStatusChanged(message);
    }

    public Task PublishAsync(JobLogAppended appended) => broadcaster.BroadcastAsync(appended);

    public Task PublishAsync(ResourceChanged changed) => broadcaster.BroadcastAsync(changed);
}
