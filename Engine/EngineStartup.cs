using BatchPortal.Engine.Dispatch;
using BatchPortal.Engine.Execution;
using BatchPortal.Engine.Schedules;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace BatchPortal.Engine;

/// <summary>
/// The engine's work that changes state starts here, after the host has started (Quartz's hosted service waits for
/// ApplicationStarted), and in a known order: first the running containers are followed again, so that nothing is
/// launched twice or taken for lost; then the schedules are registered and catch up on missed runs; then the dispatcher
/// and the reconciler run for as long as the host does.
/// </summary>
internal sealed class EngineStartup(
    IHostApplicationLifetime lifetime,
    Reconciler reconciler,
    ScheduleService schedules,
    DispatchLoop dispatch,
    ILogger<EngineStartup> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using (lifetime.ApplicationStarted.Register(() => started.TrySetResult()))
        {
            try
            {
                await started.Task.WaitAsync(stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }

        await StepAsync("reconcile", reconciler.ReconcileOnceAsync, stoppingToken);
        await StepAsync("schedules", schedules.RegisterAllAsync, stoppingToken);
        await Task.WhenAll(dispatch.RunAsync(stoppingToken), reconciler.RunAsync(stoppingToken));
    }

    private async Task StepAsync(string step, Func<CancellationToken, Task> run, CancellationToken ct)
    {
        try
        {
            await run(ct);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !ct.IsCancellationRequested)
        {
            logger.StartupStepFailed(step, ex);
        }
    }
}
