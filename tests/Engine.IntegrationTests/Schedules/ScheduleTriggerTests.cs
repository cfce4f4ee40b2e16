using BatchPortal.Engine.Domain;
using BatchPortal.Engine.IntegrationTests.Support;
using BatchPortal.Engine.Schedules;
using Hangfire;
using Hangfire.Storage.Monitoring;
using Microsoft.Extensions.DependencyInjection;

namespace BatchPortal.Engine.IntegrationTests.Schedules;

/// <summary>A schedule's Hangfire recurring job submitting real jobs that run to the end on Docker.</summary>
[Collection(DockerCollection.Name)]
[Trait("Category", "Docker")]
public class ScheduleTriggerTests(EngineHostFixture engine)
{
    /// <summary>A minute boundary, the run's dispatch and its container: what a schedule's first job may take.</summary>
    private static readonly TimeSpan FirstRunDeadline = TimeSpan.FromSeconds(90);

    private ScheduleService Schedules => engine.Services.GetRequiredService<ScheduleService>();

    [Fact]
    public async Task TriggerJob_RunsTheScheduleOnceForItsFireTime_AndTheJobSucceeds()
    {
        var name = $"it-trigger-{Guid.NewGuid():N}"[..20];
        await engine.RegisterAsync(name, ["echo", "scheduled"]);
        await CreateAsync(name, "* * * * *");
        var recurring = (IRecurringJobManagerV2)engine.Services.GetRequiredService<IRecurringJobManager>();
        try
        {
            // The recurring job Hangfire keeps for the schedule, run at once rather than on its next minute.
            await WaitForHangfireAsync(recurring.TriggerJob(ScheduleTriggers.JobId(name)));

            // Newest fire time first; made just before a minute boundary, the schedule may also have fired by itself.
            var submitted = (await Schedules.HistoryAsync(name))[^1];

            var job = await engine.WaitForFinalAsync(submitted.Id);

            Assert.True(job.Status == JobStatus.Succeeded, $"{job.Status}: {job.StatusReason}");
            Assert.Equal((name, EngineHostFixture.Queue, name), (job.ScheduleName, job.QueueName, job.JobDefinitionName));
            var fireTime = job.ScheduledFireTime!.Value;
            Assert.Equal(0, fireTime.Second + fireTime.Millisecond);
            Assert.Equal($"tick-{fireTime.UtcDateTime:yyyyMMdd-HHmmss}", job.Name);
            Assert.Contains("scheduled", await engine.LogLinesAsync(job.Id, 1));

            // Triggered again: nothing new for that fire time (a new minute may have begun, and may run once).
            await WaitForHangfireAsync(recurring.TriggerJob(ScheduleTriggers.JobId(name)));
            Assert.Single(await Schedules.HistoryAsync(name), j => j.ScheduledFireTime == fireTime);
        }
        finally
        {
            EngineHostFixture.Ok(await Schedules.DeleteAsync(name));
        }
    }

    [Fact]
    public async Task RecurringJob_FiresOnTheNextMinute_AndTheJobSucceeds()
    {
        var name = $"it-minute-{Guid.NewGuid():N}"[..20];
        await engine.RegisterAsync(name, ["echo", "tick"]);
        var created = await CreateAsync(name, "rate(1 minute)");
        try
        {
            // Hangfire's own clock: no trigger by hand, only its recurring job on a minute boundary.
            var submitted = await WaitForFirstRunAsync(name);
            var job = await engine.WaitForFinalAsync(submitted.Id);

            Assert.True(job.Status == JobStatus.Succeeded, $"{job.Status}: {job.StatusReason}");
            Assert.Equal(name, job.ScheduleName);
            Assert.True(job.ScheduledFireTime > created.CreatedAt.AddMinutes(-1), $"fire time {job.ScheduledFireTime:O}, created {created.CreatedAt:O}");
            Assert.Equal(0, job.ScheduledFireTime!.Value.Second);
            var schedule = await Schedules.GetAsync(name);
            Assert.Contains($"Submitted job {job.Name}", schedule!.LastRunNote, StringComparison.Ordinal);
        }
        finally
        {
            EngineHostFixture.Ok(await Schedules.DeleteAsync(name));
        }
    }

    private async Task<Schedule> CreateAsync(string name, string expression) =>
        EngineHostFixture.Ok(await Schedules.CreateAsync(new ScheduleRequest
        {
            Name = name,
            Expression = expression,
            JobQueue = EngineHostFixture.Queue,
            JobDefinition = name,
            JobName = "tick-{{time}}",
        }));

    private async Task<Job> WaitForFirstRunAsync(string name)
    {
        using var deadline = new CancellationTokenSource(FirstRunDeadline);
        while (!deadline.IsCancellationRequested)
        {
            if (await Schedules.HistoryAsync(name) is [.., var job])
            {
                return job;
            }

            await Task.Delay(TimeSpan.FromMilliseconds(200), CancellationToken.None);
        }

        Assert.Fail($"Schedule {name} submitted nothing within {FirstRunDeadline.TotalSeconds:0} s.{Environment.NewLine}{engine.RecentLog()}");
        return null!;
    }

    /// <summary>Waits until Hangfire has run the background job <paramref name="jobId"/> to the end.</summary>
    private async Task WaitForHangfireAsync(string jobId)
    {
        var monitoring = engine.Services.GetRequiredService<JobStorage>().GetMonitoringApi();
        using var deadline = new CancellationTokenSource(EngineHostFixture.Deadline);
        StateHistoryDto? state = null;
        while (!deadline.IsCancellationRequested)
        {
            state = monitoring.JobDetails(jobId)?.History.FirstOrDefault();
            if (state?.StateName is "Succeeded")
            {
                return;
            }

            Assert.False(state?.StateName is "Failed" or "Deleted", $"Hangfire job {jobId} is {state?.StateName}: {state?.Reason}");
            await Task.Delay(TimeSpan.FromMilliseconds(50), CancellationToken.None);
        }

        Assert.Fail($"Hangfire job {jobId} did not succeed within {EngineHostFixture.Deadline.TotalSeconds:0} s; it is {state?.StateName}.");
    }
}
