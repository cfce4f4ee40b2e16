using BatchPortal.Engine.Domain;
using BatchPortal.Engine.Storage;
using Hangfire;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace BatchPortal.Engine.Execution;

/// <summary>
/// Picks up STARTING and RUNNING jobs that nobody is following: after a portal restart (Hangfire's in-memory storage is
/// empty then) or when a Docker engine answers again. The database says what should be running; the containers' labels
/// say what is.
/// </summary>
public sealed class ContainerRecovery(
    IDbContextFactory<BatchDbContext> dbFactory,
    IContainerRuntimeFactory runtimes,
    ContainerWatcher watcher,
    IBackgroundJobClient hangfire,
    IServiceProvider services,
    ILogger<ContainerRecovery> logger) : IDisposable
{
    private readonly SemaphoreSlim _gate = new(1, 1);

    public void Dispose() => _gate.Dispose();

    public async Task RecoverAsync(string endpoint, CancellationToken ct)
    {
        await _gate.WaitAsync(ct);
        try
        {
            await using var db = await dbFactory.CreateDbContextAsync(ct);
            var environments = await db.ComputeEnvironments.AsNoTracking().ToDictionaryAsync(c => c.Name, c => c.DockerEndpoint ?? runtimes.DefaultEndpoint, ct);
            var active = await db.Jobs.AsNoTracking()
                .Where(j => j.Status == JobStatus.Starting || j.Status == JobStatus.Running)
                .Select(j => new { j.Id, j.Status, j.AttemptCount, j.ComputeEnvironmentName, j.Timeout, j.StartedAt })
                .ToListAsync(ct);

            var runtime = runtimes.ForEndpoint(endpoint);
            foreach (var job in active.Where(j => environments.GetValueOrDefault(j.ComputeEnvironmentName ?? string.Empty, runtimes.DefaultEndpoint) == endpoint))
            {
                if (watcher.IsWatching(job.Id, job.AttemptCount))
                {
                    continue;
                }

                if (job.Status == JobStatus.Starting)
                {
                    // The launch is idempotent: it reuses the attempt's container when one exists.
                    hangfire.Enqueue<RunJob>(x => x.LaunchAsync(job.Id, job.AttemptCount, CancellationToken.None));
                    logger.Recovered(job.Id, job.Status, "launch re-queued");
                    continue;
                }

                var containerId = await runtime.FindAttemptContainerAsync(job.Id, job.AttemptCount, ct);
                if (containerId is not null)
                {
                    var deadline = job.Timeout?.AttemptDurationSeconds is { } seconds && job.StartedAt is { } started ? started.AddSeconds(seconds) : (DateTimeOffset?)null;
                    watcher.Watch(job.Id, job.AttemptCount, containerId, endpoint, deadline);
                    logger.Recovered(job.Id, job.Status, $"following container {containerId[..12]}");
                    continue;
                }

                var full = await db.Jobs.AsNoTracking().Include(j => j.Attempts).FirstAsync(j => j.Id == job.Id, ct);
                await services.GetRequiredService<RunJob>().FinishAttemptAsync(
                    full,
                    job.AttemptCount,
                    JobStatus.Running,
                    exitCode: null,
                    $"Container of attempt {job.AttemptCount} was not found on {endpoint}; it was removed while the portal was not watching",
                    "Host terminated.",
                    ct);
                logger.Recovered(job.Id, job.Status, "container vanished; attempt failed");
            }
        }
        finally
        {
            _gate.Release();
        }
    }
}
