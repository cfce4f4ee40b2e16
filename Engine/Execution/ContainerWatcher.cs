using System.Collections.Concurrent;
using BatchPortal.Engine.Domain;
using BatchPortal.Engine.Storage;
using Hangfire;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace BatchPortal.Engine.Execution;

/// <summary>
/// Follows each running container without holding a thread: streams its output into the log store as it is written,
/// and once Docker says the container has exited, hands completion to Hangfire. How many containers run at once is
/// therefore set by compute environment capacity, never by Hangfire's worker count. A watch never gives up while its job
/// runs: a stream that ends early, a Docker engine that does not answer, a database that times out, each is met by
/// following again after a pause; only Docker's own word that the container has exited (or is gone) ends it.
/// </summary>
public sealed class ContainerWatcher(
    IContainerRuntimeFactory runtimes,
    LogCapture capture,
    DockerHealth health,
    IBackgroundJobClient hangfire,
    JobStateMachine stateMachine,
    IOptions<DockerOptions> options,
    TimeProvider time,
    ILogger<ContainerWatcher> logger) : IHostedService, IDisposable
{
    private static readonly TimeSpan MaxPause = TimeSpan.FromSeconds(10);
    private readonly ConcurrentDictionary<string, Task> _watches = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, (DateTimeOffset Since, bool SeenLive)> _completing = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _stopping = new();

    public bool IsWatching(string jobId, int attempt) => _watches.ContainsKey(AttemptKey.Of(jobId, attempt));

    /// <summary>The attempt's completion was handed to Hangfire at the returned time and has not reported back.</summary>
    public DateTimeOffset? CompletingSince(string jobId, int attempt) =>
        _completing.TryGetValue(AttemptKey.Of(jobId, attempt), out var c) ? c.Since : null;

    /// <summary>
    /// Whether this node followed the container until it exited, with its engine answering all along: then the exit
    /// happened a moment ago. Otherwise (found exited after a restart or an outage) Docker's own exit time is the one to
    /// record.
    /// </summary>
    public bool ExitSeenLive(string jobId, int attempt) => _completing.TryGetValue(AttemptKey.Of(jobId, attempt), out var c) && c.SeenLive;

    public int Count => _watches.Count;

    /// <summary>
    /// Starts following a container; a second call for the same attempt is ignored. With a <paramref name="deadline"/>
    /// (the attempt's start plus <c>timeout.attemptDurationSeconds</c>) the container is stopped when it passes.
    /// <paramref name="live"/>: the container was just started, so this watch sees it run (not so when re-attaching).
    /// </summary>
    public void Watch(string jobId, int attempt, string containerId, string endpoint, DateTimeOffset? deadline = null, bool live = true)
    {
        var key = AttemptKey.Of(jobId, attempt);

        // Registered before it starts, so that its own removal at the end cannot race the registration.
        // Tracked in _watches and awaited at shutdown; not fire-and-forget.
        var watch = new Task<Task>(() => WatchAsync(key, jobId, attempt, containerId, endpoint, deadline, live));
        if (_watches.TryAdd(key, watch.Unwrap()))
        {
            _completing.TryRemove(key, out _);
            watch.Start(TaskScheduler.Default);
        }
    }

    /// <summary>Completion has run for the attempt (whatever it decided): the attempt needs no more watching.</summary>
    public void Completed(string jobId, int attempt)
    {
        _completing.TryRemove(AttemptKey.Of(jobId, attempt), out _);
        capture.Forget(jobId, attempt);
    }

    public void Dispose() => _stopping.Dispose();

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        try
        {
            await _stopping.CancelAsync();
        }
        catch (ObjectDisposedException)
        {
            // Already disposed: a host torn down (as the test hosts are) can dispose its singletons before it stops its
            // hosted services. Every watch has ended with it.
            return;
        }

        await Task.WhenAll(_watches.Values).WaitAsync(cancellationToken).ContinueWith(_ => { }, TaskScheduler.Default);
    }

    private async Task WatchAsync(string key, string jobId, int attempt, string containerId, string endpoint, DateTimeOffset? deadline, bool live)
    {
        var ct = _stopping.Token;
        var runtime = runtimes.ForEndpoint(endpoint);
        using var exited = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var timer = deadline is { } d ? EnforceDeadlineAsync(runtime, jobId, containerId, d, exited.Token) : Task.CompletedTask;
        var failures = 0;
        var engineLost = false;
        try
        {
            while (!ct.IsCancellationRequested)
            {
                try
                {
                    await FollowAsync(runtime, jobId, attempt, containerId, ct);
                    var state = await runtime.InspectAsync(containerId, ct);
                    if (engineLost)
                    {
                        engineLost = false;
                        await EngineBackAsync(jobId, attempt, stillRunning: state?.Running == true, ct);
                    }

                    if (state is null || !state.Running)
                    {
                        break;
                    }

                    // Docker ended the stream while the container runs (a cut connection, a restarted engine API):
                    // follow again from what is stored.
                    failures++;
                }
                catch (ContainerRuntimeUnavailableException ex)
                {
                    failures++;
                    live = false;
                    await health.ReportUnreachableAsync(ex.Endpoint, ex.Error);
                    if (!engineLost)
                    {
                        engineLost = true;
                        logger.WatchFailed(jobId, containerId, ex);
                        await EngineLostAsync(jobId, attempt, endpoint, ex.Error, ct);
                    }
                }
                catch (Exception ex) when (ex is not OperationCanceledException || !ct.IsCancellationRequested)
                {
                    // Not Docker's answer about the container (the database timed out, a bug): the container's fate is
                    // unknown, so it is followed again, never taken for finished.
                    failures++;
                    logger.WatchFailed(jobId, containerId, ex);
                }

                if (failures > 0)
                {
                    await Task.Delay(Pause(failures), time, ct);
                }
            }

            if (ct.IsCancellationRequested)
            {
                return;
            }

            await exited.CancelAsync();
            await timer;
            _completing[key] = (time.GetUtcNow(), live);
            hangfire.Enqueue<RunJob>(x => x.CompleteAsync(jobId, attempt, containerId, CancellationToken.None));
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // The portal is stopping; the container goes on and is found again by its labels at the next start.
        }
        finally
        {
            await exited.CancelAsync();
            _watches.TryRemove(key, out _);
        }
    }

    /// <summary>
    /// Follows the output until Docker ends the stream. A stream can also just stop (a connection half-open after a
    /// network fault, an engine API that hangs): a check beside it asks Docker every <see cref="CheckEvery"/> whether the
    /// container still runs, and once it has exited ends the follow, so that completion reads the rest instead.
    /// </summary>
    private async Task FollowAsync(IContainerRuntime runtime, string jobId, int attempt, string containerId, CancellationToken ct)
    {
        using var follow = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var check = CheckAsync(runtime, containerId, follow);
        try
        {
            await capture.CaptureAsync(runtime, jobId, attempt, containerId, follow: true, follow.Token);
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            // Ended by the check: the container has exited.
        }
        finally
        {
            await follow.CancelAsync();
            await check;
        }
    }

    internal static readonly TimeSpan CheckEvery = TimeSpan.FromSeconds(15);

    private async Task CheckAsync(IContainerRuntime runtime, string containerId, CancellationTokenSource follow)
    {
        try
        {
            while (true)
            {
                await Task.Delay(CheckEvery, time, follow.Token);
                try
                {
                    if (await runtime.InspectAsync(containerId, follow.Token) is not { Running: true })
                    {
                        // Docker normally ends the stream itself a moment after the exit: give it that moment.
                        await Task.Delay(TimeSpan.FromSeconds(2), time, follow.Token);
                        await follow.CancelAsync();
                        return;
                    }
                }
                catch (ContainerRuntimeUnavailableException)
                {
                    // The stream's own failure, if any, is the one that counts.
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>1, 2, 4, 8 seconds, then every 10 (the first retry after a cut stream is at once).</summary>
    private static TimeSpan Pause(int failures) =>
        failures <= 1 ? TimeSpan.Zero : TimeSpan.FromSeconds(Math.Min(MaxPause.TotalSeconds, Math.Pow(2, failures - 2)));

    /// <summary>
    /// The job says what is going on while the engine is away, and the attempt remembers since when it was not heard from:
    /// a container found stopped with a failure afterwards was stopped with the engine (AWS: the host terminated).
    /// </summary>
    private async Task EngineLostAsync(string jobId, int attempt, string endpoint, string error, CancellationToken ct)
    {
        try
        {
            var since = health.LastReachableAt(endpoint) ?? time.GetUtcNow();
            await stateMachine.UpdateAttemptAsync(jobId, attempt, [JobStatus.Running], a => a.HostUnreachableSince ??= since, ct);
            await stateMachine.SetReasonsAsync(JobStatus.Running, [(jobId, OutageReason(endpoint, since, error))], ct);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            logger.WatchFailed(jobId, endpoint, ex);
        }
    }

    /// <summary>The engine answers again: when the container ran through it, the outage is forgotten.</summary>
    private async Task EngineBackAsync(string jobId, int attempt, bool stillRunning, CancellationToken ct)
    {
        if (!stillRunning)
        {
            return;
        }

        await stateMachine.UpdateAttemptAsync(jobId, attempt, [JobStatus.Running], a => a.HostUnreachableSince = null, ct);
        await stateMachine.SetReasonsAsync(JobStatus.Running, [(jobId, null)], ct);
    }

    /// <summary>What a RUNNING job says while its engine does not answer.</summary>
    public static string OutageReason(string endpoint, DateTimeOffset since, string error) =>
        $"Docker engine unreachable at {endpoint} since {since:yyyy-MM-dd HH:mm:ss} UTC ({error}); the container's state is unknown until it answers.";

    /// <summary>
    /// AWS's attempt timeout: past the deadline the job is marked timed out and its container stopped (SIGTERM, then
    /// SIGKILL after the grace period); completion then fails it without a retry.
    /// </summary>
    private async Task EnforceDeadlineAsync(IContainerRuntime runtime, string jobId, string containerId, DateTimeOffset deadline, CancellationToken ct)
    {
        try
        {
            var wait = deadline - time.GetUtcNow();
            if (wait > TimeSpan.Zero)
            {
                await Task.Delay(wait, time, ct);
            }

            if (await stateMachine.MarkTimedOutAsync(jobId, ct))
            {
                await runtime.StopAsync(containerId, options.Value.StopGracePeriod, ct);
            }
        }
        catch (OperationCanceledException)
        {
            // The container exited first, or the portal is stopping.
        }
        catch (ContainerRuntimeUnavailableException ex)
        {
            // The reconciler stops it when the engine answers: a timed-out job's container is stopped wherever it is found.
            logger.WatchFailed(jobId, containerId, ex);
        }
    }
}
