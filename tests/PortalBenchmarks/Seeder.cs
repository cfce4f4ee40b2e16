using System.Diagnostics;
using System.Globalization;
using Microsoft.Data.Sqlite;

namespace BatchPortal.PortalBenchmarks;

/// <summary>
/// Fills the portal's database with a realistic history fast: SQL inserts in batched transactions, the rows shaped as the
/// engine writes them. The JSON columns (container, parameters, retry strategy, tags, ...) are copied from a job that was
/// submitted through the API and then removed, so every row holds exactly what SubmitJob stores; each job also gets its
/// status history rows and, once placed, its attempt row, as the engine's transitions leave them.
/// </summary>
internal static class Seeder
{
    public const string NamePrefix = "nightly-etl";
    private const string ExitedReason = "Essential container in task exited";

    // Stored as the engine stores JobStatus: the enum's name (Runnable), not the wire spelling (RUNNABLE).
    private static readonly string[] Statuses = ["Submitted", "Pending", "Runnable", "Starting", "Running", "Succeeded", "Failed"];

    public static string ConnectionString(string path) =>
        new SqliteConnectionStringBuilder { DataSource = path, DefaultTimeout = 60, Pooling = false }.ToString();

    /// <summary>Stores <paramref name="count"/> jobs over the last 14 days; returns how long it took.</summary>
    public static async Task<TimeSpan> SeedAsync(string databasePath, string referenceJobId, int count, string computeEnvironment, int seed = 42)
    {
        var started = Stopwatch.StartNew();
        await using var db = new SqliteConnection(ConnectionString(databasePath));
        await db.OpenAsync();
        await Exec(db, "PRAGMA busy_timeout = 60000;");

        Reference reference;
        await using (var read = db.CreateCommand())
        {
            read.CommandText = """
                SELECT JobDefinitionName, JobDefinitionRevision, Container, Parameters, RetryStrategy, Timeout, Tags, Vcpus, MemoryMiB, StatusReason
                FROM Jobs WHERE Id = $id
                """;
            read.Parameters.AddWithValue("$id", referenceJobId);
            await using var r = await read.ExecuteReaderAsync();
            if (!await r.ReadAsync())
            {
                throw new InvalidOperationException($"Reference job {referenceJobId} not found.");
            }

            reference = new Reference(
                r.GetString(0), r.GetInt32(1), r.GetString(2), r.GetString(3), r.IsDBNull(4) ? null : r.GetString(4),
                r.IsDBNull(5) ? null : r.GetString(5), r.GetString(6), r.GetDouble(7), r.GetInt32(8),
                r.IsDBNull(9) ? throw new InvalidOperationException("The reference job has no wait reason yet.") : r.GetString(9));
        }

        // The reference job leaves: the stored history is exactly the seeded one, in creation order.
        await using (var tx = (SqliteTransaction)await db.BeginTransactionAsync())
        {
            foreach (var table in new[] { "JobStatusChanges", "JobAttempts", "JobDependencyEdges" })
            {
                await Exec(db, $"DELETE FROM {table} WHERE JobId = $id;", tx, ("$id", referenceJobId));
            }

            await Exec(db, "DELETE FROM Jobs WHERE Id = $id;", tx, ("$id", referenceJobId));
            await tx.CommitAsync();
        }

        var random = new Random(seed);
        var end = TimeProvider.System.GetUtcNow().AddMinutes(-2);
        var span = TimeSpan.FromDays(14);
        var step = span.TotalMilliseconds / count;
        var first = end - span;
        var runnableReports = new List<string>();
        const int batch = 5_000;
        for (var done = 0; done < count; done += batch)
        {
            await using var tx = (SqliteTransaction)await db.BeginTransactionAsync();
            await using var job = Prepare(db, tx, """
                INSERT INTO Jobs (Id, Name, QueueName, JobDefinitionName, JobDefinitionRevision, Status, StatusReason, CreatedAt, StartedAt, StoppedAt,
                  Container, Parameters, RetryStrategy, Timeout, Tags, AttemptCount, ComputeEnvironmentName, ExitCode, ContainerReason, LogStreamName,
                  IsCancelled, IsTerminated, TerminationReason, ArraySize, ArrayIndex, ParentJobId, ChildrenSpawned, DependsOn, RunnableSince, TimedOut,
                  ScheduleName, ScheduledFireTime, Version, Vcpus, MemoryMiB, WaitsFor, WaitFailed)
                VALUES ($id, $name, $queue, $def, $rev, $status, $reason, $created, $started, $stopped,
                  $container, $parameters, $retry, $timeout, $tags, $attempts, $ce, $exit, NULL, $log,
                  $cancelled, 0, NULL, NULL, NULL, NULL, 0, $dependsOn, $runnableSince, 0,
                  NULL, NULL, $version, $vcpus, $memory, $waitsFor, 0)
                """, "$id", "$name", "$queue", "$def", "$rev", "$status", "$reason", "$created", "$started", "$stopped", "$container", "$parameters",
                "$retry", "$timeout", "$tags", "$attempts", "$ce", "$exit", "$log", "$cancelled", "$dependsOn", "$runnableSince", "$version", "$vcpus", "$memory", "$waitsFor");
            await using var history = Prepare(db, tx, "INSERT INTO JobStatusChanges (JobId, \"From\", \"To\", Reason, At) VALUES ($job, $from, $to, $reason, $at)",
                "$job", "$from", "$to", "$reason", "$at");
            await using var attempt = Prepare(db, tx, """
                INSERT INTO JobAttempts (JobId, Number, ComputeEnvironmentName, ContainerId, StartedAt, StoppedAt, ExitCode, Reason, StatusReason, LogStreamName,
                  DockerEndpoint, PlacedAt, HostUnreachableSince, LaunchUncertain, LogBytes, LogCursorNanos, LogCut)
                VALUES ($job, 1, $ce, $container, $started, $stopped, $exit, NULL, $reason, $log,
                  NULL, $placed, NULL, 0, 0, 0, 0)
                """, "$job", "$ce", "$container", "$started", "$stopped", "$exit", "$reason", "$log", "$placed");
            await using var edge = Prepare(db, tx, "INSERT INTO JobDependencyEdges (JobId, DependsOnJobId) VALUES ($job, $on)", "$job", "$on");

            for (var i = done; i < Math.Min(count, done + batch); i++)
            {
                var created = first.AddMilliseconds((i * step) + (random.NextDouble() * step * 0.5));
                var queue = random.NextDouble() < 0.6 ? Setup.Queues[0] : Setup.Queues[1];
                var status = PickStatus(random, (double)i / count);
                string? dependsOn = null;
                if (status == "Pending")
                {
                    // PENDING means waiting for another job: here a RUNNABLE one of the other queue (nothing finishes it).
                    dependsOn = runnableReports.Count > 0 ? runnableReports[random.Next(runnableReports.Count)] : null;
                    status = dependsOn is null ? "Runnable" : status;
                }

                var id = Guid.NewGuid().ToString();
                if (status == "Runnable" && queue == Setup.Queues[1])
                {
                    runnableReports.Add(id);
                }

                var at = created;
                var placed = status is "Starting" or "Running" or "Succeeded" or "Failed" && !(status == "Failed" && random.NextDouble() < 0.2);
                var cancelled = status == "Failed" && !placed;
                var runnableSince = status is "Submitted" or "Pending" ? (DateTimeOffset?)null : created.AddMilliseconds(40 + random.Next(200));
                var startedAt = status is "Running" or "Succeeded" || (status == "Failed" && placed) ? runnableSince!.Value.AddMilliseconds(250 + random.Next(500)) : (DateTimeOffset?)null;
                var stoppedAt = status is "Succeeded" or "Failed"
                    ? (startedAt ?? runnableSince!.Value).AddSeconds(cancelled ? 30 + random.Next(600) : 2 + random.Next(900))
                    : (DateTimeOffset?)null;
                int? exit = status == "Succeeded" ? 0 : status == "Failed" && placed ? (random.NextDouble() < 0.7 ? 1 : 137) : null;
                var log = placed && status != "Starting" ? $"{reference.Definition}/default/{id}" : null;
                var reason = status switch
                {
                    "Runnable" => reference.WaitReason,
                    "Succeeded" => ExitedReason,
                    "Failed" => cancelled ? "Cancelled from the console" : ExitedReason,
                    _ => null,
                };
                var version = Array.IndexOf(Statuses, status) + (status == "Runnable" ? 1 : 0);

                Set(job, id, Name(queue, i, created, random), queue, reference.Definition, reference.Revision, status, reason, Ms(created), Ms(startedAt), Ms(stoppedAt),
                    reference.Container, reference.Parameters, reference.RetryStrategy, reference.Timeout, reference.Tags, placed ? 1 : 0,
                    placed ? computeEnvironment : null, exit, log, cancelled ? 1 : 0,
                    dependsOn is null ? "[]" : $$"""[{"jobId":"{{dependsOn}}"}]""", Ms(runnableSince), version, reference.Vcpus, reference.MemoryMiB,
                    dependsOn is null ? 0 : 1);
                await job.ExecuteNonQueryAsync();

                // The history, one row per move, as the engine's transitions write it.
                string? from = null;
                foreach (var to in Moves(status, placed))
                {
                    var rowReason = to == status ? (to == "Runnable" ? null : reason) : null;
                    Set(history, id, from, to, rowReason, Ms(at));
                    await history.ExecuteNonQueryAsync();
                    from = to;
                    at = at.AddMilliseconds(to switch { "Submitted" => 40, "Runnable" => 200, "Starting" => 300, _ => 1000 });
                }

                if (placed)
                {
                    Set(attempt, id, computeEnvironment, status == "Starting" ? null : Convert.ToHexStringLower(Guid.NewGuid().ToByteArray()) + Convert.ToHexStringLower(Guid.NewGuid().ToByteArray()),
                        Ms(startedAt), Ms(stoppedAt), exit, status is "Succeeded" or "Failed" ? ExitedReason : null, log, Ms(runnableSince));
                    await attempt.ExecuteNonQueryAsync();
                }

                if (dependsOn is not null)
                {
                    Set(edge, id, dependsOn);
                    await edge.ExecuteNonQueryAsync();
                }
            }

            await tx.CommitAsync();
        }

        // No ANALYZE: the portal never runs it, so the query planner sees what it sees in a real deployment.
        return started.Elapsed;
    }

