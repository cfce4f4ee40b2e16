using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace BatchPortal.Engine.Scheduling;

/// <summary>Runs dispatch passes one at a time, woken by <see cref="DispatchSignal"/> or the poll interval.</summary>
internal sealed class DispatchLoop(
    IServiceScopeFactory scopes,
    DispatchSignal signal,
    IOptions<SchedulerOptions> options,
    TimeProvider time,
    ILogger<DispatchLoop> logger) : BackgroundService
{
    private static readonly TimeSpan MaxSpacing = TimeSpan.FromMilliseconds(250);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            var started = time.GetTimestamp();
            try
            {
                await using var scope = scopes.CreateAsyncScope();
                var dispatcher = scope.ServiceProvider.GetRequiredService<JobDispatcher>();
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
