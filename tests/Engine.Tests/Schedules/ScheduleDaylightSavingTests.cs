using BatchPortal.Engine.Schedules;
using BatchPortal.Engine.Tests.Support;

namespace BatchPortal.Engine.Tests.Schedules;

/// <summary>
/// Cron fire times are wall-clock times in the schedule's zone: a time that does not exist moves, one that happens twice
/// runs once, and the preview warns about both. 2027: Europe/Berlin changes on 28 March and 31 October,
/// America/New_York on 14 March and 7 November.
/// </summary>
public class ScheduleDaylightSavingTests
{
    private const string Berlin = "Europe/Berlin";
    private const string NewYork = "America/New_York";

    [Fact]
    public async Task Preview_WarnsAndMovesTheRun_WhenTheTimeDoesNotExistInBerlin()
    {
        await using var scheduling = await ScheduleEngine.CreateAsync();
        scheduling.Engine.Time.SetUtcNow(new DateTimeOffset(2027, 3, 25, 12, 0, 0, TimeSpan.Zero));

        var preview = EngineHarness.Ok(scheduling.Schedules.Preview("cron(30 2 * * ? *)", Berlin, null, 5));

        // 26 and 27 March at 02:30 CET (UTC+1); on the 28th 02:30 does not exist and the run comes at 03:00 CEST (UTC+2).
        Assert.Equal(
            [At("2027-03-26T01:30Z"), At("2027-03-27T01:30Z"), At("2027-03-28T01:00Z"), At("2027-03-29T00:30Z"), At("2027-03-30T00:30Z")],
            preview.NextFireTimes);
        var warning = Assert.Single(preview.Warnings);
        Assert.Contains("2027-03-28 02:30 does not exist in Europe/Berlin", warning, StringComparison.Ordinal);
        Assert.Contains("03:00", warning, StringComparison.Ordinal);
        Assert.Equal("at 02:30 every day, Europe/Berlin", preview.Description);
    }

    [Fact]
    public async Task Preview_WarnsAndRunsOnce_WhenTheTimeHappensTwiceInBerlin()
    {
        await using var scheduling = await ScheduleEngine.CreateAsync();
        scheduling.Engine.Time.SetUtcNow(new DateTimeOffset(2027, 10, 29, 12, 0, 0, TimeSpan.Zero));

        var preview = EngineHarness.Ok(scheduling.Schedules.Preview("cron(30 2 * * ? *)", Berlin, null, 4));

        // On the 31st, 02:30 CEST (00:30 UTC) and 02:30 CET (01:30 UTC) both exist: only the first is a fire time.
        Assert.Equal([At("2027-10-30T00:30Z"), At("2027-10-31T00:30Z"), At("2027-11-01T01:30Z"), At("2027-11-02T01:30Z")], preview.NextFireTimes);
        var warning = Assert.Single(preview.Warnings);
        Assert.Contains("2027-10-31 02:30 happens twice in Europe/Berlin", warning, StringComparison.Ordinal);
        Assert.Contains("runs once", warning, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Preview_WarnsAndMovesTheRun_WhenTheTimeDoesNotExistInNewYork()
    {
        await using var scheduling = await ScheduleEngine.CreateAsync();
        scheduling.Engine.Time.SetUtcNow(new DateTimeOffset(2027, 3, 13, 12, 0, 0, TimeSpan.Zero));

        var preview = EngineHarness.Ok(scheduling.Schedules.Preview("cron(30 2 * * ? *)", NewYork, null, 3));

        Assert.Equal([At("2027-03-14T07:00Z"), At("2027-03-15T06:30Z"), At("2027-03-16T06:30Z")], preview.NextFireTimes);
        var warning = Assert.Single(preview.Warnings);
        Assert.Contains("2027-03-14 02:30 does not exist in America/New_York", warning, StringComparison.Ordinal);
        Assert.Contains("03:00", warning, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Preview_WarnsAndRunsOnce_WhenTheTimeHappensTwiceInNewYork()
    {
        await using var scheduling = await ScheduleEngine.CreateAsync();
        scheduling.Engine.Time.SetUtcNow(new DateTimeOffset(2027, 11, 6, 12, 0, 0, TimeSpan.Zero));

        var preview = EngineHarness.Ok(scheduling.Schedules.Preview("cron(30 1 * * ? *)", NewYork, null, 3));

        Assert.Equal([At("2027-11-07T05:30Z"), At("2027-11-08T06:30Z"), At("2027-11-09T06:30Z")], preview.NextFireTimes);
        var warning = Assert.Single(preview.Warnings);
        Assert.Contains("2027-11-07 01:30 happens twice in America/New_York", warning, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("cron(30 2 * * ? *)", "UTC")]
    [InlineData("cron(30 4 * * ? *)", Berlin)]
    [InlineData("rate(1 hour)", Berlin)]
    public async Task Preview_HasNoWarning_WhenNoRunMeetsAChange(string expression, string zone)
    {
        await using var scheduling = await ScheduleEngine.CreateAsync();
        scheduling.Engine.Time.SetUtcNow(new DateTimeOffset(2027, 3, 25, 12, 0, 0, TimeSpan.Zero));

        var preview = EngineHarness.Ok(scheduling.Schedules.Preview(expression, zone, null));

        Assert.Empty(preview.Warnings);
    }

    [Fact]
    public async Task FireAsync_SubmitsTheMovedRun_WhenTheTimeDoesNotExist()
    {
        await using var scheduling = await ScheduleEngine.CreateAsync();
        var (engine, schedules) = (scheduling.Engine, scheduling.Schedules);
        EngineHarness.Ok(await schedules.CreateAsync(ScheduleServiceTests.Request("cron(30 2 * * ? *)", r => r.TimeZone = Berlin)));

        // Hangfire's trigger, on the same cron and zone, fires at 03:00 CEST.
        engine.Time.SetUtcNow(At("2027-03-28T01:00:01Z"));
        var job = EngineHarness.Ok(await schedules.FireAsync("nightly"));

        Assert.NotNull(job);
        Assert.Equal(At("2027-03-28T01:00Z"), job.ScheduledFireTime);
        Assert.Equal("nightly-20270328-010000", job.Name);
    }

    [Fact]
    public async Task FireAsync_SubmitsOnce_WhenTheTimeHappensTwice()
    {
        await using var scheduling = await ScheduleEngine.CreateAsync();
        var (engine, schedules) = (scheduling.Engine, scheduling.Schedules);
        EngineHarness.Ok(await schedules.CreateAsync(ScheduleServiceTests.Request("cron(30 2 * * ? *)", r => r.TimeZone = Berlin)));

        engine.Time.SetUtcNow(At("2027-10-31T00:30:01Z"));
        var first = EngineHarness.Ok(await schedules.FireAsync("nightly"));

        // The second 02:30: were a trigger to come now, it submits nothing.
        engine.Time.SetUtcNow(At("2027-10-31T01:30:01Z"));
        var second = EngineHarness.Ok(await schedules.FireAsync("nightly"));

        Assert.Equal(At("2027-10-31T00:30Z"), first?.ScheduledFireTime);
        Assert.Null(second);
        Assert.Single(await schedules.HistoryAsync("nightly"));
    }

    private static DateTimeOffset At(string iso) => DateTimeOffset.Parse(iso, System.Globalization.CultureInfo.InvariantCulture);
}
