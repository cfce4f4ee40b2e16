using BatchPortal.Portal.Components.Pages.Schedules;
using Bunit;
using Bunit.Rendering;
using Microsoft.AspNetCore.Components.Web;

namespace BatchPortal.Portal.Tests.Components.Pages.Schedules;

public class EditScheduleTests
{
    private const string Expression = "#schedule-expression";

    [Fact]
    public async Task Preview_ShowsTheNextTenRuns_AndFollowsTheExpression()
    {
        await using var pages = await SchedulePages.CreateAsync();
        var cut = pages.Context.RenderPage<EditSchedule>();

        cut.WaitForAssertion(() =>
        {
            Assert.Equal("every 5 minutes, UTC", cut.Find("[data-testid=schedule-description]").TextContent);
            var runs = NextRuns(cut);
            Assert.Equal(10, runs.Count);
            Assert.Contains("2026-01-15 09:05 (UTC, UTC+00:00)", runs[0], StringComparison.Ordinal);
            Assert.Contains("2026-01-15 09:50 (UTC, UTC+00:00)", runs[9], StringComparison.Ordinal);
        });

        cut.Find(Expression).Input("cron(0 18 ? * MON-FRI *)");

        cut.WaitForAssertion(() =>
        {
            Assert.Equal("at 18:00 on weekdays, UTC", cut.Find("[data-testid=schedule-description]").TextContent);
            var runs = NextRuns(cut);
            Assert.Equal(10, runs.Count);
            Assert.Contains("2026-01-15 18:00", runs[0], StringComparison.Ordinal);
            Assert.Contains("2026-01-16 18:00", runs[1], StringComparison.Ordinal);
            Assert.Contains("2026-01-19 18:00", runs[2], StringComparison.Ordinal);
        });
    }

    [Theory]
    [InlineData("cron(0 10 * * * *)", "Exactly one of day-of-month and day-of-week must be '?'")]
    [InlineData("rate(5 weeks)", "The rate unit must be minute(s), hour(s) or day(s), not 'weeks'.")]
    [InlineData("cron(61 * * * ? *)", "Minutes: Value must be a number between 0 and 59")]
    public async Task Save_ShowsTheExpressionErrorInlineAndSavesNothing_WhenTheExpressionIsInvalid(string expression, string error)
    {
        await using var pages = await SchedulePages.CreateAsync();
        var cut = pages.Context.RenderPage<EditSchedule>();
        cut.Find("#schedule-name").Input("nightly");
        cut.Find(Expression).Input(expression);

        // While typing, the preview says what is wrong in place of the next runs.
        cut.WaitForAssertion(() =>
        {
            Assert.Contains(error, cut.Find("[data-testid=schedule-preview]").TextContent, StringComparison.Ordinal);
            Assert.Empty(cut.FindAll("[data-testid=next-run]"));
        });

        await cut.Find("[data-testid=save]").ClickAsync(new MouseEventArgs());

        cut.WaitForAssertion(() =>
        {
            Assert.Contains(error, cut.FieldText(Expression), StringComparison.Ordinal);
            Assert.True(cut.IsInvalid(Expression));
        });
        Assert.Empty(await pages.Schedules.ListAsync());
        Assert.Equal("/", new Uri(pages.Context.Navigation.Uri).AbsolutePath);
    }

    [Fact]
    public async Task Save_CreatesTheScheduleAndOpensIt_WhenTheFormIsValid()
    {
        await using var pages = await SchedulePages.CreateAsync();
        var cut = pages.Context.RenderPage<EditSchedule>();
        cut.Find("#schedule-name").Input("nightly");
        cut.Find(Expression).Input("rate(1 hour)");
        cut.WaitForAssertion(() => Assert.Equal("every hour, UTC", cut.Find("[data-testid=schedule-description]").TextContent));

        await cut.Find("[data-testid=save]").ClickAsync(new MouseEventArgs());

        cut.WaitForAssertion(() => Assert.Equal("/schedules/nightly", new Uri(pages.Context.Navigation.Uri).AbsolutePath));
        var saved = Assert.Single(await pages.Schedules.ListAsync());
        Assert.Equal(("rate(1 hour)", "UTC", "q", "d", "scheduled-{{time}}"), (saved.Expression, saved.TimeZone, saved.JobQueue, saved.JobDefinition, saved.JobName));
    }

    [Fact]
    public async Task Preview_WarnsAboutDaylightSaving_WhenACronInBerlinMeetsAChange()
    {
        await using var pages = await SchedulePages.CreateAsync(new DateTimeOffset(2027, 3, 25, 12, 0, 0, TimeSpan.Zero));
        var cut = pages.Context.RenderPage<EditSchedule>();
        cut.Find(Expression).Input("cron(30 2 * * ? *)");
        cut.WaitForAssertion(() => Assert.Equal("at 02:30 every day, UTC", cut.Find("[data-testid=schedule-description]").TextContent));
        Assert.Empty(cut.FindAll("[data-testid=dst-warning]"));

        PickTimeZone(cut, "Europe/Berlin");

        cut.WaitForAssertion(() =>
        {
            Assert.Equal("at 02:30 every day, Europe/Berlin", cut.Find("[data-testid=schedule-description]").TextContent);
            var warning = Assert.Single(cut.FindAll("[data-testid=dst-warning]"));
            Assert.Contains("2027-03-28 02:30 does not exist in Europe/Berlin (clocks go forward); that run happens at 03:00.", warning.TextContent, StringComparison.Ordinal);
            var runs = NextRuns(cut);
            Assert.Contains("2027-03-27 02:30 (Europe/Berlin, UTC+01:00)", runs[1], StringComparison.Ordinal);
            Assert.Contains("2027-03-28 03:00 (Europe/Berlin, UTC+02:00)", runs[2], StringComparison.Ordinal);
            Assert.Contains("2027-03-29 02:30 (Europe/Berlin, UTC+02:00)", runs[3], StringComparison.Ordinal);
        });
    }

    /// <summary>Types the start of a zone into the time zone autocomplete and clicks the zone among its suggestions.</summary>
    private static void PickTimeZone(IRenderedComponent<ContainerFragment> cut, string zone)
    {
        cut.Find("#schedule-zone").Input(zone[..^2]);
        cut.WaitForAssertion(() => Assert.Contains(cut.FindAll("[role=option]"), o => o.TextContent.Trim() == zone), TimeSpan.FromSeconds(5));
        cut.FindAll("[role=option]").First(o => o.TextContent.Trim() == zone).Click();
    }

    private static List<string> NextRuns(IRenderedComponent<ContainerFragment> cut) =>
        [.. cut.FindAll("[data-testid=next-run]").Select(e => e.TextContent.Trim())];
}
