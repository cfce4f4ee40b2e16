using System.Collections.Concurrent;
using BatchPortal.Engine.Domain;
using BatchPortal.Engine.Notifications;
using BatchPortal.Engine.Storage;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace BatchPortal.Engine.Execution;

/// <summary>What the engine last saw of a Docker endpoint.</summary>
public sealed record EndpointHealth(string Endpoint, bool Reachable, string? Error, HostInfo? Host, DateTimeOffset CheckedAt)
{
    /// <summary>The text a waiting job or the banner shows when the endpoint is down.</summary>
    public string UnreachableReason => $"Docker engine unreachable at {Endpoint}: {Error}";
}

/// <summary>
/// Keeps the last known health of every Docker endpoint in use, checked in the background so that the dispatcher and the
/// pages never wait on a dead socket. A change of health is published (<see cref="ResourceChanged"/> of kind
/// <c>docker-endpoint</c>): the dispatcher and the reconciler listen. Checking only reads; it changes no job.
/// </summary>
public sealed class DockerHealth(
    IContainerRuntimeFactory runtimes,
    IDbContextFactory<BatchDbContext> dbFactory,
    IJobEventPublisher events,
    IOptions<DockerOptions> options,
    TimeProvider time,
    ILogger<DockerHealth> logger) : BackgroundService
{
    private readonly ConcurrentDictionary<string, EndpointHealth> _health = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, DateTimeOffset> _lastReachable = new(StringComparer.Ordinal);

    public string DefaultEndpoint => runtimes.DefaultEndpoint;

    /// <summary>The Docker engine a compute environment runs its containers on.</summary>
    public string EndpointOf(ComputeEnvironment ce) => string.IsNullOrWhiteSpace(ce.DockerEndpoint) ? runtimes.DefaultEndpoint : ce.DockerEndpoint;

    /// <summary>The last moment the endpoint was known to answer (a check, or a call that succeeded).</summary>
    public DateTimeOffset? LastReachableAt(string endpoint) => _lastReachable.TryGetValue(endpoint, out var at) ? at : null;

    public IReadOnlyCollection<EndpointHealth> All => [.. _health.Values];

    /// <summary>The last result for an endpoint; checks it now when it was never checked.</summary>
    public async Task<EndpointHealth> GetAsync(string? endpoint, CancellationToken ct = default)
    {
        var key = string.IsNullOrWhiteSpace(endpoint) ? runtimes.DefaultEndpoint : endpoint;
        return _health.TryGetValue(key, out var known) ? known : await CheckAsync(key, ct);
    }

    public EndpointHealth? Peek(string? endpoint) =>
        _health.GetValueOrDefault(string.IsNullOrWhiteSpace(endpoint) ? runtimes.DefaultEndpoint : endpoint);

    /// <summary>Asks the engine now and records the answer.</summary>
    public async Task<EndpointHealth> CheckAsync(string endpoint, CancellationToken ct = default)
    {
        var health = await ProbeAsync(endpoint, ct);
        await RecordAsync(health);
        return health;
    }

    /// <summary>Asks an engine now without recording the answer (a form checking an endpoint it may not keep).</summary>
    public async Task<EndpointHealth> ProbeAsync(string endpoint, CancellationToken ct = default)
    {
        EndpointHealth health;
        try
        {
            var host = await runtimes.ForEndpoint(endpoint).GetHostInfoAsync(ct);
            health = new EndpointHealth(endpoint, true, null, host, time.GetUtcNow());
        }
        catch (ContainerRuntimeUnavailableException ex)
        {
            health = new EndpointHealth(endpoint, false, ex.Error, null, time.GetUtcNow());
        }
        catch (Exception ex) when (ex is UriFormatException or NotSupportedException or ArgumentException)
        {
            health = new EndpointHealth(endpoint, false, $"not a Docker endpoint ({ex.Message})", null, time.GetUtcNow());
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !ct.IsCancellationRequested)
        {
            // Something answered, but not as Docker does (a web server's 404 page, HTML where JSON was due): the endpoint
            // is no Docker engine, which is a health to report, not a fault of the check.
            health = new EndpointHealth(endpoint, false, $"answered, but not as a Docker engine ({ex.GetType().Name})", null, time.GetUtcNow());
        }

        return health;
    }

    /// <summary>A launch or a watch found the engine gone: note it at once rather than at the next check.</summary>
    public Task ReportUnreachableAsync(string endpoint, string error) =>
        RecordAsync(new EndpointHealth(endpoint, false, error, null, time.GetUtcNow()));

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                foreach (var endpoint in await EndpointsInUseAsync(stoppingToken))
                {
                    await CheckAsync(endpoint, stoppingToken);
                }
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !stoppingToken.IsCancellationRequested)
            {
                // A failed round (database busy) must not end the loop, or health would freeze.
                logger.HealthRoundFailed(ex);
            }

            try
            {
                await Task.Delay(options.Value.HealthCheckInterval, time, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    /// <summary>The default endpoint and every one a compute environment names: the endpoints that are checked.</summary>
    private async Task<IReadOnlyCollection<string>> EndpointsInUseAsync(CancellationToken ct)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var named = await db.ComputeEnvironments.Where(c => c.DockerEndpoint != null).Select(c => c.DockerEndpoint!).Distinct().ToListAsync(ct);
        return [.. named.Append(runtimes.DefaultEndpoint).Distinct(StringComparer.Ordinal)];
    }

    /// <summary>
    /// The ENABLED compute environments, by the Docker endpoint each runs on (the default one for those that name none):
    /// the endpoints work runs on. One of them down means jobs cannot start or be followed there, and <c>/healthz</c>
    /// names the environments.
    /// </summary>
    public async Task<IReadOnlyDictionary<string, IReadOnlyList<string>>> EnvironmentsByEndpointAsync(CancellationToken ct = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var environments = await db.ComputeEnvironments.AsNoTracking()
            .Where(c => c.State == ResourceState.Enabled)
            .Select(c => new { c.Name, c.DockerEndpoint })
            .ToListAsync(ct);
        return environments
            .GroupBy(c => string.IsNullOrWhiteSpace(c.DockerEndpoint) ? runtimes.DefaultEndpoint : c.DockerEndpoint, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => (IReadOnlyList<string>)[.. g.Select(c => c.Name).Order(StringComparer.Ordinal)], StringComparer.Ordinal);
    }

    private async Task RecordAsync(EndpointHealth health)
    {
        if (health.Reachable)
        {
            _lastReachable[health.Endpoint] = health.CheckedAt;
        }

        var previous = _health.GetValueOrDefault(health.Endpoint);
        _health[health.Endpoint] = health;
        if (previous is not null && previous.Reachable == health.Reachable && previous.Error == health.Error)
        {
            return;
        }

        if (health.Reachable)
        {
            logger.DockerReachable(health.Endpoint, health.Host?.ServerVersion, health.Host?.Cpus ?? 0, (health.Host?.MemoryBytes ?? 0) / 1024 / 1024);
        }
        else
        {
            logger.DockerUnreachable(health.Endpoint, health.Error ?? "unknown error");
        }

        await events.PublishAsync(new ResourceChanged("docker-endpoint", health.Endpoint));
    }
}
