using BatchPortal.Engine.Schedules;
using BatchPortal.Engine.Tests.Support;
using Hangfire;
using Hangfire.InMemory;
using Hangfire.Storage;
using Microsoft.Extensions.DependencyInjection;

namespace BatchPortal.Engine.Tests.Schedules;

/// <summary>
/// The engine with a queue <c>q</c> and a job definition <c>d</c> to target, and a <see cref="ScheduleService"/> whose
/// recurring jobs go to a Hangfire storage of its own. The engine's own storage is found through Hangfire's process-wide
/// <c>JobStorage.Current</c>, so engines built side by side by parallel tests can share one and dispose it under each other.
/// </summary>
internal sealed class ScheduleEngine : IAsyncDisposable
{
    private readonly InMemoryStorage _hangfire;

    private ScheduleEngine(EngineHarness engine, InMemoryStorage hangfire)
    {
        Engine = engine;
        _hangfire = hangfire;
        var triggers = ActivatorUtilities.CreateInstance<ScheduleTriggers>(engine.Services, new RecurringJobManager(hangfire));
        Schedules = ActivatorUtilities.CreateInstance<ScheduleService>(engine.Services, triggers);
    }

    public EngineHarness Engine { get; }

    public ScheduleService Schedules { get; }

    public static async Task<ScheduleEngine> CreateAsync()
    {
        var engine = await EngineHarness.CreateAsync();
        try
        {
            await engine.CreateComputeEnvironmentAsync("ce", 4);
            await engine.CreateQueueAsync("q", 1, "ce");
            await engine.RegisterDefinitionAsync("d");
            return new ScheduleEngine(engine, new InMemoryStorage());
        }
        catch
        {
            await engine.DisposeAsync();
            throw;
        }
    }

    /// <summary>The recurring jobs the schedules registered with Hangfire.</summary>
    public List<RecurringJobDto> RecurringJobs()
    {
        using var connection = _hangfire.GetConnection();
        return connection.GetRecurringJobs();
    }

    public async ValueTask DisposeAsync()
    {
        await Engine.DisposeAsync();
        _hangfire.Dispose();
    }
}
