using Microsoft.Playwright;

namespace BatchPortal.Portal.BrowserTests;

/// <summary>The live board (issue #5): failures and log lines reach open pages without a reload.</summary>
[Collection(BrowserCollection.Name)]
[Trait("Category", "Browser")]
public sealed class LiveBoardTests(BrowserFixture fixture)
{
    private static readonly float Deadline = 60_000;

    [Fact]
    public async Task Dashboard_ShowsFailedJobAmongRecentFailures_WithoutReload()
    {
        var seed = new Seed(fixture.Portal.Services);
        await seed.CreateQueueAsync();
        var failing = await seed.DefinitionAsync("fails", "sh", "-c", "echo about to fail; exit 3");
        await using var context = await fixture.Browser.NewContextAsync();
        var page = await fixture.OpenAsync(context, "/");
        await page.EvaluateAsync("() => window.__sameDocument = true");

        var job = await seed.SubmitAsync(failing, $"failing-{seed.Suffix}");

        var row = page.Locator($"[data-testid=recent-failure][data-job-id='{job.Id}']");
        await Assertions.Expect(row).ToBeVisibleAsync(new() { Timeout = Deadline });
        await Assertions.Expect(row).ToContainTextAsync("exit 3");
        await Assertions.Expect(row).ToContainTextAsync("Essential container in task exited");
        Assert.True(await page.EvaluateAsync<bool>("() => window.__sameDocument === true"), "the dashboard was reloaded");
    }

    [Fact]
    public async Task JobPage_ShowsLogLines_WhileTheContainerStillRuns()
    {
        var seed = new Seed(fixture.Portal.Services);
        await seed.CreateQueueAsync();
        var slow = await seed.DefinitionAsync("slow", "sh", "-c", "echo first line; sleep 5; echo second line");
        var job = await seed.SubmitAsync(slow, $"slow-{seed.Suffix}");
        await using var context = await fixture.Browser.NewContextAsync();
        var page = await fixture.OpenAsync(context, $"/jobs/{job.Id}");

        var log = page.GetByTestId("log-output");
        await Assertions.Expect(log).ToContainTextAsync("first line", new() { Timeout = Deadline });

        // The first line is on the page while the container still runs: the status is RUNNING and the second line not yet there.
        await Assertions.Expect(page.GetByTestId("job-status").First).ToHaveAttributeAsync("data-status", "RUNNING");
        Assert.DoesNotContain("second line", await log.TextContentAsync() ?? string.Empty, StringComparison.Ordinal);

        await Assertions.Expect(log).ToContainTextAsync("second line", new() { Timeout = Deadline });
        await Assertions.Expect(page.GetByTestId("job-status").First).ToHaveAttributeAsync("data-status", "SUCCEEDED", new() { Timeout = Deadline });
    }
}
