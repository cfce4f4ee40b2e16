using BatchPortal.Engine.Notifications;
using Microsoft.AspNetCore.Components;

namespace BatchPortal.Portal.Components.Shared;

/// <summary>
/// The one base of every page that updates itself when the engine changes something: jobs (narrowed by
/// <see cref="QueueFilter"/> and <see cref="Concerns(JobStatusChanged)"/>), resources (<see cref="Concerns(ResourceChanged)"/>)
/// or one job's log (<see cref="LogsOfJob"/>). The engine's writers publish and move on: a handler here only marks the
/// page stale and returns, and the page reloads on its own time, off the writer's path (no dispatch pass, API call or
/// watcher waits on an open page). Bursts coalesce: while a reload runs, further events mark it stale once more.
/// </summary>
public abstract class LivePage : ComponentBase, IDisposable
{
    private readonly SemaphoreSlim _reload = new(1, 1);
    private readonly List<IDisposable> _subscriptions = [];
    private int _stale;
    private int _staleLogs;
    private string? _loadedKey;
    private IDisposable? _logSubscription;

    [Inject]
    protected JobEventBroadcaster Broadcaster { get; set; } = default!;

    [Inject]
    private ILogger<LivePage> Logger { get; set; } = default!;

    /// <summary>Whether job changes wake the page at all.</summary>
    protected virtual bool WatchesJobs => false;

    /// <summary>Only changes of jobs in this queue wake the page; null for all.</summary>
    protected virtual string? QueueFilter => null;

    /// <summary>The job whose new log lines wake the page (through <see cref="OnLogsAppendedAsync"/>), if any.</summary>
    protected virtual string? LogsOfJob => null;

    /// <summary>Whether a job change concerns this page; all by default.</summary>
    protected virtual bool Concerns(JobStatusChanged change) => true;

    /// <summary>Whether a resource change (compute environment, queue, definition, schedule, Docker endpoint) concerns it.</summary>
    protected virtual bool Concerns(ResourceChanged change) => false;

    /// <summary>Whether new lines of this attempt concern it.</summary>
    protected virtual bool Concerns(JobLogAppended appended) => true;

    protected abstract Task LoadAsync();

    /// <summary>
    /// What the page shows (a job id, a queue name): when a link changes it on the same page (one job's page to
    /// another's), Blazor keeps the component, so the page forgets what it showed (<see cref="OnKeyChanged"/>) and loads
    /// again. Null for pages that show one thing.
    /// </summary>
    protected virtual string? Key => null;

    /// <summary>The page moved to another <see cref="Key"/>: drop what belonged to the last one.</summary>
    protected virtual void OnKeyChanged()
    {
    }

    /// <summary>New log lines were stored for <see cref="LogsOfJob"/>: read them (a lighter step than a full reload).</summary>
    protected virtual Task OnLogsAppendedAsync() => Task.CompletedTask;

    protected override async Task OnInitializedAsync()
    {
        _loadedKey = Key;
        await LoadAsync();
        if (WatchesJobs)
        {
            _subscriptions.Add(Broadcaster.Subscribe(QueueFilter, c => Wake(Concerns(c), ref _stale)));
        }

        _subscriptions.Add(Broadcaster.SubscribeToResources(r => Wake(Concerns(r), ref _stale)));
        SubscribeToLogs();
    }

    protected override async Task OnParametersSetAsync()
    {
        if (string.Equals(Key, _loadedKey, StringComparison.Ordinal))
        {
            return;
        }

        // The same component, another thing to show: a link from one job's page to another's.
        _loadedKey = Key;
        _logSubscription?.Dispose();
        _logSubscription = null;
        OnKeyChanged();
        await LoadAsync();
        SubscribeToLogs();
    }

    private void SubscribeToLogs()
    {
        if (LogsOfJob is { } jobId)
        {
            _logSubscription = Broadcaster.SubscribeToLogs(jobId, l => Wake(Concerns(l), ref _staleLogs));
        }
    }

    private Task Wake(bool concerns, ref int flag)
    {
        if (concerns)
        {
            // Blazor runs InvokeAsync inline when the circuit is idle, and SQLite's async calls complete synchronously,
            // so without Task.Run the reload would still run on the publisher's thread, one open page after another.
            Interlocked.Exchange(ref flag, 1);
            _ = Task.Run(ReloadAsync);
        }

        return Task.CompletedTask;
    }

    private async Task ReloadAsync()
    {
        try
        {
            // Re-checked after the release: a change that arrived while the last reload ended is not lost.
            while ((Volatile.Read(ref _stale) == 1 || Volatile.Read(ref _staleLogs) == 1) && await _reload.WaitAsync(0))
            {
                try
                {
                    while (true)
                    {
                        if (Interlocked.Exchange(ref _stale, 0) == 1)
                        {
                            Interlocked.Exchange(ref _staleLogs, 0); // a full load reads the new lines too
                            await InvokeAsync(async () =>
                            {
                                await LoadAsync();
                                StateHasChanged();
                            });
                        }
                        else if (Interlocked.Exchange(ref _staleLogs, 0) == 1)
                        {
                            await InvokeAsync(async () =>
                            {
                                await OnLogsAppendedAsync();
                                StateHasChanged();
                            });
                        }
                        else
                        {
                            break;
                        }
                    }
                }
                finally
                {
                    _reload.Release();
                }
            }
        }
        catch (ObjectDisposedException)
        {
            // The page was closed while it reloaded.
        }
        catch (Exception ex)
        {
            Logger.LogWarning(ex, "A live page failed to reload after a change");
        }
    }

    public void Dispose()
    {
        Dispose(true);
        GC.SuppressFinalize(this);
    }

    protected virtual void Dispose(bool disposing)
    {
        if (disposing)
        {
            foreach (var subscription in _subscriptions)
            {
                subscription.Dispose();
            }

            _logSubscription?.Dispose();

            _reload.Dispose();
        }
    }
}

/// <summary>A page that shows jobs: every job change (of its queue, if it names one) wakes it.</summary>
public abstract class LiveJobsPage : LivePage
{
    protected override bool WatchesJobs => true;
}

/// <summary>A page that shows resources: any resource change wakes it.</summary>
public abstract class LiveResourcePage : LivePage
{
    protected override bool Concerns(ResourceChanged change) => true;
}
