using BatchPortal.Engine.Notifications;
using Microsoft.AspNetCore.Components;

namespace BatchPortal.Portal.Components.Shared;

/// <summary>A page that shows resources and reloads when any of them changes, pushed by the engine.</summary>
public abstract class LiveResourcePage : ComponentBase, IDisposable
{
    private IDisposable? _subscription;

    [Inject]
    private JobEventBroadcaster Broadcaster { get; set; } = default!;

    protected override async Task OnInitializedAsync()
    {
        await LoadAsync();
        _subscription = Broadcaster.SubscribeToResources(_ => InvokeAsync(async () =>
        {
            await LoadAsync();
            StateHasChanged();
        }));
    }

    protected abstract Task LoadAsync();

    public void Dispose()
    {
        _subscription?.Dispose();
        GC.SuppressFinalize(this);
    }
}
