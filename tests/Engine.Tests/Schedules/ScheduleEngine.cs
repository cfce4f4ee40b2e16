using BatchPortal.Engine.Schedules;
using BatchPortal.Engine.Tests.Support;
using Hangfire;
using Hangfire.Storage;
using Microsoft.Extensions.DependencyInjection;

namespace BatchPortal.Engine.Tests.Schedules;

/// <summary>
/// The engine with a queue <c>q</c> and a job definition <c>d</c> to target, and its <see cref="ScheduleService"/>, whose
/// recurring jobs go to the engine's own Hangfire storage (never started: nothing fires by itself).
/// </summary>
internal sealed class ScheduleEngine : IAsyncDisposable
{
    private ScheduleEngine(EngineHarness engine)
    {
        Engine = engine;
        Schedules = engine.Get<ScheduleService>();
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
            return new ScheduleEngine(engine);
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
        using var connection = Engine.Get<JobStorage>().GetConnection();
        return connection.GetRecurringJobs();
    }

    public ValueTask DisposeAsync() => Engine.DisposeAsync();
}
