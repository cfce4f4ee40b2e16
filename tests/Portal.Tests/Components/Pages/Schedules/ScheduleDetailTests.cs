using BatchPortal.Portal.Components.Pages.Schedules;
using Bunit;
using Microsoft.AspNetCore.Components.Web;

namespace BatchPortal.Portal.Tests.Components.Pages.Schedules;

public class ScheduleDetailTests
{
    [Fact]
    public async Task Render_CountsARatesNextRunsFromItsCreation_NotFromNow()
    {
        // Regression: as on the list, the page anchored rates at the time of viewing.
        await using var pages = await SchedulePages.CreateAsync();
        await pages.CreateScheduleAsync("every-five", "rate(5 minutes)");
        pages.Time.Advance(TimeSpan.FromMinutes(7.5));

        var cut = pages.Context.Bunit.Render<ScheduleDetail>(p => p.Add(x => x.Name, "every-five"));

        cut.WaitForAssertion(() => Assert.Equal(
            ["2026-01-15 09:10:00 UTC", "2026-01-15 09:15:00 UTC", "2026-01-15 09:20:00 UTC", "2026-01-15 09:25:00 UTC", "2026-01-15 09:30:00 UTC"],
            cut.FindAll("[data-testid=next-run]").Select(e => e.TextContent.Trim())));
        Assert.Equal("every 5 minutes, UTC", cut.Find("[data-testid=schedule-when]").TextContent);
    }

    [Fact]
    public async Task RunNow_ListsTheSubmittedJobAmongTheJobsItStarted()
    {
        await using var pages = await SchedulePages.CreateAsync();
        await pages.CreateScheduleAsync("every-five", "rate(5 minutes)");
        var cut = pages.Context.Bunit.Render<ScheduleDetail>(p => p.Add(x => x.Name, "every-five"));
        cut.WaitForAssertion(() => Assert.Contains("No runs yet.", cut.Markup, StringComparison.Ordinal));

        await cut.Find("[data-testid=run-now]").ClickAsync(new MouseEventArgs());

        cut.WaitForAssertion(() =>
        {
            var row = Assert.Single(cut.FindAll("[data-testid=schedule-job]"));
            Assert.Contains("every-five-20260115-090000", row.TextContent, StringComparison.Ordinal);
            Assert.Equal("SUBMITTED", row.QuerySelector("[data-testid=job-status]")?.GetAttribute("data-status"));
        });
    }
}
