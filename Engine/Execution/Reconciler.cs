using System.Globalization;
using BatchPortal.Engine.Domain;
using BatchPortal.Engine.Notifications;
using BatchPortal.Engine.Storage;
using Hangfire;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace BatchPortal.Engine.Execution;

/// <summary>
/// Holds the database and the Docker engines to each other, continuously (Testcontainers' reaper, for a whole engine):
/// every RUNNING job is followed (re-attached to its container, or ended when the container is gone), every STARTING job
/// has a launch (one lost to a restart or a timeout runs again, idempotently), every labelled container belongs to a job
/// that still needs it (the others are stopped, their output stored, and removed), and a job whose engine does not
/// answer says so. It runs every <see cref="DockerOptions.ReconcileInterval"/>, and at once when an engine's health
/// changes. The database says what should be; the containers' labels say what is.
/// </summary>
public sealed class Reconciler(
    DispatchQueries queries,
    JobStateMachine stateMachine,
    IContainerRuntimeFactory runtimes,
    DockerHealth health,
    ContainerWatcher watcher,
    RunJob runJob,
    LogCapture capture,
    StoreIdentity store,
    IBackgroundJobClient hangfire,
    JobEventBroadcaster broadcaster,
    IOptions<DockerOptions> options,
    TimeProvider time,
    ILogger<Reconciler> logger) : IDisposable
{
    /// <summary>A launch placed this recently may still be queued in Hangfire: it is not launched a second time yet.</summary>
    public static readonly TimeSpan LaunchGrace = TimeSpan.FromSeconds(15);

    /// <summary>A completion handed to Hangfire this recently is left to run before the attempt is followed again.</summary>
    public static readonly TimeSpan CompletionGrace = TimeSpan.FromMinutes(2);

    private readonly SemaphoreSlim _gate = new(1, 1);

    public void Dispose() => _gate.Dispose();

    /// <summary>Reconciles until <paramref name="stoppingToken"/> ends, every interval and whenever an engine's health changes.</summary>
    public async Task RunAsync(CancellationToken stoppingToken)
    {
        var wake = new WakeSignal();
        using var subscription = broadcaster.SubscribeToResources(r =>
        {
            if (r.Kind == "docker-endpoint")
            {
                wake.Notify();
            }

            return Task.CompletedTask;
        });

        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await ReconcileOnceAsync(stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                logger.ReconcileFailed(ex);
            }

            try
            {
                await wake.WaitAsync(options.Value.ReconcileInterval, time, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    /// <summary>One round over every engine in use.</summary>
    public async Task ReconcileOnceAsync(CancellationToken ct)
    {
        await _gate.WaitAsync(ct);
        try
        {
            var active = await queries.ActiveAttemptsAsync(ct);
            var endpoints = active.Select(a => EndpointOf(a))
                .Concat(health.All.Select(h => h.Endpoint))
                .Append(runtimes.DefaultEndpoint)
                .Distinct(StringComparer.Ordinal)
                .ToList();
            foreach (var endpoint in endpoints)
            {
                try
                {
                    await ReconcileEndpointAsync(endpoint, [.. active.Where(a => EndpointOf(a) == endpoint)], ct);
                }
                catch (ContainerRuntimeUnavailableException ex)
                {
                    await health.ReportUnreachableAsync(ex.Endpoint, ex.Error);
                }
            }
        }
        finally
        {
            _gate.Release();
        }
    }

    private string EndpointOf(ActiveAttempt a) => string.IsNullOrWhiteSpace(a.DockerEndpoint) ? runtimes.DefaultEndpoint : a.DockerEndpoint;

    private async Task ReconcileEndpointAsync(string endpoint, IReadOnlyList<ActiveAttempt> active, CancellationToken ct)
    {
        var state = await health.GetAsync(endpoint, ct);
        if (!state.Reachable)
        {
            await ReportOutageAsync(endpoint, state, active, ct);
            return;
        }

        var runtime = runtimes.ForEndpoint(endpoint);
        var containers = await runtime.ListManagedAsync(ct);
        var byAttempt = containers
            .Where(c => c.JobId is not null && c.Attempt is not null)
            .GroupBy(c => (c.JobId!, c.Attempt!.Value))
            .ToDictionary(g => g.Key, g => g.First());
        var now = time.GetUtcNow();
        foreach (var attempt in active)
        {
            byAttempt.TryGetValue((attempt.JobId, attempt.Attempt), out var container);
            if (attempt.Status == JobStatus.Starting)
            {
                if (!runJob.IsLaunching(attempt.JobId, attempt.Attempt) && (attempt.PlacedAt is not { } placed || now - placed >= LaunchGrace))
                {
                    // Lost with Hangfire's in-memory queue at a restart, given up after a timeout, or still queued behind
                    // a long pull elsewhere: a launch is safe to run twice, so it runs again.
                    var (jobId, number) = (attempt.JobId, attempt.Attempt);
                    hangfire.Enqueue<RunJob>(x => x.LaunchAsync(jobId, number, CancellationToken.None));
                    logger.Recovered(jobId, attempt.Status, "launch queued again");
                }

                continue;
            }

            await ReconcileRunningAsync(runtime, attempt, container, now, ct);
        }

        await RemoveLeftoversAsync(runtime, containers, active, ct);
    }

    private async Task ReconcileRunningAsync(IContainerRuntime runtime, ActiveAttempt attempt, ManagedContainer? container, DateTimeOffset now, CancellationToken ct)
    {
        if (attempt.HostUnreachableSince is not null && container is { Running: true })
        {
            // The engine answers again and the container ran through the outage: nothing happened to the job.
            await stateMachine.UpdateAttemptAsync(attempt.JobId, attempt.Attempt, [JobStatus.Running], a => a.HostUnreachableSince = null, ct);
            await stateMachine.SetReasonsAsync(JobStatus.Running, [(attempt.JobId, null)], ct);
        }

        if (attempt.Status == JobStatus.Running && attempt.Terminating && container is { Running: true } && runJob.StopOverdue(attempt.JobId, attempt.Attempt, now))
        {
            // Terminated, and still running: its stop was lost (Hangfire's in-memory queue at a restart) or never queued.
            runJob.QueueStop(attempt.JobId, attempt.Attempt);
            logger.Recovered(attempt.JobId, attempt.Status, "stop of the terminated job queued again");
        }

        if (watcher.IsWatching(attempt.JobId, attempt.Attempt)
            || (watcher.CompletingSince(attempt.JobId, attempt.Attempt) is { } since && now - since < CompletionGrace))
        {
            return;
        }

        if (container is not null)
        {
            var deadline = attempt.Timeout?.AttemptDurationSeconds is { } seconds && attempt.StartedAt is { } started ? started.AddSeconds(seconds) : (DateTimeOffset?)null;
            watcher.Watch(attempt.JobId, attempt.Attempt, container.Id, runtime.Endpoint, deadline, live: false);
            logger.Recovered(attempt.JobId, attempt.Status, $"following container {container.Id[..Math.Min(12, container.Id.Length)]}");
            return;
        }

        // Not there, running or exited: removed while nobody watched, or gone with the engine.
        var outcome = RunJob.Outcome(attempt.HostUnreachableSince, attempt.StartedAt, exitSeenLive: false, runtime.Endpoint, attempt.ContainerId ?? "(unknown)", null, now);
        if (attempt.HostUnreachableSince is null)
        {
            outcome = outcome with
            {
                ContainerReason = $"Container of attempt {attempt.Attempt} was not found on {runtime.Endpoint}; it was removed while the portal was not watching",
                StatusReason = AttemptOutcome.HostTerminated(runtime.Endpoint),
            };
        }

        await stateMachine.EndAttemptAsync(attempt.JobId, attempt.Attempt, outcome, ct);
        logger.Recovered(attempt.JobId, attempt.Status, "container vanished; attempt ended");
    }

    /// <summary>While an engine does not answer, its jobs say so, and their attempts remember since when.</summary>
    private async Task ReportOutageAsync(string endpoint, EndpointHealth state, IReadOnlyList<ActiveAttempt> active, CancellationToken ct)
    {
        var since = health.LastReachableAt(endpoint) ?? state.CheckedAt;
        var running = new List<(string, string?)>();
        var starting = new List<(string, string?)>();
        foreach (var attempt in active)
        {
            var reason = ContainerWatcher.OutageReason(endpoint, attempt.HostUnreachableSince ?? since, state.Error ?? "no answer");
            if (attempt.Status == JobStatus.Running)
            {
                if (attempt.HostUnreachableSince is null)
                {
                    await stateMachine.UpdateAttemptAsync(attempt.JobId, attempt.Attempt, [JobStatus.Running], a => a.HostUnreachableSince ??= since, ct);
                }

                running.Add((attempt.JobId, reason));
            }
            else
            {
                starting.Add((attempt.JobId, reason));
            }
        }

        await stateMachine.SetReasonsAsync(JobStatus.Running, running, ct);
        await stateMachine.SetReasonsAsync(JobStatus.Starting, starting, ct);
    }

    /// <summary>
    /// Containers that no current attempt needs: an earlier attempt's, a finished job's (its removal cut off, or the job
    /// finished while the portal was down), or one whose job this database made and no longer has. Each is stopped, its
    /// output stored, and removed.
    /// </summary>
    private async Task RemoveLeftoversAsync(IContainerRuntime runtime, IReadOnlyList<ManagedContainer> containers, IReadOnlyList<ActiveAttempt> active, CancellationToken ct)
    {
        var needed = active.Select(a => (a.JobId, a.Attempt)).ToHashSet();
        var candidates = containers.Where(c => c.JobId is not null && c.Attempt is not null && !needed.Contains((c.JobId!, c.Attempt!.Value))).ToList();
        if (candidates.Count == 0)
        {
            return;
        }

        // Read after the containers were listed: a job placed meanwhile shows as needing its container.
        var jobs = await queries.StatusOfAsync([.. candidates.Select(c => c.JobId!).Distinct(StringComparer.Ordinal)], ct);
        foreach (var container in candidates)
        {
            var known = jobs.TryGetValue(container.JobId!, out var job);
            if (!known)
            {
                if (container.Store != store.Id)
                {
                    continue; // another portal's, or made before containers carried their store: not ours to remove
                }
            }
            else if (job.Attempt == container.Attempt && job.Status is JobStatus.Starting or JobStatus.Running)
            {
                continue; // the current attempt after all
            }
            else if (options.Value.KeepContainers && !container.Running)
            {
                continue;
            }

            try
            {
                if (container.Running)
                {
                    await runtime.StopAsync(container.Id, TimeSpan.Zero, ct);
                }

                if (known)
                {
                    await capture.CatchUpAsync(runtime, container.JobId!, container.Attempt!.Value, container.Id, ct);
                    capture.Forget(container.JobId!, container.Attempt!.Value);
                }

                if (!options.Value.KeepContainers)
                {
                    await runtime.RemoveAsync(container.Id, ct);
                }

                logger.LeftoverRemoved(container.JobId!, container.Attempt!.Value.ToString(CultureInfo.InvariantCulture), container.Id);
            }
            catch (Exception ex) when (ex is not OperationCanceledException && ex is not ContainerRuntimeUnavailableException)
            {
                logger.RemoveFailed(container.JobId!, container.Id, ex);
            }
        }
    }
}
