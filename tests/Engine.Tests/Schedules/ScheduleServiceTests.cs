using BatchPortal.Engine.Domain;
using BatchPortal.Engine.Execution;
using BatchPortal.Engine.Schedules;
using BatchPortal.Engine.Storage;
using BatchPortal.Engine.Tests.Resources;
using BatchPortal.Engine.Tests.Support;
using Cronos;
using Microsoft.EntityFrameworkCore;

namespace BatchPortal.Engine.Tests.Schedules;

/// <summary>
/// The rules, the writes and what a fire does. The clock starts at <see cref="EngineHarness.Epoch"/> (09:00 UTC) and
/// FireAsync is called where Hangfire's trigger would call it.
/// </summary>
public class ScheduleServiceTests
{
    private const string Name = "nightly";

    internal static ScheduleRequest Request(string expression = "rate(5 minutes)", Action<ScheduleRequest>? configure = null)
    {
        var request = new ScheduleRequest
        {
            Name = Name,
            Expression = expression,
            TimeZone = "UTC",
            JobQueue = "q",
            JobDefinition = "d",
            JobName = "nightly-{{time}}",
        };
        configure?.Invoke(request);
        return request;
    }

    public static TheoryData<string, string, string> InvalidRequests => new()
    {
        { "no name", "name", "Schedule name is required." },
        { "bad name", "name", "'night ly'" },
        { "long name", "name", "at most 128 characters" },
        { "bad expression", "expression", "day-of-month and day-of-week" },
        { "no expression", "expression", "required" },
        { "unknown time zone", "timeZone", "'Mars/Olympus_Mons'" },
        { "end before start", "endDate", "must be after the start date" },
        { "end equals start", "endDate", "must be after the start date" },
        { "job name starts badly", "jobName", "'-20260101-000000' must start with a letter or digit" },
        { "job name has spaces", "jobName", "may contain only letters" },
        { "no job name", "jobName", "Job name is required." },
        { "no queue", "jobQueue", "Job queue is required." },
        { "unknown queue", "jobQueue", "Job queue nope does not exist." },
        { "no definition", "jobDefinition", "Job definition is required." },
        { "unknown definition", "jobDefinition", "Job definition nope does not exist." },
        { "bad attempts", "retryStrategy.attempts", "11" },
    };

    [Theory]
    [MemberData(nameof(InvalidRequests))]
    public async Task CreateAsync_ReturnsTheFieldsErrorAndSavesNothing_WhenAFieldIsInvalid(string scenario, string field, string mention)
    {
        await using var scheduling = await ScheduleEngine.CreateAsync();
        var (engine, schedules) = (scheduling.Engine, scheduling.Schedules);
        var request = Request(configure: r => Break(r, scenario));

        var result = await schedules.CreateAsync(request);

        var failed = Assert.IsType<ValidationFailed>(result.Error);
        FieldErrorAssert.Single(failed.Errors, field, mention);
        Assert.Empty(await schedules.ListAsync());
        Assert.Empty(scheduling.RecurringJobs());
    }

    [Fact]
    public async Task CreateAsync_ReportsEveryBadField_WhenSeveralAreInvalid()
    {
        await using var scheduling = await ScheduleEngine.CreateAsync();
        var request = new ScheduleRequest { Name = "x y", Expression = "rate(5 weeks)", TimeZone = "Nowhere/Land", JobName = "bad name" };

        var result = await scheduling.Schedules.CreateAsync(request);

        var failed = Assert.IsType<ValidationFailed>(result.Error);
        Assert.Equal(["name", "expression", "timeZone", "jobName", "jobQueue", "jobDefinition"], failed.Errors.Select(e => e.Field));
    }

