using System.Globalization;
using BatchPortal.Engine.Domain;
using BatchPortal.Engine.Storage;
using Hangfire;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace BatchPortal.Engine.Execution;

/// <summary>
/// The Hangfire entry points that touch containers. Hangfire only executes: each method re-reads the job, does nothing
/// when the job has moved on, and is safe to run twice (the container of an attempt is found by its labels, and its name
/// is unique per attempt). Hangfire's own retries are off: attempts belong to the engine.
/// </summary>
public sealed class RunJob(
    JobStore jobs,
    IDbContextFactory<BatchDbContext> dbFactory,
    IContainerRuntimeFactory runtimes,
    DockerHealth health,
    ContainerWatcher watcher,
    IOptions<DockerOptions> options,
    TimeProvider time,
    ILogger<RunJob> logger)
{
    public const string EssentialContainerExited = "Essential container in task exited";

    // Launches in flight on this node. Recovery may queue a launch for a STARTING job whose first launch is still
    // running (both happen when the engine first answers at start); the second must not race the first.
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, byte> _launching = new(StringComparer.Ordinal);
    public const string TaskFailedToStart = "Task failed to start";
    public const string TimeoutExceeded = "Job attempt duration exceeded timeout";

    /// <summary>STARTING → RUNNING: pull the image if needed, create and start the attempt's container, watch it.</summary>
    [AutomaticRetry(Attempts = 0, OnAttemptsExceeded = AttemptsExceededAction.Delete)]
    public async Task LaunchAsync(string jobId, int attempt, CancellationToken ct)
    {
        var key = $"{jobId}#{attempt}";
        if (!_launching.TryAdd(key, 0))
        {
            return;
        }

        try
        {
            await LaunchOnceAsync(jobId, attempt, ct);
        }
        finally
        {
            _launching.TryRemove(key, out _);
        }
    }

    private async Task LaunchOnceAsync(string jobId, int attempt, CancellationToken ct)
    {
        var job = await jobs.GetAsync(jobId, ct);
        if (job is null || job.Status != JobStatus.Starting || job.AttemptCount != attempt)
        {
            return;
        }

        var endpoint = await EndpointOfAsync(job.ComputeEnvironmentName, ct);
        var runtime = runtimes.ForEndpoint(endpoint);
        string containerId;
        try
        {
            containerId = await FindOrStartAsync(runtime, job, attempt, ct);
        }
        catch (ContainerRuntimeUnavailableException ex)
        {
            // Nothing reached the engine: give the capacity back and let the dispatcher place the job again.
            logger.LaunchFailed(jobId, attempt, ex.Message, null);
            await health.ReportUnreachableAsync(ex.Endpoint, ex.Message[(ex.Message.IndexOf(": ", StringComparison.Ordinal) + 2)..]);
            await jobs.TryTransitionAsync(jobId, JobStatus.Starting, JobStatus.Runnable, ex.Message, (j, db) =>
            {
                j.AttemptCount--;
                var row = j.Attempts.Single(a => a.Number == attempt);
                db.JobAttempts.Remove(row);
                j.Attempts.Remove(row);
            }, ct);
            return;
        }
        catch (Exception ex) when (ex is ImagePullException or ContainerStartException)
        {
            var containerReason = ex is ImagePullException ? $"CannotPullContainerError: {ex.Message}" : ex.Message;
            logger.LaunchFailed(jobId, attempt, containerReason, null);
            await FinishAttemptAsync(job, attempt, JobStatus.Starting, exitCode: null, containerReason, TaskFailedToStart, ct);
            return;
        }

        var now = time.GetUtcNow();
        var logStream = $"{Truncate(job.JobDefinitionName, 200)}/default/{containerId[..Math.Min(32, containerId.Length)]}";
        var moved = await jobs.TryTransitionAsync(jobId, JobStatus.Starting, JobStatus.Running, null, (j, _) =>
        {
            j.StartedAt = now;
            j.LogStreamName = logStream;
            var row = j.Attempts.Single(a => a.Number == attempt);
            row.ContainerId = containerId;
            row.StartedAt = now;
            row.LogStreamName = logStream;
        }, ct);

        if (!moved.IsApplied)
        {
            // Terminated (or otherwise finished) while starting: the container must not outlive the decision.
            await runtime.StopAsync(containerId, TimeSpan.Zero, ct);
            await RemoveAsync(runtime, jobId, containerId);
            return;
        }

        logger.ContainerStarted(jobId, attempt, containerId, runtime.Endpoint);
        watcher.Watch(jobId, attempt, containerId, runtime.Endpoint, Deadline(job, now));
    }

    /// <summary>RUNNING → SUCCEEDED, FAILED or RUNNABLE (retry), once the container has exited and its logs are stored.</summary>
    [AutomaticRetry(Attempts = 0, OnAttemptsExceeded = AttemptsExceededAction.Delete)]
    public async Task CompleteAsync(string jobId, int attempt, string containerId, CancellationToken ct)
    {
        var job = await jobs.GetAsync(jobId, ct);
        if (job is null)
        {
            return;
        }

        var endpoint = await EndpointOfAsync(job.Attempts.FirstOrDefault(a => a.Number == attempt)?.ComputeEnvironmentName, ct);
        var runtime = runtimes.ForEndpoint(endpoint);
        if (job.Status == JobStatus.Running && job.AttemptCount == attempt)
        {
            var state = await runtime.InspectAsync(containerId, ct);
            int? exitCode = state is null ? null : (int)state.ExitCode;
            var reason = state switch
            {
                null => $"Container {containerId[..Math.Min(12, containerId.Length)]} no longer exists on {runtime.Endpoint}",
                { OomKilled: true } => "OutOfMemoryError: Container killed due to memory usage",
                _ => state.Error,
            };
            await FinishAttemptAsync(job, attempt, JobStatus.Running, exitCode, reason, EssentialContainerExited, ct);
        }

        await RemoveAsync(runtime, jobId, containerId);
    }

    /// <summary>Stops an attempt's container (SIGTERM, then SIGKILL after the grace period); the watcher then completes it.</summary>
    [AutomaticRetry(Attempts = 0, OnAttemptsExceeded = AttemptsExceededAction.Delete)]
    public async Task StopAsync(string jobId, int attempt, CancellationToken ct)
    {
        var job = await jobs.GetAsync(jobId, ct);
        var row = job?.Attempts.FirstOrDefault(a => a.Number == attempt);
        if (row?.ContainerId is not { } containerId)
        {
            return;
        }

        var runtime = runtimes.ForEndpoint(await EndpointOfAsync(row.ComputeEnvironmentName, ct));
        try
        {
            await runtime.StopAsync(containerId, options.Value.StopGracePeriod, ct);
        }
        catch (ContainerRuntimeUnavailableException ex)
        {
            logger.RemoveFailed(jobId, containerId, ex);
        }
    }

    /// <summary>Ends an attempt: SUCCEEDED on exit 0, else another attempt when the retry strategy allows, else FAILED.</summary>
    internal async Task FinishAttemptAsync(Job job, int attempt, JobStatus from, int? exitCode, string? containerReason, string statusReason, CancellationToken ct)
    {
        if (job.IsTerminated)
        {
            // TerminateJob stopped the container: the caller's reason stands, and a terminated job is never retried.
            statusReason = job.TerminationReason ?? "Terminated";
        }
        else if (job.TimedOut)
        {
            statusReason = TimeoutExceeded;
        }

        var to = job.IsTerminated || job.TimedOut ? JobStatus.Failed
            : exitCode == 0 && from == JobStatus.Running ? JobStatus.Succeeded
            : RetryPolicy.ShouldRetry(job, attempt, exitCode, containerReason, statusReason) ? JobStatus.Runnable
            : JobStatus.Failed;
        var now = time.GetUtcNow();
        await jobs.TryTransitionAsync(job.Id, from, to, statusReason, (j, _) =>
        {
            j.ExitCode = exitCode;
            j.ContainerReason = containerReason;
            j.TimedOut = false;
            var row = j.Attempts.Single(a => a.Number == attempt);
            row.StoppedAt = now;
            row.StartedAt ??= now;
            row.ExitCode = exitCode;
            row.Reason = containerReason;
            row.StatusReason = statusReason;
        }, ct);
    }

    private async Task<string> FindOrStartAsync(IContainerRuntime runtime, Job job, int attempt, CancellationToken ct)
    {
        var existing = await runtime.FindAttemptContainerAsync(job.Id, attempt, ct);
        if (existing is not null)
        {
            var state = await runtime.InspectAsync(existing, ct);
            if (state is not null && (state.Running || state.StartedAt is not null))
            {
                return existing;
            }

            // Created by a launch that died before starting it: start over.
            await runtime.RemoveAsync(existing, ct);
        }

        var image = job.Container.Image ?? throw new ContainerStartException("CannotCreateContainerError: the job has no container image");
        await runtime.EnsureImageAsync(image, ct);
        var host = health.Peek(runtime.Endpoint)?.Host ?? await runtime.GetHostInfoAsync(ct);
        int? arraySize = null;
        if (job.ParentJobId is { } parentId)
        {
            await using var db = await dbFactory.CreateDbContextAsync(ct);
            arraySize = await db.Jobs.Where(j => j.Id == parentId).Select(j => j.ArraySize).FirstOrDefaultAsync(ct);
        }

        return await runtime.CreateAndStartAsync(BuildSpec(job, attempt, host.Cpus, arraySize), ct);
    }

    internal ContainerSpec BuildSpec(Job job, int attempt, int hostCpus, int? arraySize = null)
    {
        var c = job.Container;
        var env = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var e in c.Environment.Where(e => !string.IsNullOrEmpty(e.Name)))
        {
            env[e.Name!] = e.Value ?? string.Empty;
        }

        env["AWS_BATCH_JOB_ID"] = job.Id;
        env["AWS_BATCH_JOB_ATTEMPT"] = attempt.ToString(CultureInfo.InvariantCulture);
        env["AWS_BATCH_JQ_NAME"] = job.QueueName;
        env["AWS_BATCH_CE_NAME"] = job.ComputeEnvironmentName ?? string.Empty;
        if (job.ArrayIndex is { } index)
        {
            env["AWS_BATCH_JOB_ARRAY_INDEX"] = index.ToString(CultureInfo.InvariantCulture);
            if (arraySize is { } size)
            {
                env["AWS_BATCH_JOB_ARRAY_SIZE"] = size.ToString(CultureInfo.InvariantCulture);
            }
        }

        var labels = new Dictionary<string, string>
        {
            [ContainerLabels.Managed] = "true",
            [ContainerLabels.JobId] = job.Id,
            [ContainerLabels.Attempt] = attempt.ToString(CultureInfo.InvariantCulture),
            [ContainerLabels.JobName] = job.Name,
            [ContainerLabels.JobQueue] = job.QueueName,
            [ContainerLabels.ComputeEnvironment] = job.ComputeEnvironmentName ?? string.Empty,
        };

        var binds = c.MountPoints
            .Select(m => (Mount: m, Volume: c.Volumes.FirstOrDefault(v => v.Name == m.SourceVolume)))
            .Where(x => x.Volume?.Host?.SourcePath is not null && x.Mount.ContainerPath is not null)
            .Select(x => $"{x.Volume!.Host!.SourcePath}:{x.Mount.ContainerPath}{(x.Mount.ReadOnly == true ? ":ro" : string.Empty)}")
            .ToList();

        return new ContainerSpec(
            ContainerName(job.Id, attempt),
            c.Image!,
            c.Command,
            env,
            labels,
            job.Vcpus,
            job.MemoryMiB,
            hostCpus)
        {
            User = string.IsNullOrEmpty(c.User) ? null : c.User,
            Privileged = c.Privileged == true,
            ReadonlyRootFilesystem = c.ReadonlyRootFilesystem == true,
            Binds = binds,
            Ulimits = [.. c.Ulimits.Where(u => u.Name is not null).Select(u => (u.Name!, (long)u.SoftLimit, (long)u.HardLimit))],
            NetworkMode = options.Value.NetworkMode,
        };
    }

    /// <summary>When the attempt that started at <paramref name="startedAt"/> must have ended, per the job's timeout.</summary>
    internal static DateTimeOffset? Deadline(Job job, DateTimeOffset startedAt) =>
        job.Timeout?.AttemptDurationSeconds is { } seconds ? startedAt.AddSeconds(seconds) : null;

    /// <summary>Docker names allow [a-zA-Z0-9_.-]; array children's ids carry a ':'.</summary>
    internal static string ContainerName(string jobId, int attempt) =>
        $"batchportal-{jobId.Replace(':', '-')}-{attempt.ToString(CultureInfo.InvariantCulture)}";

    private async Task RemoveAsync(IContainerRuntime runtime, string jobId, string containerId)
    {
        if (options.Value.KeepContainers)
        {
            return;
        }

        try
        {
            await runtime.RemoveAsync(containerId, CancellationToken.None);
        }
        catch (Exception ex) when (ex is ContainerRuntimeUnavailableException or Docker.DotNet.DockerApiException)
        {
            logger.RemoveFailed(jobId, containerId, ex);
        }
    }

    private async Task<string?> EndpointOfAsync(string? computeEnvironment, CancellationToken ct)
    {
        if (computeEnvironment is null)
        {
            return null;
        }

        await using var db = await dbFactory.CreateDbContextAsync(ct);
        return await db.ComputeEnvironments.Where(c => c.Name == computeEnvironment).Select(c => c.DockerEndpoint).FirstOrDefaultAsync(ct);
    }

    private static string Truncate(string s, int max) => s.Length <= max ? s : s[..max];
}
