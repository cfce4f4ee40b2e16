using BatchPortal.Engine.Notifications;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace BatchPortal.Engine.Dispatch;

/// <summary>
/// Runs dispatch passes one at a time, woken by <see cref="DispatchSignal"/> (job changes, through <see cref="DispatchWake"/>;
/// compute environments, queues and Docker endpoints that changed) or the poll interval. The engine's startup runs it once
/// the host has started and running containers are followed again.
/// </summary>
public sealed class DispatchLoop(
    JobDispatcher dispatcher,
    DispatchSignal signal,
    JobEventBroadcaster broadcaster,
    IOptions<DispatchOptions> options,
    TimeProvider time,
    ILogger<DispatchLoop> logger)
{
    private static readonly TimeSpan MaxSpacing = TimeSpan.FromMilliseconds(250);

    private static readonly HashSet<string> WakingKinds = ["compute-environment", "job-queue", "docker-endpoint"];

    public async Task RunAsync(CancellationToken stoppingToken)
    {
        using var resources = broadcaster.SubscribeToResources(r =>
        {
            if (WakingKinds.Contains(r.Kind))
            {
                signal.Notify();
            }

            return Task.CompletedTask;
        });

        while (!stoppingToken.IsCancellationRequested)
        {
            var started = time.GetTimestamp();
            try
            {
                if (await dispatcher.DispatchOnceAsync(stoppingToken))
                {
                    // Work was done: look again (after the spacing below), since a placement may have freed the way for more.
                    signal.Notify();
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                logger.DispatchPassFailed(ex);
            }

            try
            {
                var took = time.GetElapsedTime(started);
                await signal.WaitAsync(options.Value.PollInterval, time, stoppingToken);

                // Under load the next pass waits: at least MinPassInterval after this one began, and as long as this one
                // took (so passes take at most half the time), up to MaxSpacing. A pass costs more with a long backlog
                // (its queries read every PENDING job and a page of RUNNABLE ones), and back-to-back passes took the CPU
                // the submissions needed; an idle engine still answers an event at once, and a backlog still drains
                // at a pass every quarter second or better.
                var spacing = TimeSpan.FromTicks(Math.Max(options.Value.MinPassInterval.Ticks, Math.Min(took.Ticks * 2, MaxSpacing.Ticks)));
                var rest = spacing - time.GetElapsedTime(started);
                if (rest > TimeSpan.Zero)
                {
                    await Task.Delay(rest, time, stoppingToken);
                }
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }
}