    [Fact]
    public async Task CreateAsync_RequiresMemory_WhenTheDefinitionGivesNone_ForEveryFireWouldBeRefused()
    {
        await using var scheduling = await ScheduleEngine.CreateAsync();
        var container = new BatchPortal.Engine.Domain.ContainerProperties { Image = "busybox", Command = ["true"] };
        container.SetRequirement("VCPU", "1");
        EngineHarness.Ok(await scheduling.Engine.Get<BatchPortal.Engine.Resources.JobDefinitionService>().RegisterAsync(
            new BatchPortal.Engine.Resources.RegisterJobDefinitionRequest { JobDefinitionName = "no-memory", Type = "container", ContainerProperties = container }));

        var refused = await scheduling.Schedules.CreateAsync(Request(configure: r => r.JobDefinition = "no-memory"));
        Assert.Contains("Memory is required", Assert.IsType<ValidationFailed>(refused.Error).For("overrides.memory"), StringComparison.Ordinal);

        EngineHarness.Ok(await scheduling.Schedules.CreateAsync(Request(configure: r => (r.JobDefinition, r.Overrides) = ("no-memory", new ScheduleOverrides { Memory = 64 }))));
    }

    [Fact]
    public async Task CreateAsync_RefusesASecondScheduleOfTheSameName()
    {
        await using var scheduling = await ScheduleEngine.CreateAsync();
        var (engine, schedules) = (scheduling.Engine, scheduling.Schedules);
        EngineHarness.Ok(await schedules.CreateAsync(Request()));

        var result = await schedules.CreateAsync(Request("rate(1 hour)"));

        FieldErrorAssert.Single(Assert.IsType<ValidationFailed>(result.Error).Errors, "name", "A schedule named nightly already exists.");
        Assert.Equal("rate(5 minutes)", Assert.Single(await schedules.ListAsync()).Expression);
    }

    [Fact]
    public async Task CreateAsync_SavesAndRegistersTheTrigger_WhenValid()
    {
        await using var scheduling = await ScheduleEngine.CreateAsync();
        var (engine, schedules) = (scheduling.Engine, scheduling.Schedules);

        var schedule = EngineHarness.Ok(await schedules.CreateAsync(Request("cron(30 2 ? * MON-FRI *)", r =>
        {
            r.TimeZone = "Europe/Berlin";
            r.JobQueue = "arn:aws:batch:us-east-1:123456789012:job-queue/q";
        })));

        var stored = Assert.Single(await schedules.ListAsync());
        Assert.Equal((Name, "q", "d", "Europe/Berlin", EngineHarness.Epoch), (stored.Name, stored.JobQueue, stored.JobDefinition, stored.TimeZone, stored.CreatedAt));
        var trigger = Assert.Single(scheduling.RecurringJobs());
        Assert.Equal(ScheduleTriggers.JobId(schedule.Name), trigger.Id);
        Assert.Equal(("30 2 ? * MON-FRI", "Europe/Berlin"), (trigger.Cron, trigger.TimeZoneId));
    }

    [Fact]
    public async Task FireAsync_SubmitsTheSchedulesJob_AtAFireTime()
    {
        await using var scheduling = await ScheduleEngine.CreateAsync();
        var (engine, schedules) = (scheduling.Engine, scheduling.Schedules);
        EngineHarness.Ok(await schedules.CreateAsync(Request(configure: r =>
        {
            r.Parameters = new() { ["day"] = "thursday" };
            r.Overrides = new ScheduleOverrides { Command = ["echo", "scheduled"] };
        })));
        engine.Time.Advance(TimeSpan.FromMinutes(5));

        var fired = EngineHarness.Ok(await schedules.FireAsync(Name));

        Assert.NotNull(fired);
        var job = await engine.GetJobAsync(fired.Id);
        Assert.Equal(("nightly-20260115-090500", "q", "d", 1), (job.Name, job.QueueName, job.JobDefinitionName, job.JobDefinitionRevision));
        Assert.Equal((Name, EngineHarness.Epoch.AddMinutes(5)), (job.ScheduleName, job.ScheduledFireTime));
        Assert.Equal(["echo", "scheduled"], job.Container.Command);
        Assert.Equal("thursday", job.Parameters["day"]);
        Assert.Equal(JobStatus.Submitted, job.Status);
        var schedule = (await schedules.GetAsync(Name))!;
        Assert.Equal(EngineHarness.Epoch.AddMinutes(5), schedule.LastFireTime);
        Assert.Contains("Submitted job nightly-20260115-090500", schedule.LastRunNote, StringComparison.Ordinal);
    }

