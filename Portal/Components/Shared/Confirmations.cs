using MudBlazor;

namespace BatchPortal.Portal.Components.Shared;

/// <summary>Asking before an action that cannot be undone, naming what goes.</summary>
public static class Confirmations
{
    /// <summary>
    /// Shows <see cref="ConfirmDialog"/>; null when the user kept things as they are, else the reason given (empty when
    /// none was asked for).
    /// </summary>
    public static async Task<string?> ConfirmAsync(
        this IDialogService dialogs,
        string title,
        string message,
        string confirmText,
        IReadOnlyList<string>? items = null,
        string? reason = null,
        Color color = Color.Error)
    {
        var parameters = new DialogParameters<ConfirmDialog>
        {
            { x => x.Title, title },
            { x => x.Message, message },
            { x => x.Items, items ?? [] },
            { x => x.AskReason, reason is not null },
            { x => x.DefaultReason, reason },
            { x => x.ConfirmText, confirmText },
            { x => x.Color, color },
        };
        var dialog = await dialogs.ShowAsync<ConfirmDialog>(title, parameters, new DialogOptions { MaxWidth = MaxWidth.Small, FullWidth = true, CloseOnEscapeKey = true });
        var result = await dialog.Result;
        return result is { Canceled: false, Data: string given } ? given : null;
    }
}
