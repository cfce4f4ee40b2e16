using BatchPortal.Engine.Notifications;
using BatchPortal.Engine.Storage;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;

namespace BatchPortal.PortalBenchmarks;

/// <summary>
/// The engine's own <see cref="JobQueries"/>, wired as AddBatchEngine wires it (a pooled BatchDbContext factory on SQLite),
/// on the running portal's database file: times the jobs page's queries without the page around them. It only reads.
/// </summary>
internal sealed class StoreProbe : IAsyncDisposable
{
    private readonly ServiceProvider _services;

    public StoreProbe(string databasePath)
    {
        var services = new ServiceCollection();
        services.AddSingleton(TimeProvider.System);
        services.AddSingleton(typeof(Microsoft.Extensions.Logging.ILogger<>), typeof(NullLogger<>));
        services.AddPooledDbContextFactory<BatchDbContext>(o => o.UseSqlite(
            new Microsoft.Data.Sqlite.SqliteConnectionStringBuilder { DataSource = databasePath, DefaultTimeout = 30 }.ToString()));
        services.AddSingleton<IJobEventPublisher, NoEvents>();
        services.AddSingleton<JobQueries>();
        _services = services.BuildServiceProvider();
        Jobs = _services.GetRequiredService<JobQueries>();
    }

    public JobQueries Jobs { get; }

    public ValueTask DisposeAsync() => _services.DisposeAsync();

    private sealed class NoEvents : IJobEventPublisher
    {
        public Task PublishAsync(JobStatusChanged change) => Task.CompletedTask;

        public Task PublishAsync(JobLogAppended appended) => Task.CompletedTask;

        public Task PublishAsync(ResourceChanged changed) => Task.CompletedTask;
    }
}