    [Fact]
    public async Task FireAsync_SubmitsOneJob_WhenCalledTwiceForOneFireTime()
    {
        await using var scheduling = await ScheduleEngine.CreateAsync();
        var (engine, schedules) = (scheduling.Engine, scheduling.Schedules);
        EngineHarness.Ok(await schedules.CreateAsync(Request()));
        engine.Time.Advance(TimeSpan.FromMinutes(5));

        var first = EngineHarness.Ok(await schedules.FireAsync(Name));
        engine.Time.Advance(TimeSpan.FromSeconds(20));
        var second = EngineHarness.Ok(await schedules.FireAsync(Name));

        Assert.NotNull(first);
        Assert.Null(second);
        Assert.Equal([first.Id], (await schedules.HistoryAsync(Name)).Select(j => j.Id));
    }

    [Fact]
    public async Task FireAsync_SubmitsOneJob_WhenTheEngineRestartsAfterAFire()
    {
        await using var scheduling = await ScheduleEngine.CreateAsync();
        var (engine, schedules) = (scheduling.Engine, scheduling.Schedules);
        EngineHarness.Ok(await schedules.CreateAsync(Request(configure: r => r.MissedRunPolicy = MissedRunPolicy.RunOnce)));
        engine.Time.Advance(TimeSpan.FromMinutes(5));
        var first = EngineHarness.Ok(await schedules.FireAsync(Name));

        // What ScheduleTriggers.StartAsync does after a restart, then the trigger again within the same minute.
        engine.Time.Advance(TimeSpan.FromSeconds(40));
        await schedules.CatchUpAsync((await schedules.GetAsync(Name))!);
        var again = EngineHarness.Ok(await schedules.FireAsync(Name));

        Assert.Null(again);
        Assert.Equal([first!.Id], (await schedules.HistoryAsync(Name)).Select(j => j.Id));
    }

    [Fact]
    public async Task FireAsync_SubmitsOneJob_WhenTheLastFireTimeWasLostInACrash()
    {
        await using var scheduling = await ScheduleEngine.CreateAsync();
        var (engine, schedules) = (scheduling.Engine, scheduling.Schedules);
        EngineHarness.Ok(await schedules.CreateAsync(Request()));
        engine.Time.Advance(TimeSpan.FromMinutes(5));
        var first = EngineHarness.Ok(await schedules.FireAsync(Name));

        // A crash between the submit and the note: the job is stored, the schedule does not know it fired.
        await using (var db = await engine.Get<IDbContextFactory<BatchDbContext>>().CreateDbContextAsync())
        {
            await db.Schedules.Where(s => s.Name == Name).ExecuteUpdateAsync(u => u.SetProperty(s => s.LastFireTime, (DateTimeOffset?)null));
        }

        var again = await schedules.FireAsync(Name);

        Assert.IsType<ResourceConflict>(again.Error);
        Assert.Equal([first!.Id], (await schedules.HistoryAsync(Name)).Select(j => j.Id));
    }

    [Fact]
    public async Task FireAsync_SubmitsNothing_WhenNoFireTimeIsDue()
    {
        await using var scheduling = await ScheduleEngine.CreateAsync();
        var (engine, schedules) = (scheduling.Engine, scheduling.Schedules);
        EngineHarness.Ok(await schedules.CreateAsync(Request("cron(0 18 ? * MON-FRI *)")));
        engine.Time.Advance(TimeSpan.FromHours(1));

        Assert.Null(EngineHarness.Ok(await schedules.FireAsync(Name)));
        Assert.Null(EngineHarness.Ok(await schedules.FireAsync("no-such-schedule")));
        Assert.Empty(await schedules.HistoryAsync(Name));
    }

