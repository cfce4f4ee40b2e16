using MudBlazor;

namespace BatchPortal.Portal.Components.Layout;

/// <summary>The console's colours: AWS's squid ink and orange.</summary>
internal static class PortalTheme
{
    public static MudTheme Theme { get; } = new()
    {
        PaletteLight = new PaletteLight
        {
            Primary = "#232f3e",
            Secondary = "#ff9900",
            AppbarBackground = "#232f3e",
            Success = "#1d8102",
            Error = "#d13212",
            Info = "#0073bb",
        },
        Typography = new Typography
        {
            Default = new DefaultTypography { FontFamily = ["Amazon Ember", "Helvetica Neue", "Roboto", "Arial", "sans-serif"] },
        },
    };
}
