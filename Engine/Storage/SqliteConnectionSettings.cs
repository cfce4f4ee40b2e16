using System.Data.Common;
using System.Runtime.CompilerServices;
using Microsoft.Data.Sqlite;
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
/// Both belong to SQLite's connection, which Microsoft.Data.Sqlite pools: they are set once per pooled connection, not on
/// every open (each request opened a connection two or three times, and paid for the statements each time).
/// </summary>
internal sealed class SqliteConnectionSettings(int busyTimeoutMilliseconds) : DbConnectionInterceptor
{
    private readonly string _pragmas = $"PRAGMA busy_timeout = {busyTimeoutMilliseconds}; PRAGMA synchronous = NORMAL;";

    // The native connections already set; an entry goes when its connection is closed for good and collected.
    private readonly ConditionalWeakTable<SQLitePCL.sqlite3, object> _applied = [];

    public override void ConnectionOpened(DbConnection connection, ConnectionEndEventData eventData)
    {
        if (IsSet(connection))
        {
            return;
        }

        using var command = connection.CreateCommand();
        command.CommandText = _pragmas;
        command.ExecuteNonQuery();
        MarkSet(connection);
    }

    public override async Task ConnectionOpenedAsync(DbConnection connection, ConnectionEndEventData eventData, CancellationToken cancellationToken = default)
    {
        if (IsSet(connection))
        {
            return;
        }

        await using var command = connection.CreateCommand();
        command.CommandText = _pragmas;
        await command.ExecuteNonQueryAsync(cancellationToken);
        MarkSet(connection);
    }

    private bool IsSet(DbConnection connection) =>
        connection is SqliteConnection { Handle: { } handle } && _applied.TryGetValue(handle, out _);

    // Marked only once the statements ran: a connection whose settings failed (a fault, a busy database) tries again at
    // its next open instead of running without them.
    private void MarkSet(DbConnection connection)
    {
        if (connection is SqliteConnection { Handle: { } handle })
        {
            _applied.AddOrUpdate(handle, this);
        }
    }
}
