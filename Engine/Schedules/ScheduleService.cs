using BatchPortal.Engine.Access;
using System.Globalization;
using BatchPortal.Engine.Domain;
using BatchPortal.Engine.Jobs;
using BatchPortal.Engine.Notifications;
using BatchPortal.Engine.Resources;
using BatchPortal.Engine.Storage;
using Microsoft.EntityFrameworkCore;

namespace BatchPortal.Engine.Schedules;

/// <summary>What a schedule is asked to be: the form's and the API's input.</summary>
public sealed class ScheduleRequest
{
    public string? Name { get; set; }

    public string? Description { get; set; }

    public string? Expression { get; set; }

    public string? TimeZone { get; set; } = "UTC";

    public DateTimeOffset? StartDate { get; set; }

    public DateTimeOffset? EndDate { get; set; }

    public bool Enabled { get; set; } = true;

    public string? JobQueue { get; set; }

    public string? JobDefinition { get; set; }

    public string? JobName { get; set; }

    public Dictionary<string, string> Parameters { get; set; } = [];

    public ScheduleOverrides? Overrides { get; set; }

    public RetryStrategy? RetryStrategy { get; set; }

    public JobTimeout? Timeout { get; set; }

    public MissedRunPolicy MissedRunPolicy { get; set; } = MissedRunPolicy.Skip;

    public OverlapPolicy OverlapPolicy { get; set; } = OverlapPolicy.Allow;
}

/// <summary>The next fire times of an expression, in words, with daylight-saving warnings.</summary>
public sealed record SchedulePreview(string Description, IReadOnlyList<DateTimeOffset> NextFireTimes, IReadOnlyList<string> Warnings);

