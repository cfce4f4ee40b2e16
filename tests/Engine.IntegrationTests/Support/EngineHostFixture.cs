using System.Collections.Concurrent;
using BatchPortal.Engine.Domain;
using BatchPortal.Engine.Execution;
using BatchPortal.Engine.Jobs;
using BatchPortal.Engine.Resources;
using BatchPortal.Engine.Storage;
using Docker.DotNet;
using Docker.DotNet.Models;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace BatchPortal.Engine.IntegrationTests.Support;

/// <summary>
/// The real engine, started: SQLite in a temp folder, Hangfire in memory, containers on the local Docker engine.
/// It refuses to start (and so fails every test) when Docker does not answer or the test image is missing: a skipped
/// Docker test would pass CI without testing anything.
/// </summary>
public sealed class EngineHostFixture : IAsyncLifetime
{
    public const string Image = "batchportal/busybox:latest";
    public const string DockerEndpoint = "unix:///var/run/docker.sock";
    public const string Queue = "q-local";

    /// <summary>Only to avoid hanging on a broken engine; no test asserts on how long anything took.</summary>
    public static readonly TimeSpan Deadline = TimeSpan.FromSeconds(60);

    private static readonly TimeSpan PollEvery = TimeSpan.FromMilliseconds(50);

    private readonly string _folder = Path.Combine(Path.GetTempPath(), "batchportal-integration", Guid.NewGuid().ToString("N"));
    private readonly ConcurrentQueue<string> _log = new();
    private readonly JumpableClock _clock = JumpableClock.Start();
    private IHost? _host;
    private DockerClient? _docker;

    /// <summary>Unique per run: it labels the containers, so a sweep after a failed run touches no one else's.</summary>
    public string ComputeEnvironment { get; } = $"ce-it-{Guid.NewGuid():N}"[..14];

    /// <summary>The engine's clock: real time, which a test may move ahead (e.g. past an attempt timeout).</summary>
    public JumpableClock Clock => _clock;

    public IServiceProvider Services => _host?.Services ?? throw new InvalidOperationException("The engine host has not started.");

    public JobQueries Jobs => Services.GetRequiredService<JobQueries>();

    public LogStore Logs => Services.GetRequiredService<LogStore>();

    public JobService JobService => Services.GetRequiredService<JobService>();

    public DockerClient Docker => _docker ?? throw new InvalidOperationException("Docker has not been checked yet.");

    public async Task InitializeAsync()
    {
        _docker = await ConnectToDockerAsync();

        Directory.CreateDirectory(_folder);
        var builder = Microsoft.Extensions.Hosting.Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { ContentRootPath = _folder });
        builder.Logging.ClearProviders();
        builder.Logging.SetMinimumLevel(LogLevel.Information);
        builder.Logging.AddFilter("Microsoft", LogLevel.Warning);
        builder.Logging.AddFilter("Hangfire", LogLevel.Warning);

        // Each log capture says what it read, skipped and stored: what a wrong log count in a test is explained by.
        builder.Logging.AddFilter(typeof(LogCapture).FullName, LogLevel.Debug);
        builder.Logging.AddProvider(new QueueLoggerProvider(_log));

        builder.Configuration["Engine:Storage:DatabasePath"] = Path.Combine(_folder, "batchportal.db");
        builder.Configuration["Engine:Docker:Endpoint"] = DockerEndpoint;
        builder.Configuration["Engine:Docker:NetworkMode"] = "none";

        // No registry is reachable: a pull must fail rather than wait. Here it fails in milliseconds (DNS); the
        // timeout only bounds machines whose resolver hangs.
        builder.Configuration["Engine:Docker:PullTimeout"] = "00:00:10";
        builder.Configuration["Engine:Docker:StopGracePeriod"] = "00:00:01";
        builder.Configuration["Engine:Scheduler:PollInterval"] = "00:00:01";
        builder.Configuration["Engine:Docker:HealthCheckInterval"] = "00:00:01";

        // A call through the fault proxy that hangs counts as unanswered after this (10 s in production).
        builder.Configuration["Engine:Docker:RequestTimeout"] = "00:00:03";
        builder.Configuration["Engine:Docker:ReconcileInterval"] = "00:00:02";

