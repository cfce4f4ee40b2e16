using System.Collections.Concurrent;
using BatchPortal.Engine.Notifications;
using BatchPortal.Engine.Scheduling;
using BatchPortal.Engine.Storage;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
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
/// pages never wait on a dead socket. A change of health wakes the dispatcher and re-attaches to running containers.
/// </summary>
public sealed class DockerHealth(
    IContainerRuntimeFactory runtimes,
    IDbContextFactory<BatchDbContext> dbFactory,
    DispatchSignal dispatchSignal,
    IJobEventPublisher events,
    IServiceProvider services,
    IOptions<DockerOptions> options,
    TimeProvider time,
    ILogger<DockerHealth> logger) : BackgroundService
{
    private readonly ConcurrentDictionary<string, EndpointHealth> _health = new(StringComparer.Ordinal);

    public string DefaultEndpoint => runtimes.DefaultEndpoint;

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
            health = new EndpointHealth(endpoint, false, ex.Message[(ex.Message.IndexOf(": ", StringComparison.Ordinal) + 2)..], null, time.GetUtcNow());
        }
        catch (Exception ex) when (ex is UriFormatException or NotSupportedException or ArgumentException)
        {
            health = new EndpointHealth(endpoint, false, $"not a Docker endpoint ({ex.Message})", null, time.GetUtcNow());
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
                // A failed round (database busy, a recovery error) must not end the loop, or health would freeze.
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

    private async Task<IReadOnlyCollection<string>> EndpointsInUseAsync(CancellationToken ct)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var named = await db.ComputeEnvironments.Where(c => c.DockerEndpoint != null).Select(c => c.DockerEndpoint!).Distinct().ToListAsync(ct);
        return [.. named.Append(runtimes.DefaultEndpoint).Distinct(StringComparer.Ordinal)];
    }

    private async Task RecordAsync(EndpointHealth health)
    {
        var previous = _health.GetValueOrDefault(health.Endpoint);
        _health[health.Endpoint] = health;
        if (previous is not null && previous.Reachable == health.Reachable && previous.Error == health.Error)
        {
            return;
        }

        if (health.Reachable)
        {
            logger.DockerReachable(health.Endpoint, health.Host?.ServerVersion, health.Host?.Cpus ?? 0, (health.Host?.MemoryBytes ?? 0) / 1024 / 1024);
            if (previous is null || !previous.Reachable)
            {
                // Re-attach to containers left running while the engine (or the portal) was away.
                // Resolved late: recovery needs the watcher and the job runner, which need this class.
                await services.GetRequiredService<ContainerRecovery>().RecoverAsync(health.Endpoint, CancellationToken.None);
            }
        }
        else
        {
            logger.DockerUnreachable(health.Endpoint, health.Error ?? "unknown error");
        }

        dispatchSignal.Notify();
        await events.PublishAsync(new ResourceChanged("docker-endpoint", health.Endpoint));
    }
}