    [Fact]
    public async Task FireAsync_SubmitsNothing_OutsideStartAndEndDates()
    {
        await using var scheduling = await ScheduleEngine.CreateAsync();
        var (engine, schedules) = (scheduling.Engine, scheduling.Schedules);
        EngineHarness.Ok(await schedules.CreateAsync(Request("rate(1 hour)", r =>
        {
            r.StartDate = EngineHarness.Epoch.AddHours(2);
            r.EndDate = EngineHarness.Epoch.AddHours(3);
        })));
        var fired = new List<DateTimeOffset?>();

        for (var hour = 1; hour <= 5; hour++)
        {
            engine.Time.SetUtcNow(EngineHarness.Epoch.AddHours(hour).AddSeconds(1));
            fired.Add(EngineHarness.Ok(await schedules.FireAsync(Name))?.ScheduledFireTime);
        }

        // The start date is the first fire time, the end date the last one.
        Assert.Equal([null, EngineHarness.Epoch.AddHours(2), EngineHarness.Epoch.AddHours(3), null, null], fired);
    }

    public static TheoryData<string, string, int> Triggers => new()
    {
        { "rate(1 minute)", "UTC", 30 },
        { "rate(5 minutes)", "UTC", 60 },
        { "rate(7 minutes)", "UTC", 60 },
        { "rate(1 hour)", "UTC", 6 * 60 },
        { "rate(12 hours)", "UTC", 3 * 24 * 60 },
        { "rate(1 day)", "Europe/Berlin", 4 * 24 * 60 },
        { "cron(0/15 * * * ? *)", "UTC", 120 },
        { "cron(0 10 * * ? *)", "America/New_York", 3 * 24 * 60 },
        { "*/20 * * * *", "Europe/Berlin", 120 },
    };

    [Theory]
    [MemberData(nameof(Triggers))]
    public async Task FireAsync_SubmitsEveryFireTime_WhenCalledAtTheTriggersTimes(string expression, string zoneId, int minutes)
    {
        await using var scheduling = await ScheduleEngine.CreateAsync();
        var (engine, schedules) = (scheduling.Engine, scheduling.Schedules);

        // Created mid-minute, as a schedule made in the console is.
        engine.Time.Advance(TimeSpan.FromSeconds(30.25));
        var schedule = EngineHarness.Ok(await schedules.CreateAsync(Request(expression, r => r.TimeZone = zoneId)));
        var parsed = ScheduleExpression.Parse(expression).Value!;
        var zone = TimeZoneInfo.FindSystemTimeZoneById(zoneId);
        var from = engine.Time.GetUtcNow();
        var to = from.AddMinutes(minutes);

        // As ScheduleTriggers registers it with Hangfire; each trigger comes a second late.
        var trigger = CronExpression.Parse(parsed.TriggerCron(schedule.Anchor, zone));
        foreach (var at in trigger.GetOccurrences(from, to, parsed is RateExpression ? TimeZoneInfo.Utc : zone))
        {
            engine.Time.SetUtcNow(at.AddSeconds(1));
            await schedules.FireAsync(Name);
        }

        var fired = (await schedules.HistoryAsync(Name, limit: 10_000)).Select(j => j.ScheduledFireTime!.Value).Order().ToList();
        var due = parsed.Occurrences(from, zone, schedule.Anchor).TakeWhile(t => t < to).ToList();
        Assert.NotEmpty(due);
        Assert.All(due, t => Assert.Contains(t, fired));
        Assert.All(fired, t => Assert.Equal(t, parsed.Latest(t.AddTicks(-1), t, zone, schedule.Anchor)));
    }

    [Fact]
    public async Task CatchUpAsync_NotesAndSubmitsNothing_WhenMissedRunPolicyIsSkip()
    {
        await using var scheduling = await ScheduleEngine.CreateAsync();
        var (engine, schedules) = (scheduling.Engine, scheduling.Schedules);
        EngineHarness.Ok(await schedules.CreateAsync(Request(configure: r => r.MissedRunPolicy = MissedRunPolicy.Skip)));

        // The portal was down for an hour.
        engine.Time.Advance(TimeSpan.FromHours(1));
        await schedules.CatchUpAsync((await schedules.GetAsync(Name))!);

        Assert.Empty(await schedules.HistoryAsync(Name));
        var schedule = (await schedules.GetAsync(Name))!;
        Assert.Contains("Skipped the runs missed while the portal was down", schedule.LastRunNote, StringComparison.Ordinal);
        Assert.Equal(EngineHarness.Epoch.AddMinutes(55), schedule.LastFireTime);

        // The schedule goes on with its next fire time.
        var next = EngineHarness.Ok(await schedules.FireAsync(Name));
        Assert.Equal(EngineHarness.Epoch.AddHours(1), next?.ScheduledFireTime);
    }

