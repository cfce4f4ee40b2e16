using System.Data.Common;
using Microsoft.EntityFrameworkCore.Diagnostics;

namespace BatchPortal.Engine.Storage;

/// <summary>
/// Per-connection SQLite settings, applied to every connection the engine opens:
/// <list type="bullet">
/// <item><c>busy_timeout</c>: SQLite itself waits for the write lock and retries within a millisecond or two. Without it,
/// Microsoft.Data.Sqlite's own retry sleeps 150 ms after each SQLITE_BUSY, so whenever two writers met (8 clients
/// submitting, the dispatcher promoting) one of them lost 150 ms. The wait is bounded as before, by the connection's
/// default timeout.</item>
/// <item><c>synchronous = NORMAL</c>: in WAL mode (the database's journal, set at start) a commit no longer waits for an
/// fsync of the log; the log is synced at checkpoints. The database stays consistent after a crash of the process or
/// the machine; what a power loss can undo is the last commits before it, not a half-written one. SQLite's
/// documentation recommends it for WAL; each SubmitJob and each status change is one commit, so the fsync was the
/// largest cost of a submission.</item>
/// <item><c>mmap_size</c> = 64 MiB: SQLite reads the first 64 MiB of the database through a memory map instead of copying
/// each page with a read call. Every commit by one connection empties the page cache of the others, so under load the
/// same pages were copied in again and again (in a profile at 100,000 jobs, a third of the portal's CPU went to those
/// copies). The mapped pages count in the portal's resident memory, hence the bound: all of a small database, the
/// front of a large one (mapping all of a 200 MiB database put the portal over 600 MiB).</item>
/// </list>
/// </summary>
internal sealed class SqliteConnectionSettings(int busyTimeoutMilliseconds) : DbConnectionInterceptor
{
    private readonly string _pragmas = $"PRAGMA busy_timeout = {busyTimeoutMilliseconds}; PRAGMA synchronous = NORMAL; PRAGMA mmap_size = 67108864;";

    public override void ConnectionOpened(DbConnection connection, ConnectionEndEventData eventData)
    {
        using var command = connection.CreateCommand();
        command.CommandText = _pragmas;
        command.ExecuteNonQuery();
    }

    public override async Task ConnectionOpenedAsync(DbConnection connection, ConnectionEndEventData eventData, CancellationToken cancellationToken = default)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = _pragmas;
        await command.ExecuteNonQueryAsync(cancellationToken);
    }
}
