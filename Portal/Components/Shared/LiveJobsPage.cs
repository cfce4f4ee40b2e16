using BatchPortal.Engine.Notifications;
using Microsoft.AspNetCore.Components;

namespace BatchPortal.Portal.Components.Shared;

/// <summary>
/// A page that reloads when jobs change, pushed by the engine. Bursts coalesce: while a reload runs, further events only
/// mark the page stale, and one more reload follows.
/// </summary>
public abstract class LiveJobsPage : ComponentBase, IDisposable
{
    private readonly SemaphoreSlim _reload = new(1, 1);
    private IDisposable? _subscription;
    private int _stale;

    [Inject]
    protected JobEventBroadcaster Broadcaster { get; set; } = default!;

    [Inject]
    private ILogger<LiveJobsPage> Logger { get; set; } = default!;

    /// <summary>Only changes of jobs in this queue wake the page; null for all.</summary>
    protected virtual string? QueueFilter => null;

    protected override async Task OnInitializedAsync()
    {
        await LoadAsync();
        _subscription = Broadcaster.Subscribe(QueueFilter, OnChangedAsync);
    }

    protected abstract Task LoadAsync();

    /// <summary>Whether a change concerns this page; all by default.</summary>
    protected virtual bool Concerns(JobStatusChanged change) => true;

    private Task OnChangedAsync(JobStatusChanged change)
    {
        if (Concerns(change))
        {
            // The publisher is a writer (an API call, the dispatcher) and the hub's watchers are sent the change after every
            // in-process subscriber has returned: the page reloads on its own time, not on theirs. (Blazor runs InvokeAsync
            // inline when the circuit is idle, and SQLite's async calls complete synchronously, so without Task.Run the
            // reload would still run on the publisher's thread, one open page after another.)
            Interlocked.Exchange(ref _stale, 1);
            _ = Task.Run(ReloadAsync);
        }

        return Task.CompletedTask;
    }

    private async Task ReloadAsync()
    {
        try
        {
            // Re-checked after the release: a change that arrived while the last reload ended is not lost.
            while (Volatile.Read(ref _stale) == 1 && await _reload.WaitAsync(0))
            {
                try
                {
                    while (Interlocked.Exchange(ref _stale, 0) == 1)
                    {
                        await InvokeAsync(async () =>
                        {
                            await LoadAsync();
                            StateHasChanged();
                        });
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
            Logger.LogWarning(ex, "A live page failed to reload after a job change");
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
            _subscription?.Dispose();
            _reload.Dispose();
        }
    }
}
