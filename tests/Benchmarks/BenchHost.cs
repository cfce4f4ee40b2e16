using BatchPortal.Engine;
using BatchPortal.Engine.Domain;
using BatchPortal.Engine.Execution;
using BatchPortal.Engine.Jobs;
using BatchPortal.Engine.Notifications;
using BatchPortal.Engine.Resources;
using BatchPortal.Engine.Dispatch;
using BatchPortal.Engine.Storage;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace BatchPortal.Benchmarks;

/// <summary>The engine as the portal hosts it (AddBatchEngine), on a fresh SQLite file in a temp folder.</summary>
internal sealed class BenchHost : IAsyncDisposable
{
    public const string Image = "batchportal/busybox:latest";
    public const string DockerEndpoint = "unix:///var/run/docker.sock";

    private readonly IHost _host;
    private readonly string _folder;

    private BenchHost(IHost host, string folder)
    {
        _host = host;
        _folder = folder;
        Events = new JobEvents(Get<JobEventBroadcaster>());
    }

    public IServiceProvider Services => _host.Services;

    public JobService JobService => Get<JobService>();

    public JobQueries Jobs => Get<JobQueries>();

    public JobEvents Events { get; }

    /// <summary>Starts an engine; <paramref name="runtime"/> replaces Docker, <paramref name="settings"/> overrides configuration.</summary>
    public static async Task<BenchHost> StartAsync(string name, IContainerRuntimeFactory? runtime = null, IReadOnlyDictionary<string, string>? settings = null)
    {
        var folder = Path.Combine(Path.GetTempPath(), "batchportal-bench", $"{name}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(folder);
        var builder = Microsoft.Extensions.Hosting.Host.CreateApplicationBuilder(new HostApplicationBuilderSettings
        {
            ContentRootPath = folder,

            // As the portal runs (Portal/Program.cs): configuration read once, no watcher on the folder the database is in.
            Args = ["--hostBuilder:reloadConfigOnChange=false"],
        });
        builder.Logging.ClearProviders();
        builder.Logging.AddSimpleConsole(o => o.SingleLine = true).SetMinimumLevel(LogLevel.Error);

        // EF logs a lost compare-and-set race as an error although the store handles it (the benchmark's own passes
        // run beside the dispatch loop's); the engine's own errors still show.
        builder.Logging.AddFilter("Microsoft.EntityFrameworkCore", LogLevel.None);
        builder.Configuration["Engine:Storage:DatabasePath"] = Path.Combine(folder, "batchportal.db");
        builder.Configuration["Engine:Docker:Endpoint"] = DockerEndpoint;
        foreach (var (key, value) in settings ?? new Dictionary<string, string>())
        {
            builder.Configuration[key] = value;
        }

        if (runtime is not null)
        {
            // AddBatchEngine adds the Docker runtime only when none is registered.
            builder.Services.AddSingleton(runtime);
        }

        builder.AddBatchEngine();
        var host = builder.Build();
        await host.StartAsync();
        return new BenchHost(host, folder);
    }

    public T Get<T>()
        where T : notnull => Services.GetRequiredService<T>();

    public async Task CreateEnvironmentAsync(string name, int maxvCpus, string? dockerEndpoint = null) =>
        Ok(await Get<ComputeEnvironmentService>().CreateAsync(new CreateComputeEnvironmentRequest
        {
            ComputeEnvironmentName = name,
            Type = "MANAGED",
            ComputeResources = new ComputeResources { MaxvCpus = maxvCpus },
            DockerEndpoint = dockerEndpoint,
        }));

    public async Task CreateQueueAsync(string name, string computeEnvironment) =>
        Ok(await Get<JobQueueService>().CreateAsync(new CreateJobQueueRequest
        {
            JobQueueName = name,
            Priority = 1,
            ComputeEnvironmentOrder = [new ComputeEnvironmentOrder { Order = 1, ComputeEnvironment = computeEnvironment }],
        }));

    /// <summary>A busybox definition of 1 vCPU and 128 MiB running <paramref name="command"/>.</summary>
    public async Task RegisterAsync(string name, params string[] command) =>
        Ok(await Get<JobDefinitionService>().RegisterAsync(new RegisterJobDefinitionRequest
        {
            JobDefinitionName = name,
            Type = "container",
            ContainerProperties = new ContainerProperties
            {
                Image = Image,
                Command = [.. command],
                ResourceRequirements =
                [
                    new ResourceRequirement { Type = "VCPU", Value = "1" },
                    new ResourceRequirement { Type = "MEMORY", Value = "128" },
                ],
            },
        }));

    public async Task<Job> SubmitAsync(string name, string queue, string definition, Action<SubmitJobRequest>? configure = null)
    {
        var request = new SubmitJobRequest { JobName = name, JobQueue = queue, JobDefinition = definition };
        configure?.Invoke(request);
        return Ok(await JobService.SubmitAsync(request));
    }

    /// <summary>One dispatcher pass, as the dispatch loop runs it (in a fresh scope).</summary>
    public async Task<bool> DispatchOnceAsync()
    {
        await using var scope = Services.CreateAsyncScope();
        return await scope.ServiceProvider.GetRequiredService<JobDispatcher>().DispatchOnceAsync(CancellationToken.None);
    }

    public async ValueTask DisposeAsync()
    {
        Events.Dispose();
        using (var stop = new CancellationTokenSource(TimeSpan.FromSeconds(30)))
        {
            await _host.StopAsync(stop.Token);
        }

        _host.Dispose();
        try
        {
            Directory.Delete(_folder, recursive: true);
        }
        catch (IOException)
        {
            // SQLite may hold the file a moment longer; the OS cleans its temp folder.
        }
    }

    public static T Ok<T>(Result<T> result) =>
        result.IsSuccess ? result.Value! : throw new InvalidOperationException($"{result.Error!.GetType().Name}: {result.Error.Message}");
}
