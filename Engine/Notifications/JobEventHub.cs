using BatchPortal.Engine.Domain;
using Microsoft.AspNetCore.SignalR;

namespace BatchPortal.Engine.Notifications;

/// <summary>What an outside watcher receives on <c>/hubs/jobs</c>.</summary>
public interface IJobEventClient
{
    Task JobStatusChanged(JobStatusMessage message);
}

/// <summary>The wire form of a status change: AWS's words (<c>RUNNABLE</c>, epoch milliseconds).</summary>
public sealed record JobStatusMessage(
    string JobId,
    string JobName,
    string JobQueue,
    string Status,
    string? PreviousStatus,
    string? StatusReason,
    long At)
{
    public static JobStatusMessage From(JobStatusChanged c) => new(
        c.JobId, c.JobName, c.JobQueue, c.Status.ToWire(), c.PreviousStatus?.ToWire(), c.StatusReason, c.At.ToUnixTimeMilliseconds());
}

/// <summary>
/// The hub for watchers outside the portal. Every connection receives all changes until it narrows them with
/// <see cref="WatchQueue"/> or <see cref="WatchJob"/>.
/// </summary>
public sealed class JobEventHub : Hub<IJobEventClient>
{
    internal const string AllGroup = "all";

    public override async Task OnConnectedAsync()
    {
        await Groups.AddToGroupAsync(Context.ConnectionId, AllGroup);
        await base.OnConnectedAsync();
    }

    public async Task WatchQueue(string jobQueue)
    {
        await Groups.RemoveFromGroupAsync(Context.ConnectionId, AllGroup);
        await Groups.AddToGroupAsync(Context.ConnectionId, QueueGroup(Arns.NameFrom(jobQueue, "job-queue")));
    }

    public async Task WatchJob(string jobId)
    {
        await Groups.RemoveFromGroupAsync(Context.ConnectionId, AllGroup);
        await Groups.AddToGroupAsync(Context.ConnectionId, JobGroup(jobId));
    }

    public async Task WatchAll() => await Groups.AddToGroupAsync(Context.ConnectionId, AllGroup);

    internal static string QueueGroup(string queue) => $"queue:{queue}";

    internal static string JobGroup(string jobId) => $"job:{jobId}";
}
