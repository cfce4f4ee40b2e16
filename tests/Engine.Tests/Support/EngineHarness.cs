using BatchPortal.Engine.Domain;
using BatchPortal.Engine.Execution;
using BatchPortal.Engine.Jobs;
using BatchPortal.Engine.Resources;
using BatchPortal.Engine.Scheduling;
using BatchPortal.Engine.Storage;
using Hangfire;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;

namespace BatchPortal.Engine.Tests.Support;

/// <summary>
/// The engine's real DI graph over a SQLite file, with a fixed clock, a fake Docker and a recording Hangfire client.
/// Hosted services are never started: tests drive the dispatcher and the stores themselves.
/// </summary>
internal sealed class EngineHarness : IAsyncDisposable
{
    public static readonly DateTimeOffset Epoch = new(2026, 1, 15, 9, 0, 0, TimeSpan.Zero);

    private readonly IHost _host;
    private readonly string _folder;

    private EngineHarness(IHost host, string folder, FakeTimeProvider time, FakeContainerRuntimeFactory docker, FakeBackgroundJobClient hangfire)
    {
        _host = host;
        _folder = folder;
        Time = time;
        Docker = docker;
        Hangfire = hangfire;
    }

    public FakeTimeProvider Time { get; }

    public FakeContainerRuntimeFactory Docker { get; }

    public FakeBackgroundJobClient Hangfire { get; }

    public IServiceProvider Services => _host.Services;

    public JobStore Jobs => Get<JobStore>();

    public JobService JobService => Get<JobService>();

    public static async Task<EngineHarness> CreateAsync()
    {
        var folder = Path.Combine(Path.GetTempPath(), "batchportal-engine-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(folder);
        var time = new FakeTimeProvider(Epoch);
        var docker = new FakeContainerRuntimeFactory();
        var hangfire = new FakeBackgroundJobClient();

        var builder = Microsoft.Extensions.Hosting.Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { ContentRootPath = folder });
        builder.Logging.ClearProviders();
        builder.Configuration["Engine:Storage:DatabasePath"] = Path.Combine(folder, "batchportal.db");

        // AddBatchEngine uses TryAdd for these two, so the fakes registered first win.
        builder.Services.AddSingleton<TimeProvider>(time);
        builder.Services.AddSingleton<IContainerRuntimeFactory>(docker);
        builder.AddBatchEngine();

        // Registered after Hangfire's own: the last registration is the one resolved.
        builder.Services.AddSingleton<IBackgroundJobClient>(hangfire);

        var host = builder.Build();
        var harness = new EngineHarness(host, folder, time, docker, hangfire);
        try
        {
            await ActivatorUtilities.CreateInstance<DatabaseInitializer>(host.Services).StartAsync(CancellationToken.None);
        }
        catch
        {
            await harness.DisposeAsync();
            throw;
        }

        return harness;
    }

    public T Get<T>()
        where T : notnull => Services.GetRequiredService<T>();

    public async Task<bool> DispatchOnceAsync()
    {
        await using var scope = Services.CreateAsyncScope();
        return await scope.ServiceProvider.GetRequiredService<JobDispatcher>().DispatchOnceAsync(CancellationToken.None);
    }

    public async Task<ComputeEnvironment> CreateComputeEnvironmentAsync(string name, int maxvCpus, string? state = null, string? dockerEndpoint = null) =>
        Ok(await Get<ComputeEnvironmentService>().CreateAsync(new CreateComputeEnvironmentRequest
        {
            ComputeEnvironmentName = name,
            Type = "MANAGED",
            State = state,
            ComputeResources = new ComputeResources { MaxvCpus = maxvCpus },
            DockerEndpoint = dockerEndpoint,
        }));

    public async Task<JobQueue> CreateQueueAsync(string name, int priority, params string[] computeEnvironments) =>
        Ok(await Get<JobQueueService>().CreateAsync(new CreateJobQueueRequest
        {
            JobQueueName = name,
            Priority = priority,
            ComputeEnvironmentOrder = [.. computeEnvironments.Select((ce, i) => new ComputeEnvironmentOrder { Order = i + 1, ComputeEnvironment = ce })],
        }));

    public async Task<JobDefinition> RegisterDefinitionAsync(string name, int vcpus = 1, int memoryMiB = 512) =>
        Ok(await Get<JobDefinitionService>().RegisterAsync(new RegisterJobDefinitionRequest
        {
            JobDefinitionName = name,
            Type = "container",
            ContainerProperties = new ContainerProperties
            {
                Image = "busybox:latest",
                Command = ["echo", "hello"],
                ResourceRequirements =
                [
                    new ResourceRequirement { Type = "VCPU", Value = vcpus.ToString(System.Globalization.CultureInfo.InvariantCulture) },
                    new ResourceRequirement { Type = "MEMORY", Value = memoryMiB.ToString(System.Globalization.CultureInfo.InvariantCulture) },
                ],
            },
        }));

    public async Task<Job> SubmitAsync(string queue, string definition, string name = "job")
    {
        var job = Ok(await JobService.SubmitAsync(new SubmitJobRequest { JobName = name, JobQueue = queue, JobDefinition = definition }));

        // Distinct creation times, as real submissions have.
        Time.Advance(TimeSpan.FromMilliseconds(10));
        return job;
    }

    public async Task<Job> GetJobAsync(string jobId) =>
        await Jobs.GetAsync(jobId) ?? throw new InvalidOperationException($"Job {jobId} is not in the database.");

    /// <summary>The LaunchAsync calls handed to Hangfire, as (job id, attempt).</summary>
    public IReadOnlyList<(string JobId, int Attempt)> Launches() =>
        [.. Hangfire.Calls
            .Where(c => c.Type == typeof(RunJob) && c.Method == nameof(RunJob.LaunchAsync))
            .Select(c => ((string)c.Args[0]!, (int)c.Args[1]!))];

    public static T Ok<T>(Result<T> result)
    {
        Assert.True(result.IsSuccess, $"Expected success, got {result.Error?.GetType().Name}: {result.Error?.Message}");
        return result.Value!;
    }

    public async ValueTask DisposeAsync()
    {
        if (_host is IAsyncDisposable asyncHost)
        {
            await asyncHost.DisposeAsync();
        }
        else
        {
            _host.Dispose();
        }

        try
        {
            Directory.Delete(_folder, recursive: true);
        }
        catch (IOException)
        {
            // A pooled SQLite connection may still hold the file; the temp folder is cleaned by the OS.
        }
    }
}
