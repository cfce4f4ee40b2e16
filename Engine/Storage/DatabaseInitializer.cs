using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Hosting;

namespace BatchPortal.Engine.Storage;

/// <summary>Creates the database file and its schema (or upgrades it) before anything else starts.</summary>
internal sealed class DatabaseInitializer(IDbContextFactory<BatchDbContext> dbFactory, StoreIdentity store) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var builder = new SqliteConnectionStringBuilder(db.Database.GetConnectionString());
        var folder = Path.GetDirectoryName(Path.GetFullPath(builder.DataSource));
        if (!string.IsNullOrEmpty(folder))
        {
            Directory.CreateDirectory(folder);
        }

        await db.Database.MigrateAsync(cancellationToken);

        // WAL lets the pages read while the engine writes; it is a property of the file, so setting it once is enough.
        await db.Database.ExecuteSqlRawAsync("PRAGMA journal_mode=WAL;", cancellationToken);
        await store.InitializeAsync(cancellationToken);
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
