using BatchPortal.Portal.Components.Pages.Schedules;
using Bunit;
using Bunit.Rendering;

namespace BatchPortal.Portal.Tests.Components.Pages.Schedules;

public class ScheduleListTests
{
    [Fact]
    public async Task Render_ShowsEachExpressionInWordsAndItsNextRun()
    {
        await using var pages = await SchedulePages.CreateAsync();
        await pages.CreateScheduleAsync("every-five", "rate(5 minutes)");
        await pages.CreateScheduleAsync("weekday-night", "cron(30 2 ? * MON-FRI *)", "Europe/Berlin");
        await pages.CreateScheduleAsync("paused", "rate(1 hour)");
        Assert.True((await pages.Schedules.SetEnabledAsync("paused", false)).IsSuccess);

        var cut = pages.Context.RenderPage<ScheduleList>();

        cut.WaitForAssertion(() => Assert.Equal(3, cut.FindAll("[data-testid=schedule-row]").Count));
        Assert.Equal(("every 5 minutes, UTC", "2026-01-15 09:05:00 UTC"), Row(cut, "every-five"));

        // 02:30 in Berlin on Friday is 01:30 UTC.
        Assert.Equal(("at 02:30 on weekdays, Europe/Berlin", "2026-01-16 01:30:00 UTC"), Row(cut, "weekday-night"));
        Assert.Equal(("every hour, UTC", "—"), Row(cut, "paused"));
        Assert.Contains("cron(30 2 ? * MON-FRI *)", cut.Find("[data-schedule=weekday-night]").TextContent, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Render_CountsARatesNextRunFromItsCreation_NotFromNow()
    {
        // Regression: the list anchored rates at the time of viewing, so a rate(5 minutes) made at 09:00 and seen at 09:07
        // showed 09:12 instead of 09:10.
        await using var pages = await SchedulePages.CreateAsync();
        await pages.CreateScheduleAsync("every-five", "rate(5 minutes)");
        pages.Time.Advance(TimeSpan.FromMinutes(7.5));

        var cut = pages.Context.RenderPage<ScheduleList>();

        cut.WaitForAssertion(() => Assert.Equal(("every 5 minutes, UTC", "2026-01-15 09:10:00 UTC"), Row(cut, "every-five")));
    }

    private static (string When, string Next) Row(IRenderedComponent<ContainerFragment> cut, string name)
    {
        var cells = cut.Find($"[data-schedule={name}]").QuerySelectorAll("td");
        return (cells[1].TextContent.Trim(), cells[2].TextContent.Trim());
    }
}
