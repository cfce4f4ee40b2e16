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
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await using var scope = scopes.CreateAsyncScope();
                var dispatcher = scope.ServiceProvider.GetRequiredService<JobDispatcher>();
                if (await dispatcher.DispatchOnceAsync(stoppingToken))
                {
                    // Work was done: look again at once, since a placement may have freed the way for more.
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
                await signal.WaitAsync(options.Value.PollInterval, time, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }
}
