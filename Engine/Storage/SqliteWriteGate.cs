using System.Collections.Concurrent;
using System.Data.Common;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Microsoft.Extensions.Logging;

namespace BatchPortal.Engine.Storage;

/// <summary>
/// Lets the engine's write transactions on SQLite take turns in order, inside the process, before they ask SQLite for its
/// write lock. SQLite has one writer at a time, and a writer that finds the lock taken sleeps and tries again (1, 2, 5 …
/// 100 ms apart) instead of queueing; between two writers that each come back at once (the submissions' group commit
/// and the dispatcher's moves under load) the sleeper kept losing. Measured with 8 clients submitting: dispatcher
/// passes of up to 2 s spent asleep, submissions waiting up to 2 s behind them, and the CPU half idle. Behind this gate
/// each waits exactly as long as the transactions before it take.
/// <para>
/// The turn is taken when EF starts a transaction (<c>BeginTransaction</c>, or SaveChanges's own: the context makes one
/// for every SaveChanges) and given back when it commits, rolls back or fails, or at the latest when its connection
/// closes (a transaction disposed without either). Reads take no turn: in WAL mode they never wait for the writer.
/// A turn not had within <paramref name="timeout"/> (a transaction held that long) goes ahead without one, leaving it to
/// SQLite's own wait as before. Only for SQLite: other databases lock rows, not the file.
/// </para>
/// </summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Design", "CA1001:Types that own disposable fields should be disposable", Justification = "The semaphore's wait handle is never asked for, so it holds nothing to dispose; it lives as long as the context options.")]
internal sealed class SqliteWriteGate(TimeSpan timeout, ILogger logger) : IDbTransactionInterceptor, IDbConnectionInterceptor
{
    private readonly SemaphoreSlim _turn = new(1, 1);
    private readonly ConcurrentDictionary<DbConnection, bool> _holders = new(ReferenceEqualityComparer.Instance);

    public InterceptionResult<DbTransaction> TransactionStarting(DbConnection connection, TransactionStartingEventData eventData, InterceptionResult<DbTransaction> result)
    {
        if (!_holders.ContainsKey(connection))
        {
            Hold(connection, _turn.Wait(timeout));
        }

        return result;
    }

    public async ValueTask<InterceptionResult<DbTransaction>> TransactionStartingAsync(
        DbConnection connection,
        TransactionStartingEventData eventData,
        InterceptionResult<DbTransaction> result,
        CancellationToken cancellationToken = default)
    {
        if (!_holders.ContainsKey(connection))
        {
            Hold(connection, await _turn.WaitAsync(timeout, cancellationToken));
        }

        return result;
    }

    public void TransactionCommitted(DbConnection connection, TransactionEndEventData eventData) => Release(connection);

    public Task TransactionCommittedAsync(DbConnection connection, TransactionEndEventData eventData, CancellationToken cancellationToken = default)
    {
        Release(connection);
        return Task.CompletedTask;
    }

    public void TransactionRolledBack(DbConnection connection, TransactionEndEventData eventData) => Release(connection);

    public Task TransactionRolledBackAsync(DbConnection connection, TransactionEndEventData eventData, CancellationToken cancellationToken = default)
    {
        Release(connection);
        return Task.CompletedTask;
    }

    public void TransactionFailed(DbConnection connection, TransactionErrorEventData eventData) => Release(connection);

    public Task TransactionFailedAsync(DbConnection connection, TransactionErrorEventData eventData, CancellationToken cancellationToken = default)
    {
        Release(connection);
        return Task.CompletedTask;
    }

    public InterceptionResult ConnectionClosing(DbConnection connection, ConnectionEventData eventData, InterceptionResult result)
    {
        Release(connection);
        return result;
    }

    public ValueTask<InterceptionResult> ConnectionClosingAsync(DbConnection connection, ConnectionEventData eventData, InterceptionResult result)
    {
        Release(connection);
        return ValueTask.FromResult(result);
    }

    private void Hold(DbConnection connection, bool entered)
    {
        if (entered)
        {
            _holders[connection] = true;
        }
        else
        {
            logger.LogWarning("A write transaction waited {Timeout} for its turn; it goes ahead and waits for SQLite's lock instead.", timeout);
        }
    }

    private void Release(DbConnection connection)
    {
        if (_holders.TryRemove(connection, out _))
        {
            _turn.Release();
        }
    }
}
