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
/// fsync of the log; the log is synced at checkpoints. The database stays consistent whatever crashes; a crash of the
/// portal process loses nothing, and what a power loss or a crash of the operating system can undo is the last commits
/// before it, never a half-written one. SQLite's documentation recommends it for WAL. Each SubmitJob and each status
/// change is a commit, and each commit waited for the disk.</item>
/// </list>
/// </summary>
internal sealed class SqliteConnectionSettings(int busyTimeoutMilliseconds) : DbConnectionInterceptor
{
    private readonly string _pragmas = $"PRAGMA busy_timeout = {busyTimeoutMilliseconds}; PRAGMA synchronous = NORMAL;";

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
