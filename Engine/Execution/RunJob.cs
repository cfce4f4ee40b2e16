using System.Collections.Concurrent;
using System.Globalization;
using BatchPortal.Engine.Domain;
using BatchPortal.Engine.Storage;
using Hangfire;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace BatchPortal.Engine.Execution;

/// <summary>
/// The Hangfire entry points that touch containers. Hangfire only executes: each method re-reads the job, does nothing
/// when the job has moved on, and is safe to run twice, here or on another node (an attempt's engine is recorded before
/// its container exists, and its container has a name of its own, so a second launch finds the first one's container).
/// So Hangfire may retry them: an error that escapes one (a database that timed out, an engine that stayed away through
/// the seam's own retries) is the engine's problem, and the method runs again after a pause. What the attempt did is
/// only reported to <see cref="JobStateMachine.EndAttemptAsync"/>, which decides what the job becomes.
/// </summary>
public sealed class RunJob(
    JobStateMachine stateMachine,
    JobQueries queries,
    IContainerRuntimeFactory runtimes,
    DockerHealth health,
    ContainerWatcher watcher,
    LogCapture capture,
    StoreIdentity store,
    IOptions<DockerOptions> options,
    IBackgroundJobClient hangfire,
    TimeProvider time,
    ILogger<RunJob> logger)
{
    public const string EssentialContainerExited = AttemptOutcome.EssentialContainerExited;
    public const string TaskFailedToStart = AttemptOutcome.TaskFailedToStart;
    public const string TimeoutExceeded = AttemptOutcome.TimeoutExceeded;

    // Launches in flight on this node: a second one for the same attempt (the reconciler's, while the first pulls a large
    // image) waits for nothing and leaves.
    private readonly ConcurrentDictionary<string, byte> _launching = new(StringComparer.Ordinal);

    // Stops of terminated jobs queued on this node, by when each should have taken effect. The terminated flag is what
    // lasts: a stop lost with Hangfire's in-memory queue at a restart, or never queued, is queued again by the reconciler
    // once it is overdue (see StopOverdue), and not while one is under way.
    private readonly ConcurrentDictionary<string, DateTimeOffset> _stops = new(StringComparer.Ordinal);

    public bool IsLaunching(string jobId, int attempt) => _launching.ContainsKey(AttemptKey.Of(jobId, attempt));

    /// <summary>
    /// Queues the stop of a RUNNING attempt whose job is flagged terminated. A queue that fails is logged, not thrown:
    /// the flag is stored, and the reconciler queues the stop again.
    /// </summary>
    public void QueueStop(string jobId, int attempt)
    {
        var key = AttemptKey.Of(jobId, attempt);
        _stops[key] = time.GetUtcNow() + options.Value.StopGracePeriod + options.Value.ReconcileInterval;
        try
        {
            hangfire.Enqueue<RunJob>(x => x.StopAsync(jobId, attempt, CancellationToken.None));
        }
        catch (BackgroundJobClientException ex)
        {
            _stops.TryRemove(key, out _);
            logger.StopNotQueued(jobId, attempt, ex);
        }
    }

    /// <summary>Whether a terminated attempt still running has no stop of this node's under way that could yet take effect.</summary>
    public bool StopOverdue(string jobId, int attempt, DateTimeOffset now) =>
        !_stops.TryGetValue(AttemptKey.Of(jobId, attempt), out var due) || now >= due;

    /// <summary>STARTING → RUNNING: pull the image if needed, create and start the attempt's container, watch it.</summary>
    [AutomaticRetry(Attempts = 8, DelaysInSeconds = [1, 2, 4, 8, 15, 30, 60, 60], OnAttemptsExceeded = AttemptsExceededAction.Delete)]
    public async Task LaunchAsync(string jobId, int attempt, CancellationToken ct)
    {
        var key = AttemptKey.Of(jobId, attempt);
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
        var job = await queries.GetAsync(jobId, ct);
        if (job is null || job.Status != JobStatus.Starting || job.AttemptCount != attempt || job.Attempt(attempt) is not { } row)
        {
            return;
        }

        var runtime = runtimes.ForEndpoint(row.DockerEndpoint);
        string containerId;
        try
        {
            containerId = await FindOrStartAsync(runtime, job, attempt, ct);
        }
        catch (ContainerRuntimeUnavailableException ex) when (!ex.MayHaveReachedEngine && !row.LaunchUncertain)
        {
            // Nothing reached the engine (no socket, connection refused), now or in an earlier launch of the attempt: no
            // container can exist, so the capacity goes back and the dispatcher places the job again, perhaps elsewhere.
            logger.LaunchFailed(jobId, attempt, ex.Message, null);
            await health.ReportUnreachableAsync(ex.Endpoint, ex.Error);
            await stateMachine.TryTransitionAsync(jobId, JobStatus.Starting, JobStatus.Runnable, ex.Message, j => j.UndoPlacement(attempt), ct);
            return;
        }
        catch (ContainerRuntimeUnavailableException ex)
        {
            // The engine may have made the container before the connection was lost: the job keeps its attempt and its
            // engine, and the launch runs again (Hangfire's retry, or the reconciler) to find it or make it.
            logger.LaunchFailed(jobId, attempt, ex.Message, null);
            await health.ReportUnreachableAsync(ex.Endpoint, ex.Error);
            if (ex.MayHaveReachedEngine && !row.LaunchUncertain)
            {
                await stateMachine.UpdateAttemptAsync(jobId, attempt, [JobStatus.Starting], a => a.LaunchUncertain = true, ct);
            }

            await stateMachine.SetReasonsAsync(JobStatus.Starting, [(jobId, $"{ex.Message}; the launch is tried again when it answers.")], ct);
            throw;
        }
        catch (Exception ex) when (ex is ImagePullException or ContainerStartException)
        {
            var containerReason = ex is ImagePullException ? $"CannotPullContainerError: {ex.Message}" : ex.Message;
            logger.LaunchFailed(jobId, attempt, containerReason, null);
            await stateMachine.EndAttemptAsync(jobId, attempt, new AttemptOutcome(JobStatus.Starting, null, containerReason, TaskFailedToStart, time.GetUtcNow()), ct);
            return;
        }

        var now = time.GetUtcNow();
        var logStream = $"{Truncate(job.JobDefinitionName, 200)}/default/{containerId[..Math.Min(32, containerId.Length)]}";
        var moved = await stateMachine.TryTransitionAsync(jobId, JobStatus.Starting, JobStatus.Running, null, j => j.AttemptStarted(attempt, containerId, logStream, now), ct);
        if (!moved.IsApplied)
        {
            var current = await queries.GetAsync(jobId, ct);
            if (current is { Status: JobStatus.Running } && current.AttemptCount == attempt && current.Attempt(attempt)?.ContainerId == containerId)
            {
                // Another launch of this attempt got there first, with this same container: it is running and followed.
                watcher.Watch(jobId, attempt, containerId, runtime.Endpoint, Deadline(current, current.StartedAt ?? now));
                return;
            }

            // Terminated (or otherwise finished) while starting: the container must not outlive the decision.
            await runtime.StopAsync(containerId, TimeSpan.Zero, ct);
            await RemoveAsync(runtime, jobId, containerId);
            return;
        }

        logger.ContainerStarted(jobId, attempt, containerId, runtime.Endpoint);
        watcher.Watch(jobId, attempt, containerId, runtime.Endpoint, Deadline(job, now));
    }

    /// <summary>
    /// RUNNING → SUCCEEDED, FAILED or RUNNABLE (retry), once Docker says the container has exited and every line it
    /// wrote is stored. A container that still runs is followed again instead: completion never guesses.
    /// </summary>
    [AutomaticRetry(Attempts = 8, DelaysInSeconds = [1, 2, 4, 8, 15, 30, 60, 60], OnAttemptsExceeded = AttemptsExceededAction.Delete)]
    public async Task CompleteAsync(string jobId, int attempt, string containerId, CancellationToken ct)
    {
        var job = await queries.GetAsync(jobId, ct);
        var row = job?.Attempt(attempt);
        var runtime = runtimes.ForEndpoint(row?.DockerEndpoint);
        if (job is { Status: JobStatus.Running } && job.AttemptCount == attempt && row is not null)
        {
            var state = await runtime.InspectAsync(containerId, ct);
            if (state is { Running: true })
            {
                watcher.Watch(jobId, attempt, containerId, runtime.Endpoint, Deadline(job, job.StartedAt ?? time.GetUtcNow()));
                return;
            }

            if (state is not null)
            {
                // Docker's follow stream can end before the last lines: read again from what is stored, until nothing new comes.
                await capture.CatchUpAsync(runtime, jobId, attempt, containerId, ct);
            }

            var outcome = Outcome(row.HostUnreachableSince, row.StartedAt, watcher.ExitSeenLive(jobId, attempt), runtime.Endpoint, containerId, state, time.GetUtcNow());
            await stateMachine.EndAttemptAsync(jobId, attempt, outcome, ct);
        }

        await RemoveAsync(runtime, jobId, containerId);
        watcher.Completed(jobId, attempt);
    }

    /// <summary>Stops an attempt's container (SIGTERM, then SIGKILL after the grace period); the watcher then completes it.</summary>
    [AutomaticRetry(Attempts = 8, DelaysInSeconds = [1, 2, 4, 8, 15, 30, 60, 60], OnAttemptsExceeded = AttemptsExceededAction.Delete)]
    public async Task StopAsync(string jobId, int attempt, CancellationToken ct)
    {
        var job = await queries.GetAsync(jobId, ct);
        var row = job?.Attempt(attempt);
        if (row?.ContainerId is { } containerId)
        {
            await runtimes.ForEndpoint(row.DockerEndpoint).StopAsync(containerId, options.Value.StopGracePeriod, ct);
        }

        _stops.TryRemove(AttemptKey.Of(jobId, attempt), out _);
    }

    /// <summary>
    /// How the attempt ended, from Docker's view of its container (null: the container is gone). When the engine was
    /// lost during the attempt and the container stopped after that with a failure, or vanished, the engine's going away
    /// stopped it: AWS's host-terminated reason, which retry strategies match with <c>Host EC2*</c>. An exit seen as it
    /// happened stops at this moment; one found afterwards at Docker's own exit time (never before the attempt started:
    /// the engine's host may keep another time than the portal's).
    /// </summary>
    internal static AttemptOutcome Outcome(
        DateTimeOffset? hostUnreachableSince,
        DateTimeOffset? startedAt,
        bool exitSeenLive,
        string endpoint,
        string containerId,
        ContainerState? state,
        DateTimeOffset now)
    {
        var shortId = containerId[..Math.Min(12, containerId.Length)];
        int? exitCode = state is null ? null : (int)state.ExitCode;
        var stoppedAt = exitSeenLive && hostUnreachableSince is null ? now : state?.FinishedAt ?? hostUnreachableSince ?? now;
        if (startedAt is { } started && stoppedAt < started)
        {
            stoppedAt = started;
        }

        if (stoppedAt > now)
        {
            stoppedAt = now;
        }

        if (hostUnreachableSince is { } lost && (state is null || (exitCode != 0 && stoppedAt >= lost - TimeSpan.FromSeconds(2))))
        {
            var what = state is null
                ? "the container was gone when it answered again"
                : $"the container stopped with exit code {exitCode} at {stoppedAt:yyyy-MM-dd HH:mm:ss} UTC";
            return new AttemptOutcome(
                JobStatus.Running,
                exitCode,
                $"The Docker engine at {endpoint} stopped answering after {lost:yyyy-MM-dd HH:mm:ss} UTC; {what}.",
                AttemptOutcome.HostTerminated(endpoint),
                stoppedAt);
        }

        var reason = state switch
        {
            null => $"Container {shortId} no longer exists on {endpoint}",
            { OomKilled: true } => "OutOfMemoryError: Container killed due to memory usage",
            _ => state.Error,
        };
        return new AttemptOutcome(JobStatus.Running, exitCode, reason, EssentialContainerExited, stoppedAt);
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
        }

        // Made by a launch that stopped before starting it, or not made yet: CreateAndStartAsync starts the one there, or
        // makes it.
        var image = job.Container.Image ?? throw new ContainerStartException("CannotCreateContainerError: the job has no container image");
        await runtime.EnsureImageAsync(image, ct);
        var host = health.Peek(runtime.Endpoint)?.Host ?? await runtime.GetHostInfoAsync(ct);
        int? arraySize = null;
        if (job.ParentJobId is { } parentId)
        {
            arraySize = (await queries.GetAsync(parentId, ct))?.ArraySize;
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
            [ContainerLabels.Store] = store.Id,
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

    /// <summary>Removes a finished attempt's container; one left behind (the engine away) is removed by the reconciler.</summary>
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

    private static string Truncate(string s, int max) => s.Length <= max ? s : s[..max];
}
