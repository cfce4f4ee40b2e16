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

    private async Task OnChangedAsync(JobStatusChanged change)
    {
        if (!Concerns(change))
        {
            return;
        }

        Interlocked.Exchange(ref _stale, 1);
        if (!await _reload.WaitAsync(0))
        {
            return;
        }

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
