using System.Globalization;
using BatchPortal.Engine.Domain;
using BatchPortal.Engine.Schedules;

namespace BatchPortal.Engine.Tests.Schedules;

/// <summary>
/// The parser over EventBridge's documented examples (https://docs.aws.amazon.com/scheduler/latest/UserGuide/schedule-types.html),
/// next fire times as concrete instants, and the expression in words.
/// </summary>
public class ScheduleExpressionTests
{
    /// <summary>A Thursday.</summary>
    private static readonly DateTimeOffset Reference = new(2026, 1, 15, 9, 0, 0, TimeSpan.Zero);

    [Theory]
    [InlineData("cron(0 10 * * ? *)", "2026-01-15 10:00, 2026-01-16 10:00, 2026-01-17 10:00")]
    [InlineData("cron(15 12 * * ? *)", "2026-01-15 12:15, 2026-01-16 12:15, 2026-01-17 12:15")]
    [InlineData("cron(0 18 ? * MON-FRI *)", "2026-01-15 18:00, 2026-01-16 18:00, 2026-01-19 18:00")]
    [InlineData("cron(0 8 1 * ? *)", "2026-02-01 08:00, 2026-03-01 08:00, 2026-04-01 08:00")]
    [InlineData("cron(0/15 * * * ? *)", "2026-01-15 09:15, 2026-01-15 09:30, 2026-01-15 09:45")]
    [InlineData("cron(0/10 * ? * MON-FRI *)", "2026-01-15 09:10, 2026-01-15 09:20, 2026-01-15 09:30")]
    [InlineData("cron(0/5 8-17 ? * MON-FRI *)", "2026-01-15 09:05, 2026-01-15 09:10, 2026-01-15 09:15")]
    [InlineData("cron(0 9 ? * 2#1 *)", "2026-02-02 09:00, 2026-03-02 09:00, 2026-04-06 09:00")]
    [InlineData("cron(0 0 L * ? *)", "2026-01-31 00:00, 2026-02-28 00:00, 2026-03-31 00:00")]
    [InlineData("cron(0 0 ? * 6L *)", "2026-01-30 00:00, 2026-02-27 00:00, 2026-03-27 00:00")]
    [InlineData("cron(0 12 15W * ? *)", "2026-01-15 12:00, 2026-02-16 12:00, 2026-03-16 12:00")]
    [InlineData("rate(1 minute)", "2026-01-15 09:01, 2026-01-15 09:02, 2026-01-15 09:03")]
    [InlineData("rate(5 minutes)", "2026-01-15 09:05, 2026-01-15 09:10, 2026-01-15 09:15")]
    [InlineData("rate(1 hour)", "2026-01-15 10:00, 2026-01-15 11:00, 2026-01-15 12:00")]
    [InlineData("rate(12 hours)", "2026-01-15 21:00, 2026-01-16 09:00, 2026-01-16 21:00")]
    [InlineData("rate(1 day)", "2026-01-16 09:00, 2026-01-17 09:00, 2026-01-18 09:00")]
    [InlineData("rate(7 days)", "2026-01-22 09:00, 2026-01-29 09:00, 2026-02-05 09:00")]
    [InlineData("30 2 * * 1-5", "2026-01-16 02:30, 2026-01-19 02:30, 2026-01-20 02:30")]
    [InlineData("*/20 * * * *", "2026-01-15 09:20, 2026-01-15 09:40, 2026-01-15 10:00")]
    [InlineData("  rate(5 minutes)  ", "2026-01-15 09:05, 2026-01-15 09:10, 2026-01-15 09:15")]
    public void Parse_AcceptsAndGivesNextFireTimes_WhenExpressionIsValid(string text, string expected)
    {
        var result = ScheduleExpression.Parse(text);

        Assert.True(result.IsSuccess, result.Error?.Message);
        Assert.Equal(Instants(expected), result.Value!.Next(3, Reference, TimeZoneInfo.Utc, Reference));
    }

