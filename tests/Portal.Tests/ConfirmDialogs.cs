using AngleSharp.Dom;
using Bunit;
using Bunit.Rendering;
using Microsoft.AspNetCore.Components;
using Microsoft.AspNetCore.Components.Web;

namespace BatchPortal.Portal.Tests;

/// <summary>Clicking through a page's confirmation (<c>ConfirmDialog</c>): the action waits for it, so the click is awaited after.</summary>
internal static class ConfirmDialogs
{
    /// <summary>Clicks <paramref name="button"/>, waits for the confirmation, gives <paramref name="reason"/> if asked, and confirms.</summary>
    public static async Task<IElement> ConfirmAsync(this IRenderedComponent<ContainerFragment> cut, IElement button, string? reason = null, bool confirm = true)
    {
        var click = button.ClickAsync(new MouseEventArgs());
        IElement dialog = null!;
        cut.WaitForAssertion(() => dialog = cut.Find("[data-testid=confirm-dialog]"), TimeSpan.FromSeconds(5));
        var shown = (IElement)(dialog.Closest(".mud-dialog") ?? dialog).Clone(deep: true);
        if (reason is not null)
        {
            await cut.Find("#confirm-reason").InputAsync(new ChangeEventArgs { Value = reason });
        }

        await cut.Find(confirm ? "[data-testid=confirm-yes]" : "[data-testid=confirm-no]").ClickAsync(new MouseEventArgs());
        await click;
        return shown;
    }
}