/// <summary>Schedules: the rules, the writes, and what firing one does.</summary>
public sealed class ScheduleService(
    IDbContextFactory<BatchDbContext> dbFactory,
    JobService jobService,
    JobQueries jobs,
    JobDefinitionService definitions,
    ScheduleTriggers triggers,
    IJobEventPublisher events,
    AuditTrail audit,
    TimeProvider time)
{
    public const string TimePlaceholder = "{{time}}";

    public async Task<IReadOnlyList<Schedule>> ListAsync(CancellationToken ct = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        return await db.Schedules.AsNoTracking().OrderBy(s => s.Name).ToListAsync(ct);
    }

    public async Task<Schedule?> GetAsync(string name, CancellationToken ct = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        return await db.Schedules.AsNoTracking().FirstOrDefaultAsync(s => s.Name == name, ct);
    }

    /// <summary>Parses a time zone id (IANA, e.g. Europe/Berlin).</summary>
    public static Result<TimeZoneInfo> Zone(string? id)
    {
        if (string.IsNullOrWhiteSpace(id))
        {
            return TimeZoneInfo.Utc;
        }

        try
        {
            return TimeZoneInfo.FindSystemTimeZoneById(id.Trim());
        }
        catch (Exception ex) when (ex is TimeZoneNotFoundException or InvalidTimeZoneException)
        {
            return new ValidationFailed("timeZone", $"Time zone '{id}' is not known; use an IANA name such as UTC, Europe/Berlin or America/New_York.");
        }
    }

    /// <summary>The next <paramref name="count"/> fire times from now, as the form shows them while the expression is typed.</summary>
    public Result<SchedulePreview> Preview(string? expression, string? timeZone, DateTimeOffset? startDate, int count = 10)
    {
        var parsed = ScheduleExpression.Parse(expression);
        var zone = Zone(timeZone);
        var errors = new List<FieldError>();
        if (parsed.Error is ValidationFailed pe)
        {
            errors.AddRange(pe.Errors);
        }

        if (zone.Error is ValidationFailed ze)
        {
            errors.AddRange(ze.Errors);
        }

        if (errors.Count > 0)
        {
            return new ValidationFailed(errors);
        }

        var now = time.GetUtcNow();
        var anchor = startDate ?? now;
        var from = startDate is { } s && s > now ? s.AddTicks(-1) : now;
        var next = parsed.Value!.Next(count, from, zone.Value!, anchor);
        var warnings = parsed.Value is CronScheduleExpression cron && next.Count > 0
            ? cron.DaylightSavingWarnings(from, next[^1], zone.Value!)
            : [];
        var zoneText = zone.Value!.Id == "UTC" ? "UTC" : zone.Value.Id;
        return new SchedulePreview($"{parsed.Value.Describe()}, {zoneText}", next, warnings);
    }

    public async Task<List<FieldError>> ValidateAsync(ScheduleRequest r, bool isNew, CancellationToken ct = default)
    {
        var errors = new List<FieldError>();
        if (Names.CheckResourceName(r.Name, "Schedule name") is { } nameError)
        {
            errors.Add(new("name", nameError));
        }

        if (r.Description?.Length > 512)
        {
            errors.Add(new("description", $"Description must be at most 512 characters (it has {r.Description.Length})."));
        }

        if (ScheduleExpression.Parse(r.Expression).Error is ValidationFailed expressionError)
        {
            errors.AddRange(expressionError.Errors);
        }

        if (Zone(r.TimeZone).Error is ValidationFailed zoneError)
        {
            errors.AddRange(zoneError.Errors);
        }

        if (r.StartDate is { } start && r.EndDate is { } end && end <= start)
        {
            errors.Add(new("endDate", $"End date ({end:u}) must be after the start date ({start:u})."));
        }

        var template = r.JobName ?? string.Empty;
        if (Names.CheckJobName(template.Replace(TimePlaceholder, "20260101-000000", StringComparison.Ordinal)) is { } jobNameError)
        {
            errors.Add(new("jobName", $"{jobNameError} ({TimePlaceholder} may stand for the fire time.)"));
        }

        await using var db = await dbFactory.CreateDbContextAsync(ct);
        if (string.IsNullOrWhiteSpace(r.JobQueue))
        {
            errors.Add(new("jobQueue", "Job queue is required."));
        }
        else if (!await db.JobQueues.AnyAsync(q => q.Name == Arns.NameFrom(r.JobQueue, "job-queue"), ct))
        {
            errors.Add(new("jobQueue", $"Job queue {r.JobQueue} does not exist."));
        }

        var definition = await definitions.ResolveAsync(r.JobDefinition, ct);
        if (definition.Error is { } definitionError)
        {
            errors.Add(new("jobDefinition", definitionError.Message));
        }
        else if (definition.Value!.ContainerProperties.EffectiveMemoryMiB < JobService.MinMemoryMiB && (r.Overrides?.Memory ?? 0) < JobService.MinMemoryMiB)
        {
            // Each fire would be refused: every job states its memory (JobService).
            errors.Add(new("overrides.memory", $"Memory is required: job definition {definition.Value.Name}:{definition.Value.Revision} gives none, so give the jobs' memory (MiB, at least {JobService.MinMemoryMiB}) here."));
        }

        if (r.Overrides is { } o)
        {
            var probe = new ContainerProperties { Command = o.Command ?? [], Environment = o.Environment ?? [], Vcpus = o.Vcpus, Memory = o.Memory };
            JobDefinitionService.ValidateContainer(probe, "overrides", errors, requireImage: false);
        }

        JobDefinitionService.ValidateRetryStrategy(r.RetryStrategy, errors);
        JobDefinitionService.ValidateTimeout(r.Timeout, errors);
        if (isNew && r.Name is not null && await db.Schedules.AnyAsync(s => s.Name == r.Name, ct))
        {
            errors.Add(new("name", $"A schedule named {r.Name} already exists."));
        }

        return errors;
    }

    public async Task<Result<Schedule>> CreateAsync(ScheduleRequest r, Actor? by = null, CancellationToken ct = default)
    {
        if (AccessPolicy.Refuse(by, Permission.ManageSchedules, "CreateSchedule") is { } refused)
        {
            return refused;
        }

        var result = await CreateUnauditedAsync(r, ct);
        if (result.IsSuccess)
        {
            await audit.RecordAsync(by, "CreateSchedule", r.Name ?? string.Empty, r.Expression, ct);
        }

        return result;
    }

    private async Task<Result<Schedule>> CreateUnauditedAsync(ScheduleRequest r, CancellationToken ct)
    {
        var errors = await ValidateAsync(r, isNew: true, ct);
        if (errors.Count > 0)
        {
            return new ValidationFailed(errors);
        }

        var schedule = new Schedule
        {
            Name = r.Name!,
            Expression = r.Expression!.Trim(),
            JobQueue = Arns.NameFrom(r.JobQueue!, "job-queue"),
            JobDefinition = Arns.NameFrom(r.JobDefinition!, "job-definition"),
            JobName = r.JobName!,
            CreatedAt = time.GetUtcNow(),
        };
        Apply(schedule, r);
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        db.Schedules.Add(schedule);
        try
        {
            await db.SaveChangesAsync(ct);
        }
        catch (DbUpdateException)
        {
            return new ValidationFailed("name", $"A schedule named {schedule.Name} already exists.");
        }

        triggers.Register(schedule);
        await events.PublishAsync(new ResourceChanged("schedule", schedule.Name));
        return schedule;
    }

    public async Task<Result<Schedule>> UpdateAsync(string name, ScheduleRequest r, Actor? by = null, CancellationToken ct = default)
    {
        if (AccessPolicy.Refuse(by, Permission.ManageSchedules, "UpdateSchedule") is { } refused)
        {
            return refused;
        }

        var result = await UpdateUnauditedAsync(name, r, ct);
        if (result.IsSuccess)
        {
            await audit.RecordAsync(by, "UpdateSchedule", name, r.Expression, ct);
        }

        return result;
    }

    private Task<Result<Schedule>> UpdateUnauditedAsync(string name, ScheduleRequest r, CancellationToken ct) =>
        OnConflict.RetryAsync(() => UpdateOnceAsync(name, r, ct));

    private async Task<Result<Schedule>> UpdateOnceAsync(string name, ScheduleRequest r, CancellationToken ct)
    {
        r.Name = name;
        var errors = await ValidateAsync(r, isNew: false, ct);
        if (errors.Count > 0)
        {
            return new ValidationFailed(errors);
        }

        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var schedule = await db.Schedules.FirstOrDefaultAsync(s => s.Name == name, ct);
        if (schedule is null)
        {
            return new ResourceNotFound("Schedule", name);
        }

        schedule.Expression = r.Expression!.Trim();
        schedule.JobQueue = Arns.NameFrom(r.JobQueue!, "job-queue");
        schedule.JobDefinition = Arns.NameFrom(r.JobDefinition!, "job-definition");
        schedule.JobName = r.JobName!;
        Apply(schedule, r);
        await db.SaveChangesAsync(ct);
        triggers.Register(schedule);
        await events.PublishAsync(new ResourceChanged("schedule", schedule.Name));
        return schedule;
    }

    public async Task<Result<Schedule>> SetEnabledAsync(string name, bool enabled, Actor? by = null, CancellationToken ct = default)
    {
        if (AccessPolicy.Refuse(by, Permission.PauseSchedule, "UpdateSchedule") is { } refused)
        {
            return refused;
        }

        var result = await SetEnabledUnauditedAsync(name, enabled, ct);
        if (result.IsSuccess)
        {
            await audit.RecordAsync(by, "UpdateSchedule", name, enabled ? "enabled" : "paused", ct);
        }

        return result;
    }

    private Task<Result<Schedule>> SetEnabledUnauditedAsync(string name, bool enabled, CancellationToken ct) =>
        OnConflict.RetryAsync(() => SetEnabledOnceAsync(name, enabled, ct));

    private async Task<Result<Schedule>> SetEnabledOnceAsync(string name, bool enabled, CancellationToken ct)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var schedule = await db.Schedules.FirstOrDefaultAsync(s => s.Name == name, ct);
        if (schedule is null)
        {
            return new ResourceNotFound("Schedule", name);
        }

        schedule.Enabled = enabled;
        if (enabled)
        {
            // Resuming does not catch up on the runs a pause skipped.
            schedule.LastFireTime = time.GetUtcNow();
        }

        await db.SaveChangesAsync(ct);
        triggers.Register(schedule);
        await events.PublishAsync(new ResourceChanged("schedule", name));
        return schedule;
    }

    public async Task<Result<bool>> DeleteAsync(string name, Actor? by = null, CancellationToken ct = default)
    {
        if (AccessPolicy.Refuse(by, Permission.ManageSchedules, "DeleteSchedule") is { } refused)
        {
            return refused;
        }

        var result = await DeleteUnauditedAsync(name, ct);
        if (result.IsSuccess)
        {
            await audit.RecordAsync(by, "DeleteSchedule", name, null, ct);
        }

        return result;
    }

    private Task<Result<bool>> DeleteUnauditedAsync(string name, CancellationToken ct) =>
        OnConflict.RetryAsync(() => DeleteOnceAsync(name, ct));

    private async Task<Result<bool>> DeleteOnceAsync(string name, CancellationToken ct)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var schedule = await db.Schedules.FirstOrDefaultAsync(s => s.Name == name, ct);
        if (schedule is null)
        {
            return new ResourceNotFound("Schedule", name);
        }

        db.Schedules.Remove(schedule);
        await db.SaveChangesAsync(ct);
        triggers.Remove(name);
        await events.PublishAsync(new ResourceChanged("schedule", name));
        return true;
    }

    /// <summary>The jobs a schedule submitted, newest fire time first.</summary>
    public Task<IReadOnlyList<Job>> HistoryAsync(string name, int limit = 100, CancellationToken ct = default) =>
        jobs.OfScheduleAsync(name, limit, ct);

    /// <summary>Submits the schedule's job now, optionally with other container overrides.</summary>
    public async Task<Result<Job>> RunNowAsync(string name, ScheduleOverrides? overrides = null, Actor? by = null, CancellationToken ct = default)
    {
        if (AccessPolicy.Refuse(by, Permission.RunSchedule, "RunSchedule") is { } refused)
        {
            return refused;
        }

        var result = await RunNowUnauditedAsync(name, overrides, ct);
        if (result.IsSuccess)
        {
            await audit.RecordAsync(by, "RunSchedule", name, result.Value!.Id, ct);
        }

        return result;
    }

    private async Task<Result<Job>> RunNowUnauditedAsync(string name, ScheduleOverrides? overrides, CancellationToken ct)
    {
        var schedule = await GetAsync(name, ct);
        if (schedule is null)
        {
            return new ResourceNotFound("Schedule", name);
        }

        return await SubmitAsync(schedule, time.GetUtcNow(), overrides ?? schedule.Overrides, ct);
    }

    /// <summary>
    /// What a trigger does: finds the fire time it stands for, applies the overlap policy, and submits at most one job
    /// for that fire time (the store's unique index holds even across restarts).
    /// </summary>
    public async Task<Result<Job?>> FireAsync(string name, CancellationToken ct = default)
    {
        var schedule = await GetAsync(name, ct);
        if (schedule is not { Enabled: true })
        {
            return (Job?)null;
        }

        var now = time.GetUtcNow();
        var expression = ScheduleExpression.Parse(schedule.Expression).Value!;
        var zone = Zone(schedule.TimeZone).Value!;

        // The trigger may run more often than the schedule (rate(7 minutes) checks every minute) or a little late.
        var fireTime = expression.Latest(now.AddMinutes(-2), now, zone, schedule.Anchor);
        if (fireTime is not { } t || (schedule.LastFireTime is { } last && t <= last) || !Within(schedule, t))
        {
            return (Job?)null;
        }

        return await FireAtAsync(schedule, t, ct);
    }

    /// <summary>At start: the fire times missed while the portal was down, handled by the schedule's missed-run policy.</summary>
    /// <summary>
    /// At start: every schedule gets its recurring job again, and the runs it missed while the portal was down go through
    /// its missed-run policy.
    /// </summary>
    public async Task RegisterAllAsync(CancellationToken ct = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        foreach (var schedule in await db.Schedules.AsNoTracking().ToListAsync(ct))
        {
            triggers.Register(schedule);
            await CatchUpAsync(schedule, ct);
        }
    }

    public async Task CatchUpAsync(Schedule schedule, CancellationToken ct = default)
    {
        if (!schedule.Enabled)
        {
            return;
        }

        var now = time.GetUtcNow();
        var expression = ScheduleExpression.Parse(schedule.Expression).Value!;
        var zone = Zone(schedule.TimeZone).Value!;
        var since = schedule.LastFireTime ?? schedule.CreatedAt;
        var missed = expression.Latest(since, now.AddSeconds(-30), zone, schedule.Anchor);
        if (missed is not { } t || !Within(schedule, t))
        {
            return;
        }

        if (schedule.MissedRunPolicy == MissedRunPolicy.RunOnce)
        {
            await FireAtAsync(schedule, t, ct);
        }
        else
        {
            await NoteAsync(schedule.Name, t, $"Skipped the runs missed while the portal was down (the latest was {t:u}).", ct);
        }
    }

    private async Task<Result<Job?>> FireAtAsync(Schedule schedule, DateTimeOffset fireTime, CancellationToken ct)
    {
        var active = (await HistoryAsync(schedule.Name, 20, ct)).Where(j => !j.Status.IsFinal()).ToList();
        if (active.Count > 0 && schedule.OverlapPolicy == OverlapPolicy.Skip)
        {
            await NoteAsync(schedule.Name, fireTime, $"Skipped the run at {fireTime:u}: job {active[0].Name} is still {active[0].Status.ToWire()}.", ct);
            return (Job?)null;
        }

        if (schedule.OverlapPolicy == OverlapPolicy.CancelPrevious)
        {
            foreach (var job in active)
            {
                await jobService.TerminateAsync(job.Id, $"Superseded by the run of schedule {schedule.Name} at {fireTime:u}", Actor.Schedule(schedule.Name), ct);
            }
        }

        var submitted = await SubmitAsync(schedule, fireTime, schedule.Overrides, ct);
        return submitted.Error is { } error ? Result<Job?>.Fail(error) : submitted.Value;
    }

    private async Task<Result<Job>> SubmitAsync(Schedule schedule, DateTimeOffset fireTime, ScheduleOverrides? overrides, CancellationToken ct)
    {
        var request = new SubmitJobRequest
        {
            JobName = schedule.JobName.Replace(TimePlaceholder, fireTime.UtcDateTime.ToString("yyyyMMdd-HHmmss", CultureInfo.InvariantCulture), StringComparison.Ordinal),
            JobQueue = schedule.JobQueue,
            JobDefinition = schedule.JobDefinition,
            Parameters = schedule.Parameters,
            RetryStrategy = schedule.RetryStrategy,
            Timeout = schedule.Timeout,
            ContainerOverrides = overrides is null ? null : new ContainerOverrides
            {
                Command = overrides.Command,
                Environment = overrides.Environment,
                Vcpus = overrides.Vcpus,
                Memory = overrides.Memory,
            },
        };
        var result = await jobService.SubmitAsync(request, new SubmissionOrigin(schedule.Name, fireTime), null, ct);
        await NoteAsync(
            schedule.Name,
            fireTime,
            result.Error is { } error ? $"The run at {fireTime:u} was not submitted: {error.Message}" : $"Submitted job {result.Value!.Name} for {fireTime:u}.",
            ct);
        return result;
    }

    private async Task NoteAsync(string name, DateTimeOffset fireTime, string note, CancellationToken ct)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var schedule = await db.Schedules.FirstOrDefaultAsync(s => s.Name == name, ct);
        if (schedule is null)
        {
            return;
        }

        if (schedule.LastFireTime is null || fireTime > schedule.LastFireTime)
        {
            schedule.LastFireTime = fireTime;
        }

        schedule.LastRunNote = note;
        await db.SaveChangesAsync(ct);
        await events.PublishAsync(new ResourceChanged("schedule", name));
    }

    private static bool Within(Schedule schedule, DateTimeOffset t) =>
        (schedule.StartDate is null || t >= schedule.StartDate) && (schedule.EndDate is null || t <= schedule.EndDate);

    private static void Apply(Schedule schedule, ScheduleRequest r)
    {
        schedule.Description = string.IsNullOrWhiteSpace(r.Description) ? null : r.Description.Trim();
        schedule.TimeZone = string.IsNullOrWhiteSpace(r.TimeZone) ? "UTC" : r.TimeZone.Trim();
        schedule.StartDate = r.StartDate;
        schedule.EndDate = r.EndDate;
        schedule.Enabled = r.Enabled;
        schedule.Parameters = r.Parameters;
        schedule.Overrides = r.Overrides;
        schedule.RetryStrategy = r.RetryStrategy;
        schedule.Timeout = r.Timeout;
        schedule.MissedRunPolicy = r.MissedRunPolicy;
        schedule.OverlapPolicy = r.OverlapPolicy;
    }
}
