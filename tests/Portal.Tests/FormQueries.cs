using AngleSharp.Dom;
using Bunit;
using Microsoft.AspNetCore.Components;
using Microsoft.AspNetCore.Components.Web;

namespace BatchPortal.Portal.Tests;

/// <summary>Finds form parts the way a user does (by id, label or text), so tests do not lean on MudBlazor's CSS classes.</summary>
public static class FormQueries
{
    /// <summary>
    /// The text of the whole field around an input: its label, helper text and, once shown, its error text. MudBlazor drops
    /// the helper text's id while it shows an error, so aria-describedby cannot lead to it; the field is instead the widest
    /// ancestor that holds this one input (or textarea).
    /// </summary>
    public static string FieldText<T>(this IRenderedComponent<T> cut, string inputSelector)
        where T : IComponent
    {
        var field = cut.Find(inputSelector);
        while (field.ParentElement is { } parent && parent.QuerySelectorAll("input, textarea").Length == 1)
        {
            field = parent;
        }

        return field.TextContent;
    }

    public static bool IsInvalid<T>(this IRenderedComponent<T> cut, string inputSelector)
        where T : IComponent =>
        cut.Find(inputSelector).GetAttribute("aria-invalid") == "true";

    public static string? ValueOf<T>(this IRenderedComponent<T> cut, string inputSelector)
        where T : IComponent =>
        cut.Find(inputSelector).GetAttribute("value");

    public static bool HasLabel<T>(this IRenderedComponent<T> cut, string label)
        where T : IComponent =>
        cut.FindAll("label[for]").Any(l => l.TextContent.Trim() == label);

    /// <summary>
    /// The input a <c>label for=</c> with this text points at, once it is rendered: a click that adds a row re-renders
    /// through MudBlazor's async handlers, which a loaded machine may finish after the click returns.
    /// </summary>
    public static IElement InputLabelled<T>(this IRenderedComponent<T> cut, string label)
        where T : IComponent
    {
        string? id = null;
        cut.WaitForAssertion(
            () => id = Assert.Single(cut.FindAll("label[for]"), l => l.TextContent.Trim() == label).GetAttribute("for"),
            TimeSpan.FromSeconds(10));
        return cut.Find($"#{id}");
    }

    /// <summary>The radio button whose label reads <paramref name="label"/>.</summary>
    public static IElement Radio<T>(this IRenderedComponent<T> cut, string label)
        where T : IComponent =>
        cut.FindAll("label").Single(l => l.TextContent.Trim() == label).QuerySelector("input[type=radio]")
            ?? throw new InvalidOperationException($"No radio button labelled '{label}'.");

    /// <summary>Clicks the wizard's Create button and waits until its handler, saving included, has finished.</summary>
    public static Task ClickCreateAsync<T>(this IRenderedComponent<T> cut)
        where T : IComponent =>
        cut.Find("[data-testid=create]").ClickAsync(new MouseEventArgs());

    public static IElement Button<T>(this IRenderedComponent<T> cut, string text)
        where T : IComponent =>
        cut.FindAll("button, [role=tab]").Single(b => b.TextContent.Trim() == text);

    /// <summary>Opens a MudSelect, unless it is open, and returns the text of its options.</summary>
    public static IReadOnlyList<string> OpenSelect<T>(this IRenderedComponent<T> cut, string selectSelector)
        where T : IComponent
    {
        // A select with a value may render its combobox a moment after the page does.
        cut.WaitForElement(selectSelector);

        // Mouse down opens the list, and closes it when it is open.
        if (cut.Find(selectSelector).GetAttribute("aria-expanded") != "true")
        {
            cut.Find(selectSelector).MouseDown();
        }

        return [.. cut.FindAll("[role=option]").Select(o => o.TextContent.Trim())];
    }

    /// <summary>Opens a MudSelect and clicks the option whose text is, or starts with, <paramref name="optionText"/> and a space.</summary>
    public static void Pick<T>(this IRenderedComponent<T> cut, string selectSelector, string optionText)
        where T : IComponent
    {
        cut.OpenSelect(selectSelector);

        // The list opens in a popover that may render a moment after the mouse down.
        IElement? option = null;
        cut.WaitForAssertion(() => option = cut.FindAll("[role=option]").Single(o => o.TextContent.Trim() == optionText || o.TextContent.Trim().StartsWith(optionText + " ", StringComparison.Ordinal)));
        option!.Click();
    }
}
