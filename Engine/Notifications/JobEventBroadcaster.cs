using Microsoft.Extensions.Logging;

namespace BatchPortal.Engine.Notifications;

/// <summary>
/// The in-process side of the notifier: Blazor Server components subscribe here and call
/// <c>InvokeAsync(StateHasChanged)</c>. A subscriber that throws is logged and kept; it cannot stop the others.
/// </summary>
public sealed class JobEventBroadcaster(ILogger<JobEventBroadcaster> logger)
{
    private readonly Lock _gate = new();
    private ImmutableSubscribers _subscribers = ImmutableSubscribers.Empty;
    private long _version;

    /// <summary>
    /// Goes up by one with every change published, before any subscriber hears of it. A read begun after seeing version
    /// <c>v</c> reflects every change up to <c>v</c>: changes are published after they are committed.
    /// </summary>
    public long Version => Interlocked.Read(ref _version);

    /// <summary>Receives every job status change; <paramref name="queue"/> narrows it to one job queue.</summary>
    public IDisposable Subscribe(string? queue, Func<JobStatusChanged, Task> handler) =>
        Add(new Subscription(this, e => e is JobStatusChanged c && (queue is null || c.JobQueue == queue) ? handler(c) : Task.CompletedTask));

    public IDisposable SubscribeToLogs(string jobId, Func<JobLogAppended, Task> handler) =>
        Add(new Subscription(this, e => e is JobLogAppended l && l.JobId == jobId ? handler(l) : Task.CompletedTask));

    public IDisposable SubscribeToResources(Func<ResourceChanged, Task> handler) =>
        Add(new Subscription(this, e => e is ResourceChanged r ? handler(r) : Task.CompletedTask));

    internal async Task BroadcastAsync(object evt)
    {
        if (evt is not JobLogAppended)
        {
            Interlocked.Increment(ref _version);
        }

        foreach (var subscription in _subscribers.Items)
        {
            try
            {
                await subscription.Handler(evt);
            }
            catch (Exception ex)
            {
                logger.LogWarning(ex, "A live-update subscriber failed on {Event}", evt.GetType().Name);
            }
        }
    }

    private Subscription Add(Subscription subscription)
    {
        lock (_gate)
        {
            _subscribers = _subscribers.With(subscription);
        }

        return subscription;
    }

    private void Remove(Subscription subscription)
    {
        lock (_gate)
        {
            _subscribers = _subscribers.Without(subscription);
        }
    }

    // Copy-on-write so that publishing never holds the lock while awaiting subscribers.
    private sealed record ImmutableSubscribers(Subscription[] Items)
    {
        public static readonly ImmutableSubscribers Empty = new([]);

        public ImmutableSubscribers With(Subscription s) => new([.. Items, s]);

        public ImmutableSubscribers Without(Subscription s) => new([.. Items.Where(x => x != s)]);
    }

    private sealed class Subscription(JobEventBroadcaster owner, Func<object, Task> handler) : IDisposable
    {
        public Func<object, Task> Handler { get; } = handler;

        public void Dispose() => owner.Remove(this);
    }
}
