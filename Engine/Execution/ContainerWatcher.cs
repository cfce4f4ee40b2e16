using System.Collections.Concurrent;
using System.Threading.Channels;
using BatchPortal.Engine.Storage;
using Hangfire;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace BatchPortal.Engine.Execution;

/// <summary>
/// Follows each running container without holding a thread: streams its output into the log store as it is written,
/// waits for the exit, then hands completion to Hangfire. How many containers run at once is therefore set by compute
/// environment capacity, never by Hangfire's worker count.
/// </summary>
public sealed class ContainerWatcher(
    IContainerRuntimeFactory runtimes,
    LogStore logs,
    DockerHealth health,
    IBackgroundJobClient hangfire,
    JobStore jobs,
    Microsoft.Extensions.Options.IOptions<DockerOptions> options,
    TimeProvider time,
    ILogger<ContainerWatcher> logger) : IHostedService, IDisposable
{
    private const int MaxBatch = 500;
    private readonly ConcurrentDictionary<string, Task> _watches = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _stopping = new();

    public bool IsWatching(string jobId, int attempt) => _watches.ContainsKey(Key(jobId, attempt));

    public int Count => _watches.Count;

    /// <summary>
    /// Starts following a container; a second call for the same attempt is ignored. With a <paramref name="deadline"/>
    /// (the attempt's start plus <c>timeout.attemptDurationSeconds</c>) the container is stopped when it passes.
    /// </summary>
    public void Watch(string jobId, int attempt, string containerId, string endpoint, DateTimeOffset? deadline = null)
    {
        var key = Key(jobId, attempt);

        // Registered before it starts, so that its own removal at the end cannot race the registration.
        // Tracked in _watches and awaited at shutdown; not fire-and-forget.
        var watch = new Task<Task>(() => WatchAsync(key, jobId, attempt, containerId, endpoint, deadline));
        if (_watches.TryAdd(key, watch.Unwrap()))
        {
            watch.Start(TaskScheduler.Default);
        }
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

    private async Task WatchAsync(string key, string jobId, int attempt, string containerId, string endpoint, DateTimeOffset? deadline)
    {
        var ct = _stopping.Token;
        var runtime = runtimes.ForEndpoint(endpoint);
        using var exited = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var timer = deadline is { } d ? EnforceDeadlineAsync(runtime, jobId, containerId, d, exited.Token) : Task.CompletedTask;
        try
        {
            await StoreLogsAsync(runtime, jobId, attempt, containerId, ct);
            await runtime.WaitAsync(containerId, ct);
            await exited.CancelAsync();
            await timer;
            hangfire.Enqueue<RunJob>(x => x.CompleteAsync(jobId, attempt, containerId, CancellationToken.None));
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // The portal is stopping; the container goes on and is found again by its labels at the next start.
        }
        catch (ContainerRuntimeUnavailableException ex)
        {
            // The job stays RUNNING; when the engine answers again, recovery re-attaches to the container.
            await health.ReportUnreachableAsync(endpoint, ex.Message[(ex.Message.IndexOf(": ", StringComparison.Ordinal) + 2)..]);
            logger.WatchFailed(jobId, containerId, ex);
        }
        catch (Exception ex)
        {
            logger.WatchFailed(jobId, containerId, ex);
            hangfire.Enqueue<RunJob>(x => x.CompleteAsync(jobId, attempt, containerId, CancellationToken.None));
        }
        finally
        {
            _watches.TryRemove(key, out _);
        }
    }

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

            if (await jobs.MarkTimedOutAsync(jobId, ct))
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
            logger.WatchFailed(jobId, containerId, ex);
        }
    }

    private async Task StoreLogsAsync(IContainerRuntime runtime, string jobId, int attempt, string containerId, CancellationToken ct)
    {
        // After a restart, continue where the stored log ends. Docker's `since` has one-second steps, and the store keeps
        // milliseconds while Docker's timestamps have nanoseconds, so a timestamp cannot tell a stored line from a new one
        // in that second. What Docker sends again from that second starts with the lines stored from it, in the same
        // order: those are skipped by count.
        var last = await logs.LastTimestampAsync(jobId, attempt, ct);
        DateTimeOffset? since = last is { } l ? DateTimeOffset.FromUnixTimeSeconds(l.ToUnixTimeSeconds()) : null;
        var stored = since is { } s ? await logs.CountSinceAsync(jobId, attempt, s, ct) : 0;
        var lines = Channel.CreateUnbounded<LogLine>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
        var reader = Task.Run(
            async () =>
            {
                try
                {
                    await foreach (var line in runtime.ReadLogsAsync(containerId, since, follow: true, ct))
                    {
                        if (stored > 0)
                        {
                            stored--;
                            continue;
                        }

                        await lines.Writer.WriteAsync(line, ct);
                    }

                    lines.Writer.Complete();
                }
                catch (Exception ex)
                {
                    lines.Writer.Complete(ex);
                }
            },
            ct);

        // Write whatever has arrived as one batch: one row per line, few transactions under load, no delay when quiet.
        var batch = new List<LogEvent>(MaxBatch);
        while (await lines.Reader.WaitToReadAsync(ct))
        {
            while (batch.Count < MaxBatch && lines.Reader.TryRead(out var line))
            {
                batch.Add(new LogEvent { JobId = jobId, Attempt = attempt, Stream = line.Stream, Timestamp = line.Timestamp, Message = line.Text });
            }

            await logs.AppendAsync([.. batch], CancellationToken.None);
            batch.Clear();
        }

        await reader;
    }

    private static string Key(string jobId, int attempt) => $"{jobId}#{attempt}";
}