    [Fact]
    public async Task CatchUpAsync_SubmitsOneJobForTheLatestMissedTime_WhenMissedRunPolicyIsRunOnce()
    {
        await using var scheduling = await ScheduleEngine.CreateAsync();
        var (engine, schedules) = (scheduling.Engine, scheduling.Schedules);
        EngineHarness.Ok(await schedules.CreateAsync(Request(configure: r => r.MissedRunPolicy = MissedRunPolicy.RunOnce)));
        engine.Time.Advance(TimeSpan.FromHours(1).Add(TimeSpan.FromMinutes(2)));

        await schedules.CatchUpAsync((await schedules.GetAsync(Name))!);
        await schedules.CatchUpAsync((await schedules.GetAsync(Name))!);

        var job = Assert.Single(await schedules.HistoryAsync(Name));
        Assert.Equal(EngineHarness.Epoch.AddHours(1), job.ScheduledFireTime);
        Assert.Equal("nightly-20260115-100000", job.Name);
    }

    [Fact]
    public async Task CatchUpAsync_SubmitsNothing_WhenNothingWasMissed()
    {
        await using var scheduling = await ScheduleEngine.CreateAsync();
        var (engine, schedules) = (scheduling.Engine, scheduling.Schedules);
        EngineHarness.Ok(await schedules.CreateAsync(Request("rate(1 hour)", r => r.MissedRunPolicy = MissedRunPolicy.RunOnce)));
        engine.Time.Advance(TimeSpan.FromMinutes(50));

        await schedules.CatchUpAsync((await schedules.GetAsync(Name))!);

        Assert.Empty(await schedules.HistoryAsync(Name));
        Assert.Null((await schedules.GetAsync(Name))!.LastRunNote);
    }

    [Fact]
    public async Task FireAsync_SkipsTheRun_WhileThePreviousJobIsNotFinal_WhenOverlapPolicyIsSkip()
    {
        await using var scheduling = await ScheduleEngine.CreateAsync();
        var (engine, schedules) = (scheduling.Engine, scheduling.Schedules);
        EngineHarness.Ok(await schedules.CreateAsync(Request(configure: r => r.OverlapPolicy = OverlapPolicy.Skip)));
        var first = await FireAfterAsync(scheduling, TimeSpan.FromMinutes(5));

        var skipped = await FireAfterAsync(scheduling, TimeSpan.FromMinutes(5));

        Assert.Null(skipped);
        Assert.Contains($"Skipped the run at 2026-01-15 09:10:00Z: job {first!.Name} is still SUBMITTED.", (await schedules.GetAsync(Name))!.LastRunNote, StringComparison.Ordinal);

        // Once the previous job has finished, the next fire time submits again.
        await engine.DispatchUntilIdleAsync();
        Assert.Equal(JobStatus.Succeeded, (await engine.RunAsync(first.Id, 0)).Status);
        var third = await FireAfterAsync(scheduling, TimeSpan.FromMinutes(5));
        Assert.Equal(EngineHarness.Epoch.AddMinutes(15), third?.ScheduledFireTime);
        Assert.Equal([third!.Id, first.Id], (await schedules.HistoryAsync(Name)).Select(j => j.Id));
    }

    [Fact]
    public async Task FireAsync_TerminatesTheWaitingJobThenSubmits_WhenOverlapPolicyIsCancelPrevious()
    {
        await using var scheduling = await ScheduleEngine.CreateAsync();
        var (engine, schedules) = (scheduling.Engine, scheduling.Schedules);
        EngineHarness.Ok(await schedules.CreateAsync(Request(configure: r => r.OverlapPolicy = OverlapPolicy.CancelPrevious)));
        var first = await FireAfterAsync(scheduling, TimeSpan.FromMinutes(5));

        var second = await FireAfterAsync(scheduling, TimeSpan.FromMinutes(5));

        Assert.NotNull(second);
        Assert.Equal(JobStatus.Submitted, (await engine.GetJobAsync(second.Id)).Status);
        var previous = await engine.GetJobAsync(first!.Id);
        Assert.Equal((JobStatus.Failed, true), (previous.Status, previous.IsTerminated));
        Assert.Equal("Superseded by the run of schedule nightly at 2026-01-15 09:10:00Z", previous.StatusReason);
    }