    /// <summary>Jobs per queue and status, for the report.</summary>
    public static async Task<string> CensusAsync(string databasePath)
    {
        await using var db = new SqliteConnection(ConnectionString(databasePath));
        await db.OpenAsync();
        await using var cmd = db.CreateCommand();
        cmd.CommandText = "SELECT QueueName, Status, COUNT(*) FROM Jobs GROUP BY QueueName, Status ORDER BY QueueName, Status";
        await using var r = await cmd.ExecuteReaderAsync();
        var byQueue = new SortedDictionary<string, List<string>>(StringComparer.Ordinal);
        var total = 0;
        while (await r.ReadAsync())
        {
            var n = r.GetInt32(2);
            total += n;
            (byQueue.TryGetValue(r.GetString(0), out var list) ? list : byQueue[r.GetString(0)] = []).Add($"{r.GetString(1).ToUpperInvariant()} {n.ToString("N0", CultureInfo.InvariantCulture)}");
        }

        return $"{total.ToString("N0", CultureInfo.InvariantCulture)} jobs: " + string.Join("; ", byQueue.Select(q => $"{q.Key}: {string.Join(", ", q.Value)}"));
    }

    /// <summary>A random sample of stored job ids (for DescribeJobs).</summary>
    public static async Task<List<string>> SampleIdsAsync(string databasePath, int count)
    {
        await using var db = new SqliteConnection(ConnectionString(databasePath));
        await db.OpenAsync();
        await using var cmd = db.CreateCommand();
        cmd.CommandText = "SELECT Id FROM Jobs WHERE ParentJobId IS NULL ORDER BY random() LIMIT $n";
        cmd.Parameters.AddWithValue("$n", count);
        await using var r = await cmd.ExecuteReaderAsync();
        var ids = new List<string>(count);
        while (await r.ReadAsync())
        {
            ids.Add(r.GetString(0));
        }

        return ids;
    }