        // AddBatchEngine only adds the system clock when none is registered.
        builder.Services.AddSingleton<TimeProvider>(_clock.Provider);
        builder.AddBatchEngine();

        _host = builder.Build();
        await _host.StartAsync();

        Ok(await Services.GetRequiredService<ComputeEnvironmentService>().CreateAsync(new CreateComputeEnvironmentRequest
        {
            ComputeEnvironmentName = ComputeEnvironment,
            Type = "MANAGED",
            ComputeResources = new ComputeResources { MaxvCpus = 16 },
        }));
        await CreateQueueAsync(Queue, ComputeEnvironment);
    }

    public async Task DisposeAsync()
    {
        if (_host is not null)
        {
            using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(15));
            await _host.StopAsync(stop.Token);
            _host.Dispose();
        }

        await _clock.DisposeAsync();

        if (_docker is not null)
        {
            // The engine removes its containers; this only sweeps up after a test that failed half-way.
            var leftovers = await _docker.Containers.ListContainersAsync(new ContainersListParameters
            {
                All = true,
                Filters = LabelFilter($"{ContainerLabels.ComputeEnvironment}={ComputeEnvironment}"),
            });
            foreach (var container in leftovers)
            {
                await _docker.Containers.RemoveContainerAsync(container.ID, new ContainerRemoveParameters { Force = true });
            }

            _docker.Dispose();
        }

        try
        {
            Directory.Delete(_folder, recursive: true);
        }
        catch (IOException)
        {
            // SQLite may still hold the file for a moment; the temp folder is cleaned by the OS.
        }
    }

    public async Task CreateQueueAsync(string name, string computeEnvironment) =>
        Ok(await Services.GetRequiredService<JobQueueService>().CreateAsync(new CreateJobQueueRequest
        {
            JobQueueName = name,
            Priority = 1,
            ComputeEnvironmentOrder = [new ComputeEnvironmentOrder { Order = 1, ComputeEnvironment = computeEnvironment }],
        }));

    /// <summary>Registers a busybox job definition running <paramref name="command"/>; <paramref name="configure"/> changes the rest.</summary>
    public async Task<JobDefinition> RegisterAsync(string name, string[] command, Action<RegisterJobDefinitionRequest>? configure = null)
    {
        var request = new RegisterJobDefinitionRequest
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
        };
        configure?.Invoke(request);
        return Ok(await Services.GetRequiredService<JobDefinitionService>().RegisterAsync(request));
    }

    public async Task<Job> SubmitAsync(string definition, Action<SubmitJobRequest>? configure = null)
    {
        var request = new SubmitJobRequest { JobName = $"{definition}-job", JobQueue = Queue, JobDefinition = definition };
        configure?.Invoke(request);
        return Ok(await JobService.SubmitAsync(request));
    }

    /// <summary>Polls the store until the job satisfies <paramref name="condition"/>; fails with its last state otherwise.</summary>
    public async Task<Job> WaitForAsync(string jobId, Func<Job, bool> condition, string what, TimeSpan? within = null)
    {
        using var deadline = new CancellationTokenSource(within ?? Deadline);
        Job? job = null;
        while (!deadline.IsCancellationRequested)
        {
            job = await Jobs.GetAsync(jobId, CancellationToken.None);
            if (job is not null && condition(job))
            {
                return job;
            }

            try
            {
                await Task.Delay(PollEvery, deadline.Token);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }

        Assert.Fail($"Job {jobId} did not become {what} within {(within ?? Deadline).TotalSeconds:0} s; it is {job?.Status} ({job?.StatusReason}).{Environment.NewLine}{RecentLog()}");
        return job!;
    }

    public Task<Job> WaitForFinalAsync(string jobId, TimeSpan? within = null) => WaitForAsync(jobId, j => j.Status.IsFinal(), "SUCCEEDED or FAILED", within);

    /// <summary>The containers Docker still has for the job, running or not.</summary>
    public async Task<IList<ContainerListResponse>> ContainersOfAsync(string jobId) =>
        await Docker.Containers.ListContainersAsync(new ContainersListParameters
        {
            All = true,
            Filters = LabelFilter($"{ContainerLabels.JobId}={jobId}"),
        });

    /// <summary>Removal follows the final transition, so it is waited for rather than expected at once.</summary>
    public async Task WaitForNoContainersAsync(string jobId)
    {
        using var deadline = new CancellationTokenSource(Deadline);
        IList<ContainerListResponse> left = [];
        while (!deadline.IsCancellationRequested)
        {
            left = await ContainersOfAsync(jobId);
            if (left.Count == 0)
            {
                return;
            }

            try
            {
                await Task.Delay(PollEvery, deadline.Token);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }

        Assert.Fail($"Job {jobId} still has container(s) {string.Join(", ", left.Select(c => $"{c.ID[..12]} ({c.State})"))} after {Deadline.TotalSeconds:0} s.");
    }

    public async Task<IReadOnlyList<string>> LogLinesAsync(string jobId, int attempt) =>
        [.. (await Logs.ReadAsync(jobId, attempt)).Select(l => l.Message)];

    /// <summary>The engine's log lines that mention <paramref name="text"/> (a job id), of the latest 2,000.</summary>
    public string LogAbout(string text) => string.Join(Environment.NewLine, _log.Where(l => l.Contains(text, StringComparison.Ordinal)));

    public string RecentLog(int lines = 40) => "Engine log (latest last):" + Environment.NewLine + string.Join(Environment.NewLine, _log.TakeLast(lines));

    public static T Ok<T>(Result<T> result)
    {
        Assert.True(result.IsSuccess, $"Expected success, got {result.Error?.GetType().Name}: {result.Error?.Message}");
        return result.Value!;
    }

    private static Dictionary<string, IDictionary<string, bool>> LabelFilter(string label) =>
        new() { ["label"] = new Dictionary<string, bool> { [label] = true } };

    private static async Task<DockerClient> ConnectToDockerAsync()
    {
        var client = new DockerClientConfiguration(new Uri(DockerEndpoint)).CreateClient();
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            try
            {
                await client.System.PingAsync(timeout.Token);
            }
            catch (Exception ex)
            {
                throw new InvalidOperationException(
                    $"The Docker engine at {DockerEndpoint} does not answer ({ex.GetBaseException().Message}). These tests need it: "
                    + "run `BATCHPORTAL_SETUP_ONLY=1 bash tests/run.sh` as root to start one.",
                    ex);
            }

            try
            {
                await client.Images.InspectImageAsync(Image, timeout.Token);
            }
            catch (DockerImageNotFoundException ex)
            {
                throw new InvalidOperationException(
                    $"The image {Image} is missing on the Docker engine at {DockerEndpoint}; no registry is reachable to pull it. "
                    + "Run `BATCHPORTAL_SETUP_ONLY=1 bash tests/run.sh` to build it from busybox-static.",
                    ex);
            }

            return client;
        }
        catch
        {
            client.Dispose();
            throw;
        }
    }

    private sealed class QueueLoggerProvider(ConcurrentQueue<string> lines) : ILoggerProvider
    {
        public ILogger CreateLogger(string categoryName) => new QueueLogger(lines, categoryName[(categoryName.LastIndexOf('.') + 1)..]);

        public void Dispose()
        {
        }
    }

    private sealed class QueueLogger(ConcurrentQueue<string> lines, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            lines.Enqueue($"{logLevel,-11} {category}: {formatter(state, exception)}{(exception is null ? "" : $" [{exception.GetType().Name}: {exception.Message}]")}");
            while (lines.Count > 20000 && lines.TryDequeue(out _))
            {
            }
        }
    }
}

/// <summary>
/// One engine host for all Docker tests, with the classes run one after another: the Docker engine's capacity is the
/// machine's, and tests that count containers or time a kill see only their own.
/// </summary>
[CollectionDefinition(Name)]
public sealed class DockerCollection : ICollectionFixture<EngineHostFixture>
{
    public const string Name = "Docker engine";
}