    [Fact]
    public async Task FireAsync_StopsTheRunningJobThenSubmits_WhenOverlapPolicyIsCancelPrevious()
    {
        await using var scheduling = await ScheduleEngine.CreateAsync();
        var (engine, schedules) = (scheduling.Engine, scheduling.Schedules);
        EngineHarness.Ok(await schedules.CreateAsync(Request(configure: r => r.OverlapPolicy = OverlapPolicy.CancelPrevious)));
        var first = (await FireAfterAsync(scheduling, TimeSpan.FromMinutes(5)))!;
        await engine.DispatchUntilIdleAsync();
        var container = await engine.LaunchAsync(first.Id);

        var second = await FireAfterAsync(scheduling, TimeSpan.FromMinutes(5));

        Assert.NotNull(second);

        // TerminateJob hands the stop to Hangfire; run it as Hangfire would, then the completion the watcher hands over.
        await engine.Hangfire.WaitForAsync(c => c.Method == nameof(RunJob.StopAsync) && (string)c.Args[0]! == first.Id);
        await engine.Get<RunJob>().StopAsync(first.Id, 1, CancellationToken.None);
        await engine.CompleteAsync(first.Id, 1, container);
        var previous = await engine.GetJobAsync(first.Id);
        Assert.Equal((JobStatus.Failed, true), (previous.Status, previous.IsTerminated));
        Assert.Equal("Superseded by the run of schedule nightly at 2026-01-15 09:10:00Z", previous.StatusReason);
        Assert.False(engine.Docker.Default.IsRunning(container));
    }

    [Fact]
    public async Task FireAsync_SubmitsBesideTheActiveJob_WhenOverlapPolicyIsAllow()
    {
        await using var scheduling = await ScheduleEngine.CreateAsync();
        var (engine, schedules) = (scheduling.Engine, scheduling.Schedules);
        EngineHarness.Ok(await schedules.CreateAsync(Request(configure: r => r.OverlapPolicy = OverlapPolicy.Allow)));
        var first = await FireAfterAsync(scheduling, TimeSpan.FromMinutes(5));

        var second = await FireAfterAsync(scheduling, TimeSpan.FromMinutes(5));

        Assert.NotNull(second);
        Assert.Equal(JobStatus.Submitted, (await engine.GetJobAsync(first!.Id)).Status);
        Assert.Equal(2, (await schedules.HistoryAsync(Name)).Count);
    }

    [Fact]
    public async Task RunNowAsync_SubmitsTheSchedulesTarget_AtOnce()
    {
        await using var scheduling = await ScheduleEngine.CreateAsync();
        var (engine, schedules) = (scheduling.Engine, scheduling.Schedules);
        await engine.RegisterDefinitionAsync("d", vcpus: 2);
        EngineHarness.Ok(await schedules.CreateAsync(Request("cron(0 18 ? * MON-FRI *)", r =>
        {
            r.JobDefinition = "d:1";
            r.Overrides = new ScheduleOverrides { Command = ["echo", "from-schedule"] };
        })));
        engine.Time.Advance(TimeSpan.FromSeconds(90));

        var job = EngineHarness.Ok(await schedules.RunNowAsync(Name));

        var stored = await engine.GetJobAsync(job.Id);
        Assert.Equal(("nightly-20260115-090130", "q", "d", 1, 1), (stored.Name, stored.QueueName, stored.JobDefinitionName, stored.JobDefinitionRevision, stored.Vcpus));
        Assert.Equal(["echo", "from-schedule"], stored.Container.Command);
        Assert.Equal((Name, EngineHarness.Epoch.AddSeconds(90)), (stored.ScheduleName, stored.ScheduledFireTime));

        engine.Time.Advance(TimeSpan.FromSeconds(1));
        var other = EngineHarness.Ok(await schedules.RunNowAsync(Name, new ScheduleOverrides { Command = ["echo", "other"] }));
        Assert.Equal(["echo", "other"], (await engine.GetJobAsync(other.Id)).Container.Command);
    }