    public static async Task<long> ScalarAsync(string databasePath, string sql)
    {
        await using var db = new SqliteConnection(ConnectionString(databasePath));
        await db.OpenAsync();
        await using var cmd = db.CreateCommand();
        cmd.CommandText = sql;
        return Convert.ToInt64(await cmd.ExecuteScalarAsync(), CultureInfo.InvariantCulture);
    }

    /// <summary>The older 80% of the history has finished; the newest 20% holds the backlog and what is in flight.</summary>
    private static string PickStatus(Random random, double position)
    {
        var x = random.NextDouble();
        if (position < 0.8)
        {
            return x < 0.88 ? "Succeeded" : "Failed";
        }

        return x switch
        {
            < 0.55 => "Runnable",
            < 0.80 => "Succeeded",
            < 0.85 => "Failed",
            < 0.92 => "Running",
            < 0.95 => "Starting",
            < 0.99 => "Pending",
            _ => "Submitted",
        };
    }

    private static IEnumerable<string> Moves(string status, bool placed)
    {
        yield return "Submitted";
        if (status == "Submitted")
        {
            yield break;
        }

        if (status == "Pending")
        {
            yield return "Pending";
            yield break;
        }

        yield return "Runnable";
        if (!placed)
        {
            if (status == "Failed")
            {
                yield return "Failed";
            }

            yield break;
        }

        foreach (var s in new[] { "Starting", "Running", "Succeeded" })
        {
            if (s == "Succeeded")
            {
                if (status is "Succeeded" or "Failed")
                {
                    yield return status;
                }

                yield break;
            }

            yield return s;
            if (s == status)
            {
                yield break;
            }
        }
    }

