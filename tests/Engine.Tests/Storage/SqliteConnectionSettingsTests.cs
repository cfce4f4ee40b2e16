using BatchPortal.Engine.Storage;
using Microsoft.Data.Sqlite;

namespace BatchPortal.Engine.Tests.Storage;

/// <summary>SQLite's per-connection settings: once per pooled connection, and never skipped after they failed.</summary>
public sealed class SqliteConnectionSettingsTests : IDisposable
{
    private readonly string _path = Path.Combine(Path.GetTempPath(), $"batchportal-settings-{Guid.NewGuid():N}.db");

    [Fact]
    public async Task Settings_AreAppliedAtTheNextOpen_WhenTheyFailedAtThisOne()
    {
        var settings = new SqliteConnectionSettings(4321);
        await using var connection = new SqliteConnection($"Data Source={_path}");
        await connection.OpenAsync();

        // The statements do not run (here: the open is cancelled); the connection must not count as set.
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => settings.ConnectionOpenedAsync(connection, null!, new CancellationToken(canceled: true)));
        await settings.ConnectionOpenedAsync(connection, null!, CancellationToken.None);
        Assert.Equal(4321L, await ScalarAsync(connection, "PRAGMA busy_timeout"));
        Assert.Equal(1L, await ScalarAsync(connection, "PRAGMA synchronous")); // NORMAL

        // Once set, a later open of the same pooled connection does not run them again.
        await ScalarAsync(connection, "PRAGMA busy_timeout = 7");
        await settings.ConnectionOpenedAsync(connection, null!, CancellationToken.None);
        Assert.Equal(7L, await ScalarAsync(connection, "PRAGMA busy_timeout"));
    }

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        File.Delete(_path);
    }

    private static async Task<object?> ScalarAsync(SqliteConnection connection, string sql)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        return await command.ExecuteScalarAsync();
    }
}