    [Fact]
    public async Task RunNowAsync_ReturnsNotFound_WhenTheScheduleDoesNotExist()
    {
        await using var scheduling = await ScheduleEngine.CreateAsync();

        var result = await scheduling.Schedules.RunNowAsync("missing");

        Assert.Equal(new ResourceNotFound("Schedule", "missing"), result.Error);
    }

    [Fact]
    public async Task FireAsync_SubmitsNothing_WhileTheScheduleIsPaused()
    {
        await using var scheduling = await ScheduleEngine.CreateAsync();
        var (engine, schedules) = (scheduling.Engine, scheduling.Schedules);
        EngineHarness.Ok(await schedules.CreateAsync(Request()));
        Assert.Contains(scheduling.RecurringJobs(), j => j.Id == ScheduleTriggers.JobId(Name));

        EngineHarness.Ok(await schedules.SetEnabledAsync(Name, false));
        engine.Time.Advance(TimeSpan.FromMinutes(5));
        var whilePaused = EngineHarness.Ok(await schedules.FireAsync(Name));

        Assert.Null(whilePaused);
        Assert.DoesNotContain(scheduling.RecurringJobs(), j => j.Id == ScheduleTriggers.JobId(Name));

        // Resuming registers the trigger again and does not catch up on the paused runs.
        engine.Time.Advance(TimeSpan.FromMinutes(2));
        EngineHarness.Ok(await schedules.SetEnabledAsync(Name, true));
        Assert.Contains(scheduling.RecurringJobs(), j => j.Id == ScheduleTriggers.JobId(Name));
        await schedules.CatchUpAsync((await schedules.GetAsync(Name))!);
        engine.Time.Advance(TimeSpan.FromMinutes(3));
        var resumed = EngineHarness.Ok(await schedules.FireAsync(Name));
        Assert.Equal([EngineHarness.Epoch.AddMinutes(10)], (await schedules.HistoryAsync(Name)).Select(j => j.ScheduledFireTime));
        Assert.NotNull(resumed);
    }

    [Fact]
    public async Task DeleteAsync_RemovesTheScheduleAndItsTrigger_AndKeepsItsJobs()
    {
        await using var scheduling = await ScheduleEngine.CreateAsync();
        var (engine, schedules) = (scheduling.Engine, scheduling.Schedules);
        EngineHarness.Ok(await schedules.CreateAsync(Request()));
        var job = EngineHarness.Ok(await schedules.RunNowAsync(Name));

        Assert.True(EngineHarness.Ok(await schedules.DeleteAsync(Name)));

        Assert.Empty(await schedules.ListAsync());
        Assert.DoesNotContain(scheduling.RecurringJobs(), j => j.Id == ScheduleTriggers.JobId(Name));
        Assert.Equal(Name, (await engine.GetJobAsync(job.Id)).ScheduleName);
        engine.Time.Advance(TimeSpan.FromMinutes(5));
        Assert.Null(EngineHarness.Ok(await schedules.FireAsync(Name)));
    }

    [Fact]
    public async Task UpdateAsync_ChangesWhenItFires_AndKeepsTheName()
    {
        await using var scheduling = await ScheduleEngine.CreateAsync();
        var (engine, schedules) = (scheduling.Engine, scheduling.Schedules);
        EngineHarness.Ok(await schedules.CreateAsync(Request()));

        var updated = EngineHarness.Ok(await schedules.UpdateAsync(Name, Request("rate(1 hour)", r => r.Name = "ignored")));

        Assert.Equal((Name, "rate(1 hour)"), (updated.Name, updated.Expression));
        engine.Time.Advance(TimeSpan.FromMinutes(5));
        Assert.Null(EngineHarness.Ok(await schedules.FireAsync(Name)));
        Assert.IsType<ValidationFailed>((await schedules.UpdateAsync(Name, Request("rate(1 hours)"))).Error);
        Assert.IsType<ResourceNotFound>((await schedules.UpdateAsync("missing", Request())).Error);
    }

