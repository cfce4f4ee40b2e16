using System.Collections.Concurrent;
using System.Data.Common;
using BatchPortal.Engine.Domain;
using BatchPortal.Engine.Jobs;
using BatchPortal.Engine.Tests.Support;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Microsoft.Extensions.DependencyInjection;

namespace BatchPortal.Engine.Tests.Storage;

/// <summary>A pass reads the jobs whose turn it is, never every waiting job (issue #11).</summary>
public class DispatchQueriesTests
{
    [Fact]
    public async Task DispatchOnceAsync_FindsReadyPendingJobsThroughTheirWaitCount_NotByReadingEveryWaitingJob()
    {
        // Regression: #11. Every pass read every PENDING job and its edges to find the few whose dependencies had
        // finished; with tens of thousands waiting a pass grew with the backlog. Now the finishing job's transaction
        // counts its dependents down, and the pass asks the (Status, WaitsFor) index for the ones at zero.
        var plans = new QueryPlans();
        await using var engine = await EngineHarness.CreateAsync(services: s => s.AddSingleton<IInterceptor>(plans));
        await engine.CreateComputeEnvironmentAsync("ce", 1);
        await engine.CreateQueueAsync("q", 1, "ce");
        await engine.RegisterDefinitionAsync("d");
        var running = await engine.SubmitAsync("q", "d", "running");
        for (var i = 0; i < 50; i++)
        {
            await engine.SubmitAsync(new SubmitJobRequest { JobName = $"waits-{i}", JobQueue = "q", JobDefinition = "d", DependsOn = [new JobDependency { JobId = running.Id }] });
        }

        await engine.DispatchUntilIdleAsync();
        plans.Start();
        await engine.DispatchOnceAsync();
        var pendingPlans = plans.Stop().Where(p => p.Sql.Contains("\"WaitsFor\" <= 0", StringComparison.Ordinal)).ToList();

        Assert.NotEmpty(pendingPlans);
        Assert.All(pendingPlans, p => Assert.Contains("USING INDEX IX_Jobs_Status_WaitsFor (Status=? AND WaitsFor<?)", p.Plan, StringComparison.Ordinal));

        // And it works: once the job they wait for succeeds, they all become RUNNABLE in the next pass.
        await engine.RunAsync(running.Id, 0);
        await engine.DispatchOnceAsync();
        Assert.Equal(50, await engine.Jobs.CountAsync(new Engine.Storage.JobFilter { Statuses = [JobStatus.Runnable, JobStatus.Starting] }));
    }

    /// <summary>Records the SQL of each query and SQLite's plan for it, with its own parameters.</summary>
    private sealed class QueryPlans : DbCommandInterceptor
    {
        private ConcurrentQueue<(string Sql, string Plan)>? _recorded;

        public void Start() => _recorded = new();

        public IReadOnlyList<(string Sql, string Plan)> Stop() => [.. Interlocked.Exchange(ref _recorded, null) ?? new()];

        public override async ValueTask<InterceptionResult<DbDataReader>> ReaderExecutingAsync(DbCommand command, CommandEventData eventData, InterceptionResult<DbDataReader> result, CancellationToken cancellationToken = default)
        {
            if (_recorded is { } recorded && command.CommandText.TrimStart().StartsWith("SELECT", StringComparison.Ordinal))
            {
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
                await using (var reader = await explain.ExecuteReaderAsync(cancellationToken))
                {
                    while (await reader.ReadAsync(cancellationToken))
                    {
                        lines.Add(reader.GetString(3));
                    }
                }

                recorded.Enqueue((command.CommandText, string.Join(" | ", lines)));
            }

            return result;
        }
    }
}
