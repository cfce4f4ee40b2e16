using BatchPortal.Engine.Domain;
using BatchPortal.Engine.Execution;
using BatchPortal.Engine.Jobs;
using BatchPortal.Engine.Resources;
using BatchPortal.Engine.Dispatch;
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

    public JobQueries Jobs => Get<JobQueries>();

    public JobStateMachine StateMachine => Get<JobStateMachine>();

    public JobSubmissions Submissions => Get<JobSubmissions>();

    public Reconciler Reconciler => Get<Reconciler>();

    public JobService JobService => Get<JobService>();

    public static async Task<EngineHarness> CreateAsync(IReadOnlyDictionary<string, string?>? settings = null, Action<IServiceCollection>? services = null)
    {
        var folder = Path.Combine(Path.GetTempPath(), "batchportal-engine-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(folder);
        var time = new FakeTimeProvider(Epoch);
        var docker = new FakeContainerRuntimeFactory(time);
        var hangfire = new FakeBackgroundJobClient();

        var builder = Microsoft.Extensions.Hosting.Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { ContentRootPath = folder });
        builder.Logging.ClearProviders();
        builder.Configuration["Engine:Storage:DatabasePath"] = Path.Combine(folder, "batchportal.db");
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            builder.Configuration[key] = value;
        }

        // AddBatchEngine uses TryAdd for these two, so the fakes registered first win.
        builder.Services.AddSingleton<TimeProvider>(time);
        builder.Services.AddSingleton<IContainerRuntimeFactory>(docker);
        builder.AddBatchEngine();

        // Registered after Hangfire's own: the last registration is the one resolved.
        builder.Services.AddSingleton<IBackgroundJobClient>(hangfire);
        services?.Invoke(builder.Services);

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

    public async Task<ComputeEnvironment> CreateComputeEnvironmentAsync(string name, int maxvCpus, string? state = null, string? dockerEndpoint = null, int? minvCpus = null) =>
        Ok(await Get<ComputeEnvironmentService>().CreateAsync(new CreateComputeEnvironmentRequest
        {
            ComputeEnvironmentName = name,
            Type = "MANAGED",
            State = state,
            ComputeResources = new ComputeResources { MaxvCpus = maxvCpus, MinvCpus = minvCpus },
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

    /// <summary>Submits <paramref name="request"/> as given; the submission must be accepted.</summary>
    public async Task<Job> SubmitAsync(SubmitJobRequest request)
    {
        var job = Ok(await JobService.SubmitAsync(request));
        Time.Advance(TimeSpan.FromMilliseconds(10));
        return job;
    }

    /// <summary>Runs dispatch passes until one moves nothing (bounded, so a livelock fails the test instead of hanging it).</summary>
    public async Task DispatchUntilIdleAsync()
    {
        for (var pass = 0; pass < 50; pass++)
        {
            if (!await DispatchOnceAsync())
            {
                return;
            }
        }

        Assert.Fail("The dispatcher was still moving jobs after 50 passes.");
    }

    /// <summary>Does what Hangfire would for the job's current (STARTING) attempt: launches it. Returns its container.</summary>
    public async Task<string> LaunchAsync(string jobId)
    {
        var attempt = (await GetJobAsync(jobId)).AttemptCount;
        await Get<RunJob>().LaunchAsync(jobId, attempt, CancellationToken.None);
        var job = await GetJobAsync(jobId);
        Assert.True(job.Status == JobStatus.Running, $"Job {jobId} is {job.Status} ({job.StatusReason}) after its launch, not RUNNING.");
        return job.Attempts.Single(a => a.Number == attempt).ContainerId!;
    }

    /// <summary>The running container of the job's current attempt exits; the watcher hands completion over, which then runs.</summary>
    public async Task<Job> ExitAsync(string jobId, long exitCode)
    {
        var job = await GetJobAsync(jobId);
        var attempt = job.AttemptCount;
        var containerId = job.Attempts.Single(a => a.Number == attempt).ContainerId!;
        Docker.Default.Exit(containerId, exitCode);
        await CompleteAsync(jobId, attempt, containerId);
        return await GetJobAsync(jobId);
    }

    /// <summary>Waits for the watcher to hand the attempt's completion to Hangfire, then runs it.</summary>
    public async Task CompleteAsync(string jobId, int attempt, string containerId)
    {
        await Hangfire.WaitForAsync(c => c.Method == nameof(RunJob.CompleteAsync) && (string)c.Args[0]! == jobId && (int)c.Args[1]! == attempt);
        await Get<RunJob>().CompleteAsync(jobId, attempt, containerId, CancellationToken.None);
    }

    /// <summary>Launches the job's current attempt and lets its container exit with <paramref name="exitCode"/>.</summary>
    public async Task<Job> RunAsync(string jobId, long exitCode)
    {
        await LaunchAsync(jobId);
        return await ExitAsync(jobId, exitCode);
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