    [Theory]
    [InlineData("nightly-{{time}}", "nightly-20260115-090500")]
    [InlineData("{{time}}-report", "20260115-090500-report")]
    [InlineData("a{{time}}b{{time}}", "a20260115-090500b20260115-090500")]
    [InlineData("fixed-name", "fixed-name")]
    public async Task FireAsync_PutsTheFireTimeInTheJobName_WhereTheTemplateSaysTime(string template, string expected)
    {
        await using var scheduling = await ScheduleEngine.CreateAsync();
        var (engine, schedules) = (scheduling.Engine, scheduling.Schedules);
        EngineHarness.Ok(await schedules.CreateAsync(Request(configure: r => r.JobName = template)));

        var job = await FireAfterAsync(scheduling, TimeSpan.FromMinutes(5));

        Assert.Equal(expected, job?.Name);
    }

    [Fact]
    public async Task FireCatchUpAndRunNow_RecordTheScheduleAndFireTime_OnEveryJob()
    {
        await using var scheduling = await ScheduleEngine.CreateAsync();
        var (engine, schedules) = (scheduling.Engine, scheduling.Schedules);
        EngineHarness.Ok(await schedules.CreateAsync(Request(configure: r => r.MissedRunPolicy = MissedRunPolicy.RunOnce)));
        engine.Time.Advance(TimeSpan.FromMinutes(12));
        await schedules.CatchUpAsync((await schedules.GetAsync(Name))!);
        var ids = (await schedules.HistoryAsync(Name)).Select(j => j.Id).ToList();
        ids.Add((await FireAfterAsync(scheduling, TimeSpan.FromMinutes(3)))!.Id);
        engine.Time.Advance(TimeSpan.FromSeconds(5));
        ids.Add(EngineHarness.Ok(await schedules.RunNowAsync(Name)).Id);
        var unrelated = await engine.SubmitAsync("q", "d", "by-hand");

        var jobs = await Task.WhenAll(ids.Select(engine.GetJobAsync));

        Assert.Equal(
            [EngineHarness.Epoch.AddMinutes(10), EngineHarness.Epoch.AddMinutes(15), EngineHarness.Epoch.AddMinutes(15).AddSeconds(5)],
            jobs.Select(j => j.ScheduledFireTime));
        Assert.All(jobs, j => Assert.Equal(Name, j.ScheduleName));
        Assert.Equal((null, null), ((await engine.GetJobAsync(unrelated.Id)).ScheduleName, (await engine.GetJobAsync(unrelated.Id)).ScheduledFireTime));
    }

    private static async Task<Job?> FireAfterAsync(ScheduleEngine scheduling, TimeSpan wait)
    {
        scheduling.Engine.Time.Advance(wait);
        return EngineHarness.Ok(await scheduling.Schedules.FireAsync(Name));
    }

    private static void Break(ScheduleRequest r, string scenario)
    {
        switch (scenario)
        {
            case "no name": r.Name = null; break;
            case "bad name": r.Name = "night ly"; break;
            case "long name": r.Name = new string('n', 129); break;
            case "bad expression": r.Expression = "cron(0 10 * * * *)"; break;
            case "no expression": r.Expression = " "; break;
            case "unknown time zone": r.TimeZone = "Mars/Olympus_Mons"; break;
            case "end before start": (r.StartDate, r.EndDate) = (EngineHarness.Epoch.AddDays(2), EngineHarness.Epoch.AddDays(1)); break;
            case "end equals start": (r.StartDate, r.EndDate) = (EngineHarness.Epoch.AddDays(2), EngineHarness.Epoch.AddDays(2)); break;
            case "job name starts badly": r.JobName = "-{{time}}"; break;
            case "job name has spaces": r.JobName = "nightly {{time}}"; break;
            case "no job name": r.JobName = null; break;
            case "no queue": r.JobQueue = null; break;
            case "unknown queue": r.JobQueue = "nope"; break;
            case "no definition": r.JobDefinition = ""; break;
            case "unknown definition": r.JobDefinition = "nope"; break;
            case "bad attempts": r.RetryStrategy = new RetryStrategy { Attempts = 11 }; break;
            default: throw new ArgumentOutOfRangeException(nameof(scenario), scenario, null);
        }
    }
}
