using System.Data.Common;
using Microsoft.EntityFrameworkCore.Diagnostics;

namespace BatchPortal.Engine.Storage;

/// <summary>
/// Lets SQLite itself wait for the write lock (<c>PRAGMA busy_timeout</c>) on every connection the engine opens. SQLite
/// retries within a millisecond or two; without it, Microsoft.Data.Sqlite's own retry sleeps 150 ms after each
/// SQLITE_BUSY, so whenever two writers meet (8 clients submitting, the dispatcher promoting) one of them lost 150 ms.
/// The wait is bounded as before, by the connection's default timeout.
/// </summary>
internal sealed class SqliteBusyTimeout(int milliseconds) : DbConnectionInterceptor
{
    private readonly string _pragma = $"PRAGMA busy_timeout = {milliseconds};";

    public override void ConnectionOpened(DbConnection connection, ConnectionEndEventData eventData)
    {
        using var command = connection.CreateCommand();
        command.CommandText = _pragma;
        command.ExecuteNonQuery();
    }

    public override async Task ConnectionOpenedAsync(DbConnection connection, ConnectionEndEventData eventData, CancellationToken cancellationToken = default)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = _pragma;
        await command.ExecuteNonQueryAsync(cancellationToken);
    }
}
