using BatchPortal.Engine.Access;
using BatchPortal.Engine.Domain;
using BatchPortal.Engine.Notifications;
using BatchPortal.Engine.Storage;
using Microsoft.EntityFrameworkCore;

namespace BatchPortal.Engine.Resources;

/// <summary>Tags on compute environments, job queues, job definition revisions and jobs, addressed by ARN.</summary>
public sealed class TagService(IDbContextFactory<BatchDbContext> dbFactory, IJobEventPublisher events, AuditTrail audit)
{
    public const int MaxTags = 50;

    public async Task<Result<IReadOnlyDictionary<string, string>>> ListAsync(string? arn, CancellationToken ct = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var target = await FindAsync(db, arn, ct);
        return target.Error is { } error ? Result<IReadOnlyDictionary<string, string>>.Fail(error) : target.Value!.Get();
    }

    public async Task<Result<bool>> TagAsync(string? arn, IReadOnlyDictionary<string, string>? tags, Actor? by = null, CancellationToken ct = default)
    {
        if (AccessPolicy.Refuse(by, AccessPolicy.TaggingOf(arn ?? string.Empty), "TagResource") is { } refused)
        {
            return refused;
        }

        var result = await TagUnauditedAsync(arn, tags, ct);
        if (result.IsSuccess)
        {
            await audit.RecordAsync(by, "TagResource", arn ?? string.Empty, string.Join(", ", (tags ?? new Dictionary<string, string>()).Keys), ct);
        }

        return result;
    }

    private async Task<Result<bool>> TagUnauditedAsync(string? arn, IReadOnlyDictionary<string, string>? tags, CancellationToken ct)
    {
        if (tags is null || tags.Count == 0)
        {
            return new ValidationFailed("tags", "Give at least one tag.");
        }

        var errors = new List<FieldError>();
        ComputeEnvironmentService.ValidateTags(new Dictionary<string, string>(tags), errors);
        if (errors.Count > 0)
        {
            return new ValidationFailed(errors);
        }

        return await ChangeAsync(arn, current =>
        {
            var merged = new Dictionary<string, string>(current);
            foreach (var (k, v) in tags)
            {
                merged[k] = v;
            }

            return merged.Count > MaxTags
                ? new ValidationFailed("tags", $"A resource can have at most {MaxTags} tags; this would make {merged.Count}.")
                : merged;
        }, ct);
    }

    public async Task<Result<bool>> UntagAsync(string? arn, IReadOnlyCollection<string>? keys, Actor? by = null, CancellationToken ct = default)
    {
        if (AccessPolicy.Refuse(by, AccessPolicy.TaggingOf(arn ?? string.Empty), "UntagResource") is { } refused)
        {
            return refused;
        }

        var result = await UntagUnauditedAsync(arn, keys, ct);
        if (result.IsSuccess)
        {
            await audit.RecordAsync(by, "UntagResource", arn ?? string.Empty, string.Join(", ", keys ?? []), ct);
        }

        return result;
    }

    private async Task<Result<bool>> UntagUnauditedAsync(string? arn, IReadOnlyCollection<string>? keys, CancellationToken ct)
    {
        if (keys is null || keys.Count == 0)
        {
            return new ValidationFailed("tagKeys", "Give at least one tag key to remove.");
        }

        return await ChangeAsync(arn, current => current.Where(t => !keys.Contains(t.Key)).ToDictionary(t => t.Key, t => t.Value), ct);
    }

    /// <summary>
    /// Reads the resource's tags, applies <paramref name="change"/> and saves them. A job's row carries a version that the
    /// dispatcher moves on every status change, so tagging a job that is moving can lose the race; tags do not depend on the
    /// status, so the change is read and made again (a few times) rather than answered with a server error.
    /// </summary>
    private async Task<Result<bool>> ChangeAsync(string? arn, Func<IReadOnlyDictionary<string, string>, Result<Dictionary<string, string>>> change, CancellationToken ct)
    {
        for (var attempt = 1; ; attempt++)
        {
            await using var db = await dbFactory.CreateDbContextAsync(ct);
            var target = await FindAsync(db, arn, ct);
            if (target.Error is { } error)
            {
                return error;
            }

            var changed = change(target.Value!.Get());
            if (changed.Error is { } invalid)
            {
                return invalid;
            }

            target.Value.Set(changed.Value!);
            try
            {
                await db.SaveChangesAsync(ct);
            }
            catch (DbUpdateConcurrencyException) when (attempt < 5)
            {
                continue;
            }

            await events.PublishAsync(new ResourceChanged("tags", arn!));
            return true;
        }
    }

    private static async Task<Result<Tagged>> FindAsync(BatchDbContext db, string? arn, CancellationToken ct)
    {
        if (string.IsNullOrWhiteSpace(arn) || !arn.StartsWith("arn:", StringComparison.Ordinal) || arn.Split(':').Length < 6)
        {
            return new ValidationFailed("resourceArn", $"'{arn}' is not an AWS Batch ARN (arn:aws:batch:region:account:kind/name).");
        }

        var resource = arn.Split(':', 6)[5];
        var slash = resource.IndexOf('/', StringComparison.Ordinal);
        if (slash < 0)
        {
            return new ValidationFailed("resourceArn", $"'{arn}' does not name a resource (kind/name).");
        }

        var kind = resource[..slash];
        var name = resource[(slash + 1)..];
        switch (kind)
        {
            case "compute-environment":
                var ce = await db.ComputeEnvironments.FirstOrDefaultAsync(c => c.Name == name, ct);
                return ce is null ? new ResourceNotFound("Compute environment", name) : new Tagged(() => ce.Tags, t => ce.Tags = t);
            case "job-queue":
                var queue = await db.JobQueues.FirstOrDefaultAsync(q => q.Name == name, ct);
                return queue is null ? new ResourceNotFound("Job queue", name) : new Tagged(() => queue.Tags, t => queue.Tags = t);
            case "job-definition":
                var colon = name.LastIndexOf(':');
                if (colon < 0 || !int.TryParse(name[(colon + 1)..], out var revision))
                {
                    return new ValidationFailed("resourceArn", $"A job definition ARN names a revision: ...:job-definition/{name}:<revision>.");
                }

                var defName = name[..colon];
                var definition = await db.JobDefinitions.FirstOrDefaultAsync(d => d.Name == defName && d.Revision == revision, ct);
                return definition is null ? new ResourceNotFound("Job definition", name) : new Tagged(() => definition.Tags, t => definition.Tags = t);
            case "job":
                if (name.Contains(':', StringComparison.Ordinal))
                {
                    return new ValidationFailed("resourceArn", "Tags on array child jobs are not supported; tag the parent job.");
                }

                var job = await db.Jobs.FirstOrDefaultAsync(j => j.Id == name, ct);
                return job is null ? new ResourceNotFound("Job", name) : new Tagged(() => job.Tags, t => job.ReplaceTags(t));
            default:
                return new ValidationFailed("resourceArn", $"Resource kind '{kind}' in '{arn}' cannot be tagged; use a compute-environment, job-queue, job-definition or job ARN.");
        }
    }

    private sealed record Tagged(Func<Dictionary<string, string>> Get, Action<Dictionary<string, string>> Set);
}
