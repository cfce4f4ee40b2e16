using BatchPortal.Engine.Domain;
using BatchPortal.Engine.Execution;
using BatchPortal.Engine.Jobs;
using BatchPortal.Engine.Notifications;
using BatchPortal.Engine.Resources;
using BatchPortal.Engine.Dispatch;
using BatchPortal.Engine.Storage;
using Hangfire;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace BatchPortal.Engine;

public static class EngineServiceCollectionExtensions
{
    /// <summary>
    /// The engine: storage, the job state machine, the dispatcher, Hangfire-driven execution on Docker, and live events.
    /// </summary>
    public static IHostApplicationBuilder AddBatchEngine(this IHostApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddOptions<BatchOptions>().BindConfiguration(BatchOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<StorageOptions>().BindConfiguration(StorageOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<DispatchOptions>().BindConfiguration(DispatchOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<RetentionOptions>().BindConfiguration(RetentionOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<DockerOptions>().BindConfiguration(DockerOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<LogOptions>().BindConfiguration(LogOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.TryAddSingleton(TimeProvider.System);

        var contentRoot = builder.Environment.ContentRootPath;
        services.AddPooledDbContextFactory<BatchDbContext>((sp, options) =>
        {
            var path = sp.GetRequiredService<IOptions<StorageOptions>>().Value.DatabasePath;
            var connection = new SqliteConnectionStringBuilder
            {
                DataSource = Path.IsPathRooted(path) ? path : Path.Combine(contentRoot, path),
                DefaultTimeout = 30,
            };

            // Interceptors registered in the container join the engine's own (tests inject database faults this way).
            options.UseSqlite(connection.ToString())
                .AddInterceptors(
                [
                    new SqliteConnectionSettings(connection.DefaultTimeout * 1000),
                    new SqliteWriteGate(TimeSpan.FromSeconds(connection.DefaultTimeout), sp.GetRequiredService<ILoggerFactory>().CreateLogger<SqliteWriteGate>()),
                    .. sp.GetServices<IInterceptor>(),
                ]);
        });

        // Hosted services start in registration order: the schema exists before anything reads it.
        services.AddHostedService<DatabaseInitializer>();

        services.AddSingleton<Arns>();
        services.AddDataProtection();
        services.AddSingleton<Access.AuditTrail>();
        services.AddSingleton<Access.UserService>();
        services.AddSingleton<StoreIdentity>();

        // Jobs: one writer of the state machine, the batching of new jobs, and the reads by purpose.
        services.AddSingleton<JobStateMachine>();
        services.AddSingleton<JobSubmissions>();
        services.AddSingleton<JobQueries>();
        services.AddSingleton<JobStatistics>();
        services.AddSingleton<DispatchQueries>();
        services.AddSingleton<LogStore>();

        // The reactions to a job's moves, in order: the election's filters (retry), then what follows a committed change.
        foreach (var filter in JobElection.Default)
        {
            services.AddSingleton(filter);
        }

        services.AddSingleton<IJobTransitionObserver, PublishJobEvents>();
        services.AddSingleton<IJobTransitionObserver, DispatchWake>();

        services.AddSingleton<ComputeEnvironmentService>();
        services.AddSingleton<JobQueueService>();
        services.AddSingleton<JobDefinitionService>();
        services.AddSingleton<SubmitCatalog>();
        services.AddSingleton<JobService>();
        services.AddSingleton<TagService>();

        services.AddSingleton<DispatchSignal>();
        services.AddSingleton<JobDispatcher>();
        services.AddSingleton<DispatchLoop>();

        services.AddSingleton<JobEventBroadcaster>();
        services.AddSingleton<IJobEventPublisher, JobEventPublisher>();
        services.AddSignalR();

        services.TryAddSingleton<IContainerRuntimeFactory, DockerContainerRuntimeFactory>();
        services.AddSingleton<LogCapture>();
        services.AddSingleton<ContainerWatcher>();
        services.AddHostedService(sp => sp.GetRequiredService<ContainerWatcher>());
        services.AddSingleton<RunJob>();
        services.AddSingleton<Reconciler>();
        services.AddSingleton<DockerHealth>();
        services.AddHostedService(sp => sp.GetRequiredService<DockerHealth>());
        services.AddSingleton<RetentionPurge>();
        services.AddHostedService<RetentionRegistration>();
        services.AddSingleton<Schedules.ScheduleService>();
        services.AddSingleton<Schedules.ScheduleRunner>();
        services.AddSingleton<Schedules.ScheduleTriggers>();

        // State-changing work (reconciliation, schedule catch-up, dispatch) after the host has started, in order.
        services.AddHostedService<EngineStartup>();

        // Hangfire executes (launch, complete); the engine owns every Batch state. This host's own storage, activator and logs.
        services.AddEngineHangfire();

        return builder;
    }
}