    [Theory]
    [InlineData("rate(0 minutes)", "'0'")]
    [InlineData("rate(-1 minutes)", "'-1'")]
    [InlineData("rate(1 minutes)", "rate(1 minutes)")]
    [InlineData("rate(5 minute)", "rate(5 minute)")]
    [InlineData("rate(5 weeks)", "'weeks'")]
    [InlineData("rate(5)", "'rate(5)'")]
    [InlineData("cron(0 10 * * * *)", "day-of-month and day-of-week")]
    [InlineData("cron(0 10 ? * ? *)", "day-of-month and day-of-week")]
    [InlineData("cron(0 10 * * ?)", "has 5")]
    [InlineData("cron(0 10 * * ? * *)", "has 7")]
    [InlineData("cron(0 10 * * ? *", "must end with ')'")]
    [InlineData("cron(61 * * * ? *)", "Minutes")]
    [InlineData("cron(0 25 * * ? *)", "Hours")]
    [InlineData("cron(0 10 32 * ? *)", "Days of month")]
    [InlineData("cron(0 10 * 13 ? *)", "Months")]
    [InlineData("cron(0 10 ? * 8 *)", "day-of-week value 8")]
    [InlineData("cron(0 10 ? * 0 *)", "day-of-week value 0")]
    [InlineData("cron(0 10 * * ? 1969)", "'1969'")]
    [InlineData("cron(0 10 * * ? 2200)", "'2200'")]
    [InlineData("cron(0 10 * * ? x)", "year field 'x'")]
    [InlineData("cron(0 ab * * ? *)", "hours field 'ab'")]
    [InlineData("at(2026-02-01T00:00:00)", "at(...)")]
    [InlineData("hello world", "'hello world'")]
    [InlineData("every day at noon please", "'every day at noon please'")]
    [InlineData("", "required")]
    [InlineData("   ", "required")]
    [InlineData(null, "required")]
    public void Parse_ReturnsExpressionError_WhenExpressionIsInvalid(string? text, string mention)
    {
        var result = ScheduleExpression.Parse(text);

        var failed = Assert.IsType<ValidationFailed>(result.Error);
        Assert.NotEmpty(failed.Errors);
        Assert.All(failed.Errors, e => Assert.Equal("expression", e.Field));
        Assert.Contains(mention, failed.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Next_GivesTheFirstMondayOfEachMonth_WhenDayOfWeekIsTwoHashOne()
    {
        var cron = Parse("cron(0 9 ? * 2#1 *)");

        var next = cron.Next(6, new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero), TimeZoneInfo.Utc, Reference);

        Assert.Equal(Instants("2026-01-05 09:00, 2026-02-02 09:00, 2026-03-02 09:00, 2026-04-06 09:00, 2026-05-04 09:00, 2026-06-01 09:00"), next);
        Assert.All(next, t => Assert.Equal(DayOfWeek.Monday, t.DayOfWeek));
    }

    [Theory]
    [InlineData("1", DayOfWeek.Sunday)]
    [InlineData("2", DayOfWeek.Monday)]
    [InlineData("4", DayOfWeek.Wednesday)]
    [InlineData("7", DayOfWeek.Saturday)]
    [InlineData("SUN", DayOfWeek.Sunday)]
    [InlineData("sat", DayOfWeek.Saturday)]
    [InlineData("L", DayOfWeek.Saturday)]
    public void Next_NumbersDaysFromSunday_WhenDayOfWeekIsEventBridges(string dayOfWeek, DayOfWeek expected)
    {
        var cron = Parse($"cron(0 10 ? * {dayOfWeek} *)");

        var next = cron.Next(3, Reference, TimeZoneInfo.Utc, Reference);

        Assert.Equal(3, next.Count);
        Assert.All(next, t => Assert.Equal(expected, t.DayOfWeek));
    }

    [Fact]
    public void Next_NumbersDaysFromSundayAsZero_WhenCronHasFiveFields()
    {
        Assert.All(Parse("0 10 * * 0").Next(3, Reference, TimeZoneInfo.Utc, Reference), t => Assert.Equal(DayOfWeek.Sunday, t.DayOfWeek));
        Assert.All(Parse("0 10 * * 1").Next(3, Reference, TimeZoneInfo.Utc, Reference), t => Assert.Equal(DayOfWeek.Monday, t.DayOfWeek));
    }

    [Fact]
    public void Next_StopsAfterTheLastYear_WhenYearFieldIsARange()
    {
        var cron = Parse("cron(0 9 1 1 ? 2027-2028)");

        var next = cron.Next(5, Reference, TimeZoneInfo.Utc, Reference);

        Assert.Equal(Instants("2027-01-01 09:00, 2028-01-01 09:00"), next);
    }

    [Fact]
    public void Next_SkipsToTheGivenYear_WhenYearFieldIsLater()
    {
        var cron = Parse("cron(30 6 ? * MON 2028)");

        var next = cron.Next(2, Reference, TimeZoneInfo.Utc, Reference);

        Assert.Equal(Instants("2028-01-03 06:30, 2028-01-10 06:30"), next);
    }

    [Fact]
    public void Next_IsEmpty_WhenYearIsPast()
    {
        Assert.Empty(Parse("cron(0 9 * * ? 2025)").Next(3, Reference, TimeZoneInfo.Utc, Reference));
    }

    [Fact]
    public void Next_CountsFromTheAnchor_WhenExpressionIsARate()
    {
        var start = new DateTimeOffset(2026, 1, 15, 9, 2, 0, TimeSpan.Zero);
        var rate = Parse("rate(5 minutes)");

        Assert.Equal(Instants("2026-01-15 10:02, 2026-01-15 10:07"), rate.Next(2, Reference.AddHours(1), TimeZoneInfo.Utc, start));
        Assert.Equal(Instants("2026-01-15 10:07, 2026-01-15 10:12"), rate.Next(2, start.AddHours(1), TimeZoneInfo.Utc, start));
    }

    [Fact]
    public void Next_StartsAtTheAnchor_WhenAskedFromBeforeIt()
    {
        // EventBridge: "you can use the StartDate property to set the first occurrence" of a rate-based schedule.
        var start = new DateTimeOffset(2026, 2, 1, 0, 0, 0, TimeSpan.Zero);

        var next = Parse("rate(1 day)").Next(3, Reference, TimeZoneInfo.Utc, start);

        Assert.Equal(Instants("2026-02-01 00:00, 2026-02-02 00:00, 2026-02-03 00:00"), next);
    }

    [Fact]
    public void Next_FallsOnWholeMinutes_WhenTheAnchorHasSeconds()
    {
        // Hangfire's trigger fires on whole minutes (TriggerCron): a fire time at 10:00:30 would never be reached by the
        // 10:00 trigger, and the next one comes an hour later.
        var created = new DateTimeOffset(2026, 1, 15, 9, 0, 30, 250, TimeSpan.Zero);

        var next = Parse("rate(1 hour)").Next(2, created, TimeZoneInfo.Utc, created);

        Assert.Equal(Instants("2026-01-15 10:00, 2026-01-15 11:00"), next);
    }

    [Fact]
    public void Next_IgnoresTheTimeZone_WhenExpressionIsARate()
    {
        var berlin = TimeZoneInfo.FindSystemTimeZoneById("Europe/Berlin");
        var start = new DateTimeOffset(2027, 3, 27, 12, 0, 0, TimeSpan.Zero);

        var next = Parse("rate(12 hours)").Next(3, start, berlin, start);

        Assert.Equal(Instants("2027-03-28 00:00, 2027-03-28 12:00, 2027-03-29 00:00"), next);
    }

    [Fact]
    public void Next_EvaluatesWallClockTime_WhenZoneIsNotUtc()
    {
        var berlin = TimeZoneInfo.FindSystemTimeZoneById("Europe/Berlin");

        var next = Parse("cron(0 10 * * ? *)").Next(1, Reference, berlin, Reference);

        Assert.Equal(Instants("2026-01-16 09:00"), next);
    }

    [Theory]
    [InlineData("rate(1 minute)", "every minute")]
    [InlineData("rate(5 minutes)", "every 5 minutes")]
    [InlineData("rate(1 hour)", "every hour")]
    [InlineData("rate(12 hours)", "every 12 hours")]
    [InlineData("rate(1 day)", "every day")]
    [InlineData("rate(7 days)", "every 7 days")]
    [InlineData("cron(30 2 ? * MON-FRI *)", "at 02:30 on weekdays")]
    [InlineData("cron(30 2 ? * 2-6 *)", "at 02:30 on weekdays")]
    [InlineData("30 2 * * 1-5", "at 02:30 on weekdays")]
    [InlineData("cron(0 10 * * ? *)", "at 10:00 every day")]
    [InlineData("cron(15 12 * * ? *)", "at 12:15 every day")]
    [InlineData("cron(0 18 ? * MON-FRI *)", "at 18:00 on weekdays")]
    [InlineData("cron(0 8 1 * ? *)", "at 08:00 on day 1 of the month")]
    [InlineData("cron(0 0 L * ? *)", "at 00:00 on the last day of the month")]
    [InlineData("cron(0 10 ? * 1 *)", "at 10:00 on Sunday")]
    [InlineData("cron(0 10 ? * 2,4 *)", "at 10:00 on Monday, Wednesday")]
    [InlineData("cron(0 10 ? * SAT,SUN *)", "at 10:00 on weekends")]
    [InlineData("0 10 * * 1", "at 10:00 on Monday")]
    [InlineData("cron(0 9 * * ? 2027)", "at 09:00 every day in 2027")]
    [InlineData("cron(0 9 * 6 ? *)", "at 09:00 every day in month 6")]
    [InlineData("*/5 * * * *", "every 5 minutes")]
    [InlineData("cron(0/15 * * * ? *)", "every 15 minutes")]
    [InlineData("cron(0/10 * ? * MON-FRI *)", "every 10 minutes on weekdays")]
    [InlineData("* * * * *", "every minute")]
    [InlineData("15 * * * *", "at minute 15 of every hour")]
    [InlineData("0 */6 * * *", "at minute 0 of every 6 hours")]
    public void Describe_SaysWhenInWords(string text, string expected)
    {
        Assert.Equal(expected, Parse(text).Describe());
    }

    [Theory]
    [InlineData("cron(0 10 ? * 1-5 *)")]
    [InlineData("cron(0/5 8-17 ? * MON-FRI *)")]
    public void Describe_NeverCallsSundayToThursdayWeekdaysOrRepeatsCron(string text)
    {
        // Regression: EventBridge's 1-5 is Sunday to Thursday, and the fallback read "cron cron(...)".
        var description = Parse(text).Describe();

        Assert.DoesNotContain("weekdays", description, StringComparison.Ordinal);
        Assert.DoesNotContain("cron cron(", description, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("rate(5 minutes)", "* * * * *")]
    [InlineData("rate(1 hour)", "0 * * * *")]
    [InlineData("rate(1 day)", "0 9 * * *")]
    [InlineData("cron(0 18 ? * MON-FRI *)", "0 18 ? * MON-FRI")]
    [InlineData("cron(0 9 ? * 2#1 *)", "0 9 ? * 1#1")]
    [InlineData("30 2 * * 1-5", "30 2 * * 1-5")]
    public void TriggerCron_IsTheCronHangfireRuns(string text, string expected)
    {
        Assert.Equal(expected, Parse(text).TriggerCron(Reference.AddSeconds(42), TimeZoneInfo.Utc));
    }

    private static ScheduleExpression Parse(string text)
    {
        var result = ScheduleExpression.Parse(text);
        Assert.True(result.IsSuccess, result.Error?.Message);
        return result.Value!;
    }

    /// <summary>"yyyy-MM-dd HH:mm, ..." in UTC.</summary>
    private static DateTimeOffset[] Instants(string list) =>
        [.. list.Split(", ").Select(s => DateTimeOffset.ParseExact(s, "yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal))];
}
