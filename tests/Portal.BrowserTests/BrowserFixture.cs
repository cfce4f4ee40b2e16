using Microsoft.Playwright;

namespace BatchPortal.Portal.BrowserTests;

/// <summary>
/// One portal and one Chromium for the browser tests. Debian's Chromium is used (Playwright cannot download its own
/// here); when it is missing the tests fail with the reason, they never skip.
/// </summary>
public class BrowserFixture : IAsyncLifetime
{
    public PortalHost Portal { get; private set; } = default!;

    public IBrowser Browser { get; private set; } = default!;

    private IPlaywright? _playwright;

    /// <summary>What the portal is started with beside the tests' defaults.</summary>
    protected virtual IReadOnlyDictionary<string, string?> Settings { get; } = new Dictionary<string, string?>();

    public static string ChromiumPath =>
        Environment.GetEnvironmentVariable("BATCHPORTAL_CHROMIUM") is { Length: > 0 } configured ? configured : "/usr/bin/chromium";

    public virtual async Task InitializeAsync()
    {
        if (!File.Exists(ChromiumPath))
        {
            throw new InvalidOperationException(
                $"Chromium not found at {ChromiumPath}. Run tests/run.sh (it installs Debian's chromium) or set BATCHPORTAL_CHROMIUM.");
        }

        Portal = new PortalHost(Settings);
        _playwright = await Playwright.CreateAsync();
        Browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = ChromiumPath,
            Headless = true,
            Args =
            [
                "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync",
            ],
        });
    }

    public virtual async Task DisposeAsync()
    {
        if (Browser is not null)
        {
            await Browser.DisposeAsync();
        }

        _playwright?.Dispose();
        if (Portal is not null)
        {
            await Portal.DisposeAsync();
        }
    }

    /// <summary>Opens a page and waits until the Blazor circuit is live, so that clicks are not lost to prerendering.</summary>
    public async Task<IPage> OpenAsync(IBrowserContext context, string path)
    {
        var page = await context.NewPageAsync();
        await page.GotoAsync(Portal.BaseAddress.TrimEnd('/') + path);
        await WaitInteractiveAsync(page);
        return page;
    }

    public static async Task WaitInteractiveAsync(IPage page) =>
        await page.Locator("[data-testid=interactive][data-interactive=true]").WaitForAsync(new() { State = WaitForSelectorState.Attached });
}

[CollectionDefinition(Name)]
public sealed class BrowserCollection : ICollectionFixture<BrowserFixture>
{
    public const string Name = "browser";
}
