namespace BatchPortal.Engine.Notifications;

/// <summary>Fans engine events out to in-process subscribers (Blazor components) and to the SignalR hub.</summary>
public interface IJobEventPublisher
{
    Task PublishAsync(JobStatusChanged change);

    Task PublishAsync(JobLogAppended appended);

    Task PublishAsync(ResourceChanged changed);
}
