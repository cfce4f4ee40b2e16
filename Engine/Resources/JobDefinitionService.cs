using BatchPortal.Engine.Access;
using System.Text.RegularExpressions;
using BatchPortal.Engine.Domain;
using BatchPortal.Engine.Notifications;
using BatchPortal.Engine.Storage;
using Microsoft.EntityFrameworkCore;

namespace BatchPortal.Engine.Resources;

/// <summary>AWS's <c>RegisterJobDefinition</c> members.</summary>
public sealed class RegisterJobDefinitionRequest
{
    public string? JobDefinitionName { get; set; }

    /// <summary>Only <c>container</c> is supported.</summary>
    public string? Type { get; set; }

    public ContainerProperties? ContainerProperties { get; set; }

    public Dictionary<string, string>? Parameters { get; set; }

    public RetryStrategy? RetryStrategy { get; set; }

    public JobTimeout? Timeout { get; set; }

    public bool? PropagateTags { get; set; }

    public int? SchedulingPriority { get; set; }

    public Dictionary<string, string>? Tags { get; set; }
}

/// <summary>Job definitions and their revisions.</summary>
public sealed partial class JobDefinitionService(
    IDbContextFactory<BatchDbContext> dbFactory,
    IJobEventPublisher events,
    AuditTrail audit,
    TimeProvider time)
{
    public async Task<IReadOnlyList<JobDefinition>> ListAsync(bool includeInactive = false, CancellationToken ct = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var query = db.JobDefinitions.AsNoTracking();
        if (!includeInactive)
        {
            query = query.Where(d => d.Status == JobDefinitionStatus.Active);
        }

        return await query.OrderBy(d => d.Name).ThenByDescending(d => d.Revision).ToListAsync(ct);
    }

    public async Task<IReadOnlyList<JobDefinition>> RevisionsAsync(string name, CancellationToken ct = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        return await db.JobDefinitions.AsNoTracking().Where(d => d.Name == name).OrderByDescending(d => d.Revision).ToListAsync(ct);
    }

    /// <summary>
    /// Resolves a reference as AWS does: <c>name</c> (the latest ACTIVE revision), <c>name:revision</c>, or an ARN.
    /// </summary>
    public async Task<Result<JobDefinition>> ResolveAsync(string? reference, CancellationToken ct = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        return await ResolveAsync(db, reference, ct);
    }

    /// <summary>As <see cref="ResolveAsync(string?, CancellationToken)"/>, reading through a context the caller has open.</summary>
    internal static async Task<Result<JobDefinition>> ResolveAsync(BatchDbContext db, string? reference, CancellationToken ct = default)
    {
        if (string.IsNullOrWhiteSpace(reference))
        {
            return new ValidationFailed("jobDefinition", "Job definition is required.");
        }

        var nameAndRevision = Arns.NameFrom(reference, "job-definition");
        var colon = nameAndRevision.LastIndexOf(':');
        JobDefinition? found;
        if (colon > 0)
        {
            if (!int.TryParse(nameAndRevision[(colon + 1)..], out var revision))
            {
                return new ValidationFailed("jobDefinition", $"Job definition '{reference}' must be name, name:revision or an ARN.");
            }

            var name = nameAndRevision[..colon];
            found = await db.JobDefinitions.AsNoTracking().FirstOrDefaultAsync(d => d.Name == name && d.Revision == revision, ct);
        }
        else
        {
            found = await db.JobDefinitions.AsNoTracking()
                .Where(d => d.Name == nameAndRevision && d.Status == JobDefinitionStatus.Active)
                .OrderByDescending(d => d.Revision)
                .FirstOrDefaultAsync(ct);
        }

        return found is null ? new ResourceNotFound("Job definition", reference) : found;
    }

    public static List<FieldError> Validate(RegisterJobDefinitionRequest r)
    {
        var errors = new List<FieldError>();
        if (Names.CheckResourceName(r.JobDefinitionName, "Job definition name") is { } nameError)
        {
            errors.Add(new("jobDefinitionName", nameError));
        }

        if (!string.Equals(r.Type, "container", StringComparison.OrdinalIgnoreCase))
        {
            errors.Add(new("type", $"Job definition type must be container{(string.IsNullOrEmpty(r.Type) ? "" : $", not '{r.Type}'")}; multinode is not supported."));
        }

        if (r.ContainerProperties is not { } c)
        {
            errors.Add(new("containerProperties", "Container properties are required."));
        }
        else
        {
            ValidateContainer(c, "containerProperties", errors, requireImage: true);
        }

        ValidateRetryStrategy(r.RetryStrategy, errors);
        ValidateTimeout(r.Timeout, errors);
        if (r.SchedulingPriority is < 0 or > 9999)
        {
            errors.Add(new("schedulingPriority", $"Scheduling priority must be from 0 to 9999, not {r.SchedulingPriority}."));
        }

        foreach (var key in (r.Parameters ?? []).Keys.Where(k => string.IsNullOrWhiteSpace(k)))
        {
            errors.Add(new("parameters", "A parameter needs a name."));
        }

        ComputeEnvironmentService.ValidateTags(r.Tags, errors);
        return errors;
    }

    internal static void ValidateContainer(ContainerProperties c, string prefix, List<FieldError> errors, bool requireImage)
    {
        if (string.IsNullOrWhiteSpace(c.Image))
        {
            if (requireImage)
            {
                errors.Add(new($"{prefix}.image", "Container image is required."));
            }
        }
        else if (c.Image.Length > 255 || !ImagePattern().IsMatch(c.Image))
        {
            errors.Add(new($"{prefix}.image", $"Container image '{c.Image}' must be at most 255 letters, digits and - _ : . / # @."));
        }

        if (c.Command.Any(string.IsNullOrEmpty))
        {
            errors.Add(new($"{prefix}.command", "Command elements cannot be empty strings."));
        }

        var vcpu = c.ReadRequirement("VCPU");
        if (vcpu is not null && (!double.TryParse(vcpu, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var v) || v <= 0))
        {
            errors.Add(new($"{prefix}.vcpus", $"vCPUs must be a number greater than 0, not '{vcpu}'."));
        }
        else if (vcpu is null && c.Vcpus is < 1)
        {
            errors.Add(new($"{prefix}.vcpus", $"vCPUs must be at least 1, not {c.Vcpus}."));
        }

        var memory = c.ReadRequirement("MEMORY");
        if (memory is not null && (!int.TryParse(memory, out var m) || m < 4))
        {
            errors.Add(new($"{prefix}.memory", $"Memory must be a whole number of MiB, at least 4, not '{memory}'."));
        }
        else if (memory is null && c.Memory is < 4)
        {
            errors.Add(new($"{prefix}.memory", $"Memory must be at least 4 MiB, not {c.Memory}."));
        }

        foreach (var e in c.Environment)
        {
            if (string.IsNullOrWhiteSpace(e.Name))
            {
                errors.Add(new($"{prefix}.environment", "An environment variable needs a name."));
            }
            else if (e.Name.StartsWith("AWS_BATCH", StringComparison.Ordinal))
            {
                errors.Add(new($"{prefix}.environment", $"Environment variable {e.Name}: names that start with AWS_BATCH are reserved for the variables Batch sets."));
            }
        }

        if (c.Environment.Where(e => !string.IsNullOrWhiteSpace(e.Name)).GroupBy(e => e.Name).FirstOrDefault(g => g.Count() > 1) is { } dup)
        {
            errors.Add(new($"{prefix}.environment", $"Environment variable {dup.Key} is given more than once."));
        }

        var ulimitNames = new HashSet<string>(StringComparer.Ordinal);
        foreach (var u in c.Ulimits)
        {
            if (!UlimitNames.Contains(u.Name ?? string.Empty))
            {
                errors.Add(new($"{prefix}.ulimits", $"Ulimit '{u.Name}' is not one Docker knows: {string.Join(", ", UlimitNames)}."));
            }
            else if (!ulimitNames.Add(u.Name!))
            {
                errors.Add(new($"{prefix}.ulimits", $"Ulimit {u.Name} is given more than once."));
            }

            if (u.SoftLimit < 0 || u.HardLimit < 0 || u.SoftLimit > u.HardLimit)
            {
                errors.Add(new($"{prefix}.ulimits", $"Ulimit {u.Name}: the soft limit ({u.SoftLimit}) must be between 0 and the hard limit ({u.HardLimit})."));
            }
        }

        var volumeNames = new HashSet<string>(StringComparer.Ordinal);
        foreach (var volume in c.Volumes)
        {
            if (string.IsNullOrWhiteSpace(volume.Name) || volume.Name.Length > 255 || !VolumeName().IsMatch(volume.Name))
            {
                errors.Add(new($"{prefix}.volumes", $"Volume name '{volume.Name}' must be 1 to 255 letters, digits, hyphens and underscores."));
            }
            else if (!volumeNames.Add(volume.Name))
            {
                errors.Add(new($"{prefix}.volumes", $"Volume {volume.Name} is given more than once."));
            }

            if (volume.Host?.SourcePath is { } source && !source.StartsWith('/'))
            {
                errors.Add(new($"{prefix}.volumes", $"Volume {volume.Name}: the source path '{source}' must be an absolute path on the Docker host."));
            }
        }

        if (c.User is { Length: > 0 } user && !UserPattern().IsMatch(user))
        {
            errors.Add(new($"{prefix}.user", $"User '{user}' must be a user name or uid, optionally with :group or :gid."));
        }

        foreach (var mount in c.MountPoints)
        {
            if (!c.Volumes.Any(v => v.Name == mount.SourceVolume))
            {
                errors.Add(new($"{prefix}.mountPoints", $"Mount point source volume '{mount.SourceVolume}' is not one of the volumes."));
            }

            if (string.IsNullOrWhiteSpace(mount.ContainerPath) || !mount.ContainerPath.StartsWith('/'))
            {
                errors.Add(new($"{prefix}.mountPoints", $"Mount point container path '{mount.ContainerPath}' must be an absolute path."));
            }
        }
    }

    internal static void ValidateRetryStrategy(RetryStrategy? retry, List<FieldError> errors)
    {
        if (retry is null)
        {
            return;
        }

        if (retry.Attempts is < 1 or > 10)
        {
            errors.Add(new("retryStrategy.attempts", $"Job attempts must be from 1 to 10, not {retry.Attempts}."));
        }

        if (retry.EvaluateOnExit.Count > 5)
        {
            errors.Add(new("retryStrategy.evaluateOnExit", $"At most 5 retry conditions are allowed ({retry.EvaluateOnExit.Count} given)."));
        }

        if (retry.EvaluateOnExit.Count > 0 && retry.Attempts is null)
        {
            errors.Add(new("retryStrategy.attempts", "Retry conditions need a number of job attempts."));
        }

        foreach (var (rule, i) in retry.EvaluateOnExit.Select((r, i) => (r, i)))
        {
            var field = $"retryStrategy.evaluateOnExit[{i}]";
            if (!string.Equals(rule.Action, "RETRY", StringComparison.OrdinalIgnoreCase) && !string.Equals(rule.Action, "EXIT", StringComparison.OrdinalIgnoreCase))
            {
                errors.Add(new($"{field}.action", $"Condition {i + 1}: action must be RETRY or EXIT, not '{rule.Action}'."));
            }

            if (rule.OnExitCode is { } code && !ExitCodePattern().IsMatch(code))
            {
                errors.Add(new($"{field}.onExitCode", $"Condition {i + 1}: exit code pattern '{code}' may contain only digits and end with *."));
            }

            foreach (var (pattern, name) in new[] { (rule.OnReason, "onReason"), (rule.OnStatusReason, "onStatusReason") })
            {
                if (pattern is not null && (pattern.Length > 512 || !ReasonPattern().IsMatch(pattern)))
                {
                    errors.Add(new($"{field}.{name}", $"Condition {i + 1}: pattern '{pattern}' may contain only letters, digits, '.', ':', spaces, and a trailing *."));
                }
            }

            if (rule.OnExitCode is null && rule.OnReason is null && rule.OnStatusReason is null)
            {
                errors.Add(new(field, $"Condition {i + 1} needs at least one of exit code, reason or status reason."));
            }
        }
    }

    internal static void ValidateTimeout(JobTimeout? timeout, List<FieldError> errors)
    {
        if (timeout?.AttemptDurationSeconds is < 60)
        {
            errors.Add(new("timeout.attemptDurationSeconds", $"Execution timeout must be at least 60 seconds, not {timeout.AttemptDurationSeconds}."));
        }
    }

    public async Task<Result<JobDefinition>> RegisterAsync(RegisterJobDefinitionRequest r, Actor? by = null, CancellationToken ct = default)
    {
        if (AccessPolicy.Refuse(by, r.ContainerProperties is { } c && AccessPolicy.PrivilegesOf(c).Count > 0 ? Permission.RegisterPrivilegedJobDefinition : Permission.RegisterJobDefinition, "RegisterJobDefinition") is { } refused)
        {
            return refused;
        }

        var result = await RegisterUnauditedAsync(r, ct);
        if (result.IsSuccess)
        {
            await audit.RecordAsync(by, "RegisterJobDefinition", $"{result.Value!.Name}:{result.Value.Revision}", null, ct);
        }

        return result;
    }

    private async Task<Result<JobDefinition>> RegisterUnauditedAsync(RegisterJobDefinitionRequest r, CancellationToken ct)
    {
        var errors = Validate(r);
        if (errors.Count > 0)
        {
            return new ValidationFailed(errors);
        }

        await using var db = await dbFactory.CreateDbContextAsync(ct);

        // The unique (name, revision) index makes a racing register fail rather than reuse a number; try again then.
        for (var tries = 0; ; tries++)
        {
            var latest = await db.JobDefinitions.Where(d => d.Name == r.JobDefinitionName).MaxAsync(d => (int?)d.Revision, ct) ?? 0;
            var definition = new JobDefinition
            {
                Name = r.JobDefinitionName!,
                Revision = latest + 1,
                ContainerProperties = r.ContainerProperties!,
                Parameters = r.Parameters ?? [],
                RetryStrategy = r.RetryStrategy,
                Timeout = r.Timeout,
                PropagateTags = r.PropagateTags ?? false,
                SchedulingPriority = r.SchedulingPriority,
                Tags = r.Tags ?? [],
                CreatedAt = time.GetUtcNow(),
            };
            db.JobDefinitions.Add(definition);
            try
            {
                await db.SaveChangesAsync(ct);
                await events.PublishAsync(new ResourceChanged("job-definition", definition.Name));
                return definition;
            }
            catch (DbUpdateException) when (tries < 5)
            {
                db.Entry(definition).State = EntityState.Detached;
            }
        }
    }

    /// <summary>Marks one revision INACTIVE. Its number is never reused.</summary>
    public async Task<Result<JobDefinition>> DeregisterAsync(string reference, Actor? by = null, CancellationToken ct = default)
    {
        if (AccessPolicy.Refuse(by, Permission.DeregisterJobDefinition, "DeregisterJobDefinition") is { } refused)
        {
            return refused;
        }

        var result = await DeregisterUnauditedAsync(reference, ct);
        if (result.IsSuccess)
        {
            await audit.RecordAsync(by, "DeregisterJobDefinition", reference, null, ct);
        }

        return result;
    }

    private Task<Result<JobDefinition>> DeregisterUnauditedAsync(string reference, CancellationToken ct) =>
        OnConflict.RetryAsync(() => DeregisterOnceAsync(reference, ct));

    private async Task<Result<JobDefinition>> DeregisterOnceAsync(string reference, CancellationToken ct)
    {
        var resolved = await ResolveAsync(reference, ct);
        if (!resolved.IsSuccess)
        {
            return resolved;
        }

        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var definition = await db.JobDefinitions.FirstAsync(d => d.Id == resolved.Value!.Id, ct);
        definition.Status = JobDefinitionStatus.Inactive;
        await db.SaveChangesAsync(ct);
        await events.PublishAsync(new ResourceChanged("job-definition", definition.Name));
        return definition;
    }

    /// <summary>The ulimit names Docker accepts.</summary>
    public static readonly string[] UlimitNames =
        ["core", "cpu", "data", "fsize", "locks", "memlock", "msgqueue", "nice", "nofile", "nproc", "rss", "rtprio", "rttime", "sigpending", "stack"];

    [GeneratedRegex("^[A-Za-z0-9_-]+$")]
    private static partial Regex VolumeName();

    [GeneratedRegex("^[A-Za-z0-9_.-]+(:[A-Za-z0-9_.-]+)?$")]
    private static partial Regex UserPattern();

    [GeneratedRegex("^[A-Za-z0-9_:./#@-]+$")]
    private static partial Regex ImagePattern();

    [GeneratedRegex("^[0-9]*\\*?$")]
    private static partial Regex ExitCodePattern();

    [GeneratedRegex("^[A-Za-z0-9.: ]*\\*?$")]
    private static partial Regex ReasonPattern();
}
