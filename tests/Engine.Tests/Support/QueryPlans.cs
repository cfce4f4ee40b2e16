using System.Collections.Concurrent;
using System.Data.Common;
using Microsoft.EntityFrameworkCore.Diagnostics;

namespace BatchPortal.Engine.Tests.Support;

/// <summary>Records the SQL of each query and statement while started, with SQLite's plan for it under its own parameters.</summary>
internal sealed class QueryPlans : DbCommandInterceptor
{
    private ConcurrentQueue<(string Sql, string Plan)>? _recorded;

    public void Start() => _recorded = new();

    public IReadOnlyList<(string Sql, string Plan)> Stop() => [.. Interlocked.Exchange(ref _recorded, null) ?? new()];

    public override async ValueTask<InterceptionResult<DbDataReader>> ReaderExecutingAsync(DbCommand command, CommandEventData eventData, InterceptionResult<DbDataReader> result, CancellationToken cancellationToken = default)
    {
        await RecordAsync(command, cancellationToken);
        return result;
    }

    public override async ValueTask<InterceptionResult<int>> NonQueryExecutingAsync(DbCommand command, CommandEventData eventData, InterceptionResult<int> result, CancellationToken cancellationToken = default)
    {
        await RecordAsync(command, cancellationToken);
        return result;
    }

    private async Task RecordAsync(DbCommand command, CancellationToken ct)
    {
        var text = command.CommandText.TrimStart();
        if (_recorded is not { } recorded || !(text.StartsWith("SELECT", StringComparison.Ordinal) || text.StartsWith("UPDATE", StringComparison.Ordinal)))
        {
            return;
        }

        await using var explain = command.Connection!.CreateCommand();
        explain.Transaction = command.Transaction;
        explain.CommandText = "EXPLAIN QUERY PLAN " + command.CommandText;
        foreach (DbParameter p in command.Parameters)
        {
            var copy = explain.CreateParameter();
            copy.ParameterName = p.ParameterName;
            copy.Value = p.Value;
            explain.Parameters.Add(copy);
        }

        var lines = new List<string>();
        await using (var reader = await explain.ExecuteReaderAsync(ct))
        {
            while (await reader.ReadAsync(ct))
            {
                lines.Add(reader.GetString(3));
            }
        }

        recorded.Enqueue((command.CommandText, string.Join(" | ", lines)));
    }
}