    private static string Name(string queue, int i, DateTimeOffset created, Random random)
    {
        var x = random.NextDouble();
        var day = created.ToString("yyyyMMdd", CultureInfo.InvariantCulture);
        var n = i.ToString(CultureInfo.InvariantCulture);
        return queue == Setup.Queues[0]
            ? x switch
            {
                < 0.40 => $"{NamePrefix}-{day}-{i % 50:D2}",
                < 0.70 => $"ingest-orders-{n}",
                < 0.85 => $"dedupe-customers-{n}",
                _ => $"backfill-{created.ToString("yyyyMM", CultureInfo.InvariantCulture)}-{n}",
            }
            : x switch
            {
                < 0.40 => $"report-daily-{day}-{i % 20:D2}",
                < 0.70 => $"thumbnail-{n}",
                < 0.90 => $"invoice-pdf-{n}",
                _ => $"report-weekly-{n}",
            };
    }

    private static long? Ms(DateTimeOffset? t) => t?.ToUnixTimeMilliseconds();

    private static SqliteCommand Prepare(SqliteConnection db, SqliteTransaction tx, string sql, params string[] names)
    {
        var cmd = db.CreateCommand();
        cmd.Transaction = tx;
        cmd.CommandText = sql;
        foreach (var name in names)
        {
            cmd.Parameters.Add(new SqliteParameter { ParameterName = name });
        }

        cmd.Prepare();
        return cmd;
    }

    private static void Set(SqliteCommand cmd, params object?[] values)
    {
        for (var i = 0; i < values.Length; i++)
        {
            cmd.Parameters[i].Value = values[i] ?? DBNull.Value;
        }
    }

    private static async Task Exec(SqliteConnection db, string sql, SqliteTransaction? tx = null, params (string Name, object Value)[] parameters)
    {
        await using var cmd = db.CreateCommand();
        cmd.Transaction = tx;
        cmd.CommandText = sql;
        foreach (var (name, value) in parameters)
        {
            cmd.Parameters.AddWithValue(name, value);
        }

        await cmd.ExecuteNonQueryAsync();
    }

    private sealed record Reference(
        string Definition, int Revision, string Container, string Parameters, string? RetryStrategy, string? Timeout, string Tags, double Vcpus, int MemoryMiB, string WaitReason);
}
