using BatchPortal.Engine.Execution;
using BatchPortal.Engine.Tests.Support;
using Hangfire;
using Hangfire.Storage;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Time.Testing;

namespace BatchPortal.Engine.Tests.Execution;

/// <summary>
/// Hangfire's AddHangfire hands every host the process-wide JobStorage.Current, JobActivator.Current and log provider.
/// Test processes (and a process hosting more than one engine) build several: each engine's Hangfire must stay its own,
/// and one engine going away must not break another's. A CI run failed TerminateJob with a 500 this way: the first
/// StopAsync job of the process built its [AutomaticRetry] filter, whose logger came from a host disposed before.
/// </summary>
public sealed class HangfireHostingTests
{
    [Fact]
    public void EachEngine_HasItsOwnStorageAndActivator_WhenTwoAreBuiltInOneProcess()
    {
        using var a = Build();
        using var b = Build();

        var storageA = a.Services.GetRequiredService<JobStorage>();
        var storageB = b.Services.GetRequiredService<JobStorage>();

        Assert.NotSame(storageA, storageB);
        Assert.Same(storageA, a.Services.GetRequiredService<JobStorage>());
        Assert.Same(a.Services.GetRequiredService<Probe>(), Activate(a));
        Assert.Same(b.Services.GetRequiredService<Probe>(), Activate(b));
    }

    [Fact]
    public void Enqueue_StillWorks_WhenAnotherEngineOfTheProcessWasBuiltAndDisposedAfterIt()
    {
        using var a = Build();
        var client = a.Services.GetRequiredService<IBackgroundJobClient>();
        var storage = a.Services.GetRequiredService<JobStorage>();

        using (var b = Build())
        {
            _ = b.Services.GetRequiredService<IBackgroundJobClient>();
        }

        // A method whose filter attributes this process has never read: Hangfire builds them (and their loggers) now.
        var id = client.Enqueue<Probe>(x => x.NeverSeenBeforeAsync());

        using var connection = storage.GetConnection();
        Assert.Equal("Enqueued", connection.GetStateData(id).Name);
    }

    [Fact]
    public void Storage_IsDisposedWithItsEngine_AndTheOtherEngineKeepsWorking()
    {
        using var a = Build();
        var storageA = a.Services.GetRequiredService<JobStorage>();
        JobStorage storageB;
        using (var b = Build())
        {
            storageB = b.Services.GetRequiredService<JobStorage>();
        }

        Assert.Throws<ObjectDisposedException>(() =>
        {
            using var connection = storageB.GetConnection();
            connection.CreateExpiredJob(Hangfire.Common.Job.FromExpression<Probe>(x => x.OtherAsync()), new Dictionary<string, string?>(), EngineHarness.Epoch.UtcDateTime, TimeSpan.FromMinutes(1));
        });
        var id = a.Services.GetRequiredService<IBackgroundJobClient>().Enqueue<Probe>(x => x.OtherAsync());
        using var alive = storageA.GetConnection();
        Assert.NotNull(alive.GetJobData(id));
    }

    [Fact]
    public void HangfireRetries_AreOff_ExceptWhereAMethodAsks_HoweverManyEnginesConfiguredIt()
    {
        using var a = Build();
        using var b = Build();
        _ = a.Services.GetRequiredService<IGlobalConfiguration>();
        _ = b.Services.GetRequiredService<IGlobalConfiguration>();

        var retry = Assert.Single(GlobalJobFilters.Filters.Select(f => f.Instance).OfType<AutomaticRetryAttribute>());
        Assert.Equal(0, retry.Attempts);
    }

    /// <summary>A job's <see cref="Probe"/> as a Hangfire worker of this host gets it.</summary>
    private static object Activate(IHost host)
    {
        using var scope = host.Services.GetRequiredService<JobActivator>().BeginScope((JobActivatorContext)null!);
        return scope.Resolve(typeof(Probe));
    }

    private static IHost Build()
    {
        var folder = Path.Combine(Path.GetTempPath(), "batchportal-engine-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(folder);
        var time = new FakeTimeProvider(EngineHarness.Epoch);
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { ContentRootPath = folder });
        builder.Configuration["Engine:Storage:DatabasePath"] = Path.Combine(folder, "batchportal.db");
        builder.Services.AddSingleton<TimeProvider>(time);
        builder.Services.AddSingleton<IContainerRuntimeFactory>(new FakeContainerRuntimeFactory(time));
        builder.Services.AddSingleton<Probe>();
        builder.AddBatchEngine();
        return builder.Build();
    }

    public sealed class Probe
    {
        public int Runs { get; private set; }

        [AutomaticRetry(Attempts = 1)]
        public Task NeverSeenBeforeAsync() => Task.FromResult(++Runs);

        public Task OtherAsync() => Task.FromResult(++Runs);
    }
}
