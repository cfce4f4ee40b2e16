using System.Collections.Immutable;
using Hangfire;
using Hangfire.AspNetCore;
using Hangfire.InMemory;
using Hangfire.Logging;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using HangfireLogLevel = Hangfire.Logging.LogLevel;
using LogLevel = Microsoft.Extensions.Logging.LogLevel;

namespace BatchPortal.Engine.Execution;

/// <summary>
/// Hangfire as one host's own. AddHangfire resolves the storage and the job activator from process-wide statics
/// (JobStorage.Current, JobActivator.Current) that every host overwrites as it starts, and logs through one process-wide
/// provider bound to the last host's logger factory. In a process with more than one host (every test run; a tool hosting
/// two engines) a host then ran another's jobs against the wrong container graph, and once that other host was disposed,
/// the first Hangfire filter built afterwards (a method's [AutomaticRetry], at its first enqueue) threw
/// ObjectDisposedException from the dead logger factory: TerminateJob answered 500. Here the storage and the activator
/// are this host's singletons (registered before AddHangfire, whose TryAdd keeps them; the storage is disposed with the
/// host), and Hangfire's log provider writes to whichever host is still alive.
/// </summary>
internal static class HangfireHosting
{
    public static IServiceCollection AddEngineHangfire(this IServiceCollection services)
    {
        services.AddSingleton<JobStorage>(_ => new InMemoryStorage());
        services.AddSingleton<JobActivator>(sp => new AspNetCoreJobActivator(sp.GetRequiredService<IServiceScopeFactory>()));
        services.AddSingleton<HangfireLogs.Attachment>();

        // Hangfire executes (launch, complete); the engine owns every Batch state. Its own retries are off: a container
        // run retried by Hangfire would be an attempt AWS Batch never made.
        services.AddHangfire((sp, config) =>
        {
            _ = sp.GetRequiredService<HangfireLogs.Attachment>();
            config
                .SetDataCompatibilityLevel(CompatibilityLevel.Version_180)
                .UseSimpleAssemblyNameTypeSerializer()
                .UseRecommendedSerializerSettings()
                .UseLogProvider(HangfireLogs.Instance);
            NoGlobalRetries();
        });
        services.AddHangfireServer(options =>
        {
            options.SchedulePollingInterval = TimeSpan.FromSeconds(1);
            options.WorkerCount = Math.Max(4, Environment.ProcessorCount * 2);
        });

        return services;
    }

    /// <summary>
    /// Hangfire's filters are one list for the process, with a default of 10 retries in it; every host's configuration
    /// leaves exactly one, of none (methods that may retry say so themselves).
    /// </summary>
    private static void NoGlobalRetries()
    {
        lock (FilterGate)
        {
            foreach (var retry in GlobalJobFilters.Filters.Select(f => f.Instance).OfType<AutomaticRetryAttribute>().Where(r => r.Attempts != 0).ToList())
            {
                GlobalJobFilters.Filters.Remove(retry);
            }

            if (!GlobalJobFilters.Filters.Any(f => f.Instance is AutomaticRetryAttribute))
            {
                GlobalJobFilters.Filters.Add(new AutomaticRetryAttribute { Attempts = 0 });
            }
        }
    }

    private static readonly Lock FilterGate = new();
}

/// <summary>
/// Hangfire's process-wide log provider, writing to the logger factory of the newest host still alive (the only one in
/// a portal process). A message logged when none is alive is dropped, never thrown.
/// </summary>
internal sealed class HangfireLogs : ILogProvider
{
    public static readonly HangfireLogs Instance = new();

    private ImmutableList<ILoggerFactory> _alive = [];

    private HangfireLogs()
    {
    }

    public ILog GetLogger(string name) => new HostLog(this, name);

    private ILoggerFactory? Newest()
    {
        var alive = Volatile.Read(ref _alive);
        return alive.Count == 0 ? null : alive[^1];
    }

    /// <summary>A host's logger factory joined to Hangfire's logs for as long as the host lives.</summary>
    public sealed class Attachment : IDisposable
    {
        private readonly ILoggerFactory _factory;

        public Attachment(ILoggerFactory factory)
        {
            _factory = factory;
            ImmutableInterlocked.Update(ref Instance._alive, (list, f) => list.Add(f), factory);
        }

        public void Dispose() => ImmutableInterlocked.Update(ref Instance._alive, (list, f) => list.Remove(f), _factory);
    }

    private sealed class HostLog(HangfireLogs owner, string name) : ILog
    {
        private Bound? _current;

        public bool Log(HangfireLogLevel logLevel, Func<string>? messageFunc, Exception? exception = null)
        {
            var logger = Logger();
            if (logger is null)
            {
                return false;
            }

            var level = logLevel switch
            {
                HangfireLogLevel.Trace => LogLevel.Trace,
                HangfireLogLevel.Debug => LogLevel.Debug,
                HangfireLogLevel.Info => LogLevel.Information,
                HangfireLogLevel.Warn => LogLevel.Warning,
                HangfireLogLevel.Error => LogLevel.Error,
                HangfireLogLevel.Fatal => LogLevel.Critical,
                _ => LogLevel.None,
            };

            // Without a message Hangfire only asks whether the level is on.
            if (messageFunc is null)
            {
                return logger.IsEnabled(level);
            }

            // Hangfire's messages come formatted: passed as the state, never parsed as a template.
            logger.Log(level, default, messageFunc(), exception, static (message, _) => message);
            return true;
        }

        private ILogger? Logger()
        {
            var factory = owner.Newest();
            if (factory is null)
            {
                return null;
            }

            if (Volatile.Read(ref _current) is { } current && ReferenceEquals(current.Factory, factory))
            {
                return current.Logger;
            }

            try
            {
                var logger = factory.CreateLogger(name);
                Volatile.Write(ref _current, new Bound(factory, logger));
                return logger;
            }
            catch (ObjectDisposedException)
            {
                // The host is going away between its last log and its detach.
                return null;
            }
        }

        private sealed record Bound(ILoggerFactory Factory, ILogger Logger);
    }
}
