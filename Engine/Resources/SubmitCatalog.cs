using System.Collections.Concurrent;
using BatchPortal.Engine.Domain;
using BatchPortal.Engine.Notifications;
using BatchPortal.Engine.Storage;
using Microsoft.EntityFrameworkCore;

namespace BatchPortal.Engine.Resources;

/// <summary>
/// The job queues and job definitions that submissions name, kept in memory: every SubmitJob resolves both, and reading
/// them (a definition with its JSON columns) was about a third of a submission's cost. Only usable ones are kept (an
/// ENABLED queue, an ACTIVE definition); a miss, a disabled queue or an unknown name is read from the database each time.
/// <para>
/// What is kept can be out of date: a change made on this node clears it as soon as the change is published (after its
/// commit), and another node's change is not heard at all. Neither lets a job through on an out-of-date resource. Every
/// change of a queue or a definition sets a new catalog token in its own transaction
/// (<see cref="BatchDbContext.CatalogTokenName"/>); the catalog reads the token before anything it keeps, and the write
/// of each job checks, in its transaction, that the token is still the one its submission was checked with
/// (<see cref="JobSubmissions"/>). A job that fails that check is checked again against the database.
/// </para>
/// </summary>
public sealed class SubmitCatalog : IDisposable
{
    /// <summary>Enough for any team's queues and definitions in use; past it, everything is read again.</summary>
    private const int MaxEntries = 1_024;

    private static readonly HashSet<string> ClearingKinds = ["job-queue", "job-definition", "tags"];

    private readonly IDbContextFactory<BatchDbContext> _dbFactory;
    private readonly ConcurrentDictionary<string, JobQueue> _queues = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, JobDefinition> _definitions = new(StringComparer.Ordinal);
    private readonly IDisposable _subscription;
    private long _generation;
    private Token? _token;

    public SubmitCatalog(IDbContextFactory<BatchDbContext> dbFactory, JobEventBroadcaster broadcaster)
    {
        _dbFactory = dbFactory;
        _subscription = broadcaster.SubscribeToResources(changed =>
        {
            if (ClearingKinds.Contains(changed.Kind))
            {
                Forget();
            }

            return Task.CompletedTask;
        });
    }

    /// <summary>
    /// The catalog token as it was read before anything kept now: a submission takes it first, then its queue and its
    /// definition, and its write checks it.
    /// </summary>
    public async Task<string?> TokenAsync(CancellationToken ct = default)
    {
        if (Volatile.Read(ref _token) is { } kept)
        {
            return kept.Value;
        }

        var generation = Volatile.Read(ref _generation);
        await using var db = await _dbFactory.CreateDbContextAsync(ct);
        var value = await db.EngineSettings.AsNoTracking()
            .Where(s => s.Name == BatchDbContext.CatalogTokenName)
            .Select(s => s.Value)
            .FirstOrDefaultAsync(ct);
        var token = new Token(value);
        Volatile.Write(ref _token, token);
        if (Volatile.Read(ref _generation) != generation)
        {
            Interlocked.CompareExchange(ref _token, null, token);
        }

        return value;
    }

    /// <summary>The queue of this name as it was last read, or as the database has it now; null when there is none.</summary>
    public async Task<JobQueue?> QueueAsync(string name, CancellationToken ct = default)
    {
        if (_queues.TryGetValue(name, out var kept))
        {
            return kept;
        }

        var generation = Volatile.Read(ref _generation);
        await using var db = await _dbFactory.CreateDbContextAsync(ct);
        var queue = await db.JobQueues.AsNoTracking().FirstOrDefaultAsync(q => q.Name == name, ct);
        if (queue is { State: ResourceState.Enabled })
        {
            Keep(_queues, name, queue, generation);
        }

        return queue;
    }

    /// <summary>
    /// The definition a reference names (<c>name</c>, <c>name:revision</c> or an ARN), as <see cref="JobDefinitionService.ResolveAsync(string?, CancellationToken)"/>
    /// resolves it.
    /// </summary>
    public async Task<Result<JobDefinition>> DefinitionAsync(string? reference, CancellationToken ct = default)
    {
        var key = string.IsNullOrWhiteSpace(reference) ? null : Arns.NameFrom(reference, "job-definition");
        if (key is not null && _definitions.TryGetValue(key, out var kept))
        {
            return kept;
        }

        var generation = Volatile.Read(ref _generation);
        await using var db = await _dbFactory.CreateDbContextAsync(ct);
        var resolved = await JobDefinitionService.ResolveAsync(db, reference, ct);
        if (key is not null && resolved is { IsSuccess: true, Value.Status: JobDefinitionStatus.Active })
        {
            Keep(_definitions, key, resolved.Value, generation);
        }

        return resolved;
    }

    /// <summary>Drops everything kept: the next submissions read from the database.</summary>
    public void Forget()
    {
        Interlocked.Increment(ref _generation);
        Volatile.Write(ref _token, null);
        _queues.Clear();
        _definitions.Clear();
    }

    public void Dispose() => _subscription.Dispose();

    private sealed record Token(string? Value);

    // A read that began before a change was published must not be kept after it: the change's Forget may have run
    // between the read and the insert. The generation, taken before the read, tells.
    private void Keep<T>(ConcurrentDictionary<string, T> map, string key, T value, long generation)
        where T : class
    {
        if (map.Count >= MaxEntries)
        {
            map.Clear();
        }

        map[key] = value;
        if (Volatile.Read(ref _generation) != generation)
        {
            map.TryRemove(new KeyValuePair<string, T>(key, value));
        }
    }
}
