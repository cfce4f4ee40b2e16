using BatchPortal.Engine.Domain;
using BatchPortal.Engine.Resources;
using BatchPortal.Engine.Schedules;
using Hangfire;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace BatchPortal.Portal.Tests.Components.Pages.Schedules;

/// <summary>
/// A portal context for the schedule pages: a queue and a job definition to target, and a <see cref="ScheduleService"/>
/// on a fixed clock, so the next runs the pages show are known instants. Its recurring jobs go to the engine's own
/// Hangfire storage.
/// </summary>
internal sealed class SchedulePages : IAsyncDisposable
{
    /// <summary>A Thursday.</summary>
    public static readonly DateTimeOffset Thursday = new(2026, 1, 15, 9, 0, 0, TimeSpan.Zero);

    private SchedulePages(PortalTestContext context, FakeTimeProvider time, ScheduleService schedules)
    {
        Context = context;
        Time = time;
        Schedules = schedules;
    }

    public PortalTestContext Context { get; }

    public FakeTimeProvider Time { get; }

    public ScheduleService Schedules { get; }

    public static async Task<SchedulePages> CreateAsync(DateTimeOffset? now = null)
    {
        var context = await PortalTestContext.CreateAsync();
        try
        {
            var time = new FakeTimeProvider(now ?? Thursday);

            // The engine's services with this clock in place of the system's. Only here: MudBlazor's debounce timers run
            // on the TimeProvider it finds in DI, and would never fire on a fixed clock.
            var schedules = ActivatorUtilities.CreateInstance<ScheduleService>(context.Engine, time);
            context.Bunit.Services.AddSingleton(schedules);

            Ok(await context.ComputeEnvironments.CreateAsync(new CreateComputeEnvironmentRequest
            {
                ComputeEnvironmentName = "ce",
                Type = "UNMANAGED",
                UnmanagedvCpus = 4,
            }));
            Ok(await context.JobQueues.CreateAsync(new CreateJobQueueRequest
            {
                JobQueueName = "q",
                Priority = 1,
                ComputeEnvironmentOrder = [new ComputeEnvironmentOrder { Order = 1, ComputeEnvironment = "ce" }],
            }));
            Ok(await context.JobDefinitions.RegisterAsync(new RegisterJobDefinitionRequest
            {
                JobDefinitionName = "d",
                Type = "container",
                ContainerProperties = new ContainerProperties { Image = "busybox:latest", Command = ["echo", "hi"], Vcpus = 1, Memory = 64 },
            }));
            return new SchedulePages(context, time, schedules);
        }
        catch
        {
            await context.DisposeAsync();
            throw;
        }
    }

    public async Task<Schedule> CreateScheduleAsync(string name, string expression, string timeZone = "UTC") =>
        Ok(await Schedules.CreateAsync(new ScheduleRequest
        {
            Name = name,
            Expression = expression,
            TimeZone = timeZone,
            JobQueue = "q",
            JobDefinition = "d",
            JobName = name + "-{{time}}",
        }));

    public ValueTask DisposeAsync() => Context.DisposeAsync();

    private static T Ok<T>(Result<T> result)
    {
        Assert.True(result.IsSuccess, result.Error?.Message);
        return result.Value!;
    }
}
