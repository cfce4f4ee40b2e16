using BatchPortal.Engine.Domain;
using Hangfire;

namespace BatchPortal.Engine.Schedules;

/// <summary>
/// One Hangfire recurring job per enabled schedule. Hangfire's storage is in memory, so the database stays the source of
/// truth: the engine's startup registers every schedule again (<see cref="ScheduleService.RegisterAllAsync"/>).
/// </summary>
public sealed class ScheduleTriggers(IRecurringJobManager recurring)
{
    public static string JobId(string name) => $"schedule:{name}";

    public void Register(Schedule schedule)
    {
        if (!schedule.Enabled)
        {
            Remove(schedule.Name);
            return;
        }

        var expression = ScheduleExpression.Parse(schedule.Expression).Value!;
        var zone = ScheduleService.Zone(schedule.TimeZone).Value!;
        var name = schedule.Name;
        recurring.AddOrUpdate<ScheduleRunner>(
            JobId(name),
            x => x.FireAsync(name, CancellationToken.None),
            expression.TriggerCron(schedule.Anchor, zone),
            new RecurringJobOptions { TimeZone = expression is RateExpression ? TimeZoneInfo.Utc : zone });
    }

    public void Remove(string name) => recurring.RemoveIfExists(JobId(name));
}

/// <summary>The Hangfire entry point of a schedule's recurring job: the engine decides what the fire means.</summary>
public sealed class ScheduleRunner(ScheduleService schedules)
{
    [AutomaticRetry(Attempts = 0, OnAttemptsExceeded = AttemptsExceededAction.Delete)]
    [DisableConcurrentExecution(60)]
    public async Task FireAsync(string name, CancellationToken ct) => await schedules.FireAsync(name, ct);
}
