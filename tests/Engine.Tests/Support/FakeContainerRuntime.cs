using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using System.Text;
using BatchPortal.Engine.Execution;

namespace BatchPortal.Engine.Tests.Support;

/// <summary>
/// An in-memory Docker engine: reachable or not on demand, with the host size the dispatcher sees. Containers "start"
/// and stay running until <see cref="Exit"/> is called. Like Docker, a create with a name already taken by the same
/// attempt hands back that container, and a log stream that follows ends when the container exits (or the engine goes).
/// </summary>
internal sealed class FakeContainerRuntime(string endpoint, TimeProvider time) : IContainerRuntime
{
    private readonly ConcurrentDictionary<string, FakeContainer> _containers = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<ContainerSpec> _created = new();
    private readonly ConcurrentDictionary<string, TaskCompletionSource> _waited = new(StringComparer.Ordinal);
    private int _nextId;

    public string Endpoint { get; } = endpoint;

    private TaskCompletionSource _lost = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public HostInfo Host { get; set; } = new("fake-24.0", 8, 16L * 1024 * 1024 * 1024, "FakeOS");

    /// <summary>When set, every call throws <see cref="ContainerRuntimeUnavailableException"/> with this error.</summary>
    public string? UnreachableError { get; set; }

    /// <summary>Whether the failures above may have reached the engine (a timeout) or cannot have (connection refused).</summary>
    public bool UnreachableMayHaveReached { get; set; }

    /// <summary>
    /// How many creates still make their container and then fail as a timeout would: the engine did the work, the
    /// answer was lost.
    /// </summary>
    public int CreatesLostAfterDoing { get; set; }

    public IReadOnlyCollection<ContainerSpec> Started => [.. _containers.Values.Select(c => c.Spec)];

    /// <summary>Every container ever created, removed ones included, in creation order.</summary>
    public IReadOnlyList<ContainerSpec> Created => [.. _created];

    /// <summary>Runs between "created" and "started": lets a test act while a launch is in flight.</summary>
    public Func<ContainerSpec, Task>? BeforeStart { get; set; }

    /// <summary>Every container the fake knows now, by id.</summary>
    public IReadOnlyCollection<string> ContainerIds => [.. _containers.Keys];

    /// <summary>
    /// Completes once the watcher waits for the container's exit (follows its output). The watcher sets its timeout
    /// timer before that, so a test that awaits this can advance the clock without racing the timer's creation.
    /// </summary>
    public Task WaitingForExit(string containerId) => _waited.GetOrAdd(containerId, _ => new(TaskCreationOptions.RunContinuationsAsynchronously)).Task;

    public Task<HostInfo> GetHostInfoAsync(CancellationToken ct)
    {
        ThrowIfUnreachable();
        return Task.FromResult(Host);
    }

    public Task EnsureImageAsync(string image, CancellationToken ct)
    {
        ThrowIfUnreachable();
        return Task.CompletedTask;
    }

    public Task<bool> HasImageAsync(string image, CancellationToken ct)
    {
        ThrowIfUnreachable();
        return Task.FromResult(true);
    }

    public Task<string?> FindAttemptContainerAsync(string jobId, int attempt, CancellationToken ct)
    {
        ThrowIfUnreachable();
        var found = _containers.FirstOrDefault(c =>
            c.Value.Spec.Labels.GetValueOrDefault(ContainerLabels.JobId) == jobId
            && c.Value.Spec.Labels.GetValueOrDefault(ContainerLabels.Attempt) == attempt.ToString(System.Globalization.CultureInfo.InvariantCulture));
        return Task.FromResult<string?>(found.Key);
    }

    public Task<IReadOnlyList<ManagedContainer>> ListManagedAsync(CancellationToken ct)
    {
        ThrowIfUnreachable();
        IReadOnlyList<ManagedContainer> list = [.. _containers.Select(c => new ManagedContainer(
            c.Key,
            c.Value.Spec.Labels.GetValueOrDefault(ContainerLabels.JobId),
            int.TryParse(c.Value.Spec.Labels.GetValueOrDefault(ContainerLabels.Attempt), out var a) ? a : null,
            c.Value.Spec.Labels.GetValueOrDefault(ContainerLabels.Store),
            !c.Value.Exited.Task.IsCompleted))];
        return Task.FromResult(list);
    }

    public async Task<string> CreateAndStartAsync(ContainerSpec spec, CancellationToken ct)
    {
        ThrowIfUnreachable();
        var existing = _containers.FirstOrDefault(c => c.Value.Spec.Name == spec.Name);
        if (existing.Key is not null)
        {
            return existing.Key;
        }

        var id = $"fake{Interlocked.Increment(ref _nextId):D60}";
        _containers[id] = new FakeContainer(spec);
        _created.Enqueue(spec);
        if (CreatesLostAfterDoing > 0)
        {
            CreatesLostAfterDoing--;
            throw new ContainerRuntimeUnavailableException(Endpoint, "no answer within 10 s", mayHaveReachedEngine: true);
        }

        if (BeforeStart is { } hook)
        {
            await hook(spec);
        }

        return id;
    }

    public async Task<ContainerExit> WaitAsync(string containerId, CancellationToken ct)
    {
        ThrowIfUnreachable();
        var container = _containers[containerId];
        _waited.GetOrAdd(containerId, _ => new(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
        await WaitForExitOrLossAsync(container, ct);
        return new ContainerExit(await container.Exited.Task, false, null);
    }

    /// <summary>The engine goes away mid-run: calls fail, and a wait or a stream in progress breaks off, as a dropped socket does.</summary>
    public void Disconnect(string error, bool mayHaveReached = false)
    {
        UnreachableError = error;
        UnreachableMayHaveReached = mayHaveReached;
        _lost.TrySetException(new ContainerRuntimeUnavailableException(Endpoint, error, mayHaveReachedEngine: true));
    }

    /// <summary>The engine answers again; the containers it ran meanwhile are as they were.</summary>
    public void Reconnect()
    {
        UnreachableError = null;
        _lost = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    public async Task<ContainerState?> InspectAsync(string containerId, CancellationToken ct)
    {
        ThrowIfUnreachable();
        if (!_containers.TryGetValue(containerId, out var c))
        {
            return null;
        }

        return c.Exited.Task.IsCompleted
            ? new ContainerState(false, await c.Exited.Task, false, null, c.StartedAt, c.FinishedAt)
            : new ContainerState(true, 0, false, null, c.StartedAt, null);
    }

    /// <summary>
    /// The container's output from <paramref name="sinceNanos"/> (inclusive, as Docker filters). With
    /// <paramref name="follow"/> it goes on with what is written later, until the container exits or the engine goes.
    /// </summary>
    public async IAsyncEnumerable<LogRecord> ReadLogsAsync(string containerId, long? sinceNanos, bool follow, [EnumeratorCancellation] CancellationToken ct)
    {
        ThrowIfUnreachable();
        if (!_containers.TryGetValue(containerId, out var c))
        {
            yield break;
        }

        if (follow)
        {
            _waited.GetOrAdd(containerId, _ => new(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
        }

        var next = 0;
        while (true)
        {
            var changed = c.Changed;
            var logs = c.Logs.ToArray();
            for (; next < logs.Length; next++)
            {
                if (sinceNanos is not { } s || logs[next].TimestampNanos >= s)
                {
                    yield return logs[next];
                }
            }

            if (!follow || c.Exited.Task.IsCompleted || c.CutStreams > 0)
            {
                if (c.CutStreams > 0)
                {
                    c.CutStreams--;
                }

                yield break;
            }

            await Task.WhenAny(changed.Task, c.Exited.Task, _lost.Task).WaitAsync(ct);
            ThrowIfUnreachable();
        }
    }

    /// <summary>The container writes a line at <paramref name="nanos"/> (Docker's time, Unix nanoseconds).</summary>
    public void Write(string containerId, string stream, long nanos, string text, bool partial = false) =>
        _containers[containerId].Add(new LogRecord(stream, nanos, Encoding.UTF8.GetBytes(text), partial));

    /// <summary>The next <paramref name="count"/> log streams of the container end early, as a cut connection does.</summary>
    public void CutNextStreams(string containerId, int count) => _containers[containerId].CutStreams = count;

    public Task StopAsync(string containerId, TimeSpan grace, CancellationToken ct)
    {
        ThrowIfUnreachable();
        if (_containers.ContainsKey(containerId))
        {
            Exit(containerId, 137);
        }

        return Task.CompletedTask;
    }

    public Task RemoveAsync(string containerId, CancellationToken ct)
    {
        ThrowIfUnreachable();
        _containers.TryRemove(containerId, out _);
        return Task.CompletedTask;
    }

    public void Exit(string containerId, long exitCode)
    {
        var c = _containers[containerId];
        c.FinishedAt ??= time.GetUtcNow();
        c.Exited.TrySetResult(exitCode);
    }

    /// <summary>Whether the container exists and has not exited.</summary>
    public bool IsRunning(string containerId) => _containers.TryGetValue(containerId, out var c) && !c.Exited.Task.IsCompleted;

    /// <summary>Takes a container away behind the engine's back, as <c>docker rm -f</c> would.</summary>
    public void Vanish(string containerId) => _containers.TryRemove(containerId, out _);

    private async Task WaitForExitOrLossAsync(FakeContainer container, CancellationToken ct)
    {
        var lost = _lost.Task;
        await Task.WhenAny(container.Exited.Task, lost).WaitAsync(ct);
        if (!container.Exited.Task.IsCompleted)
        {
            await lost;
        }
    }

    private void ThrowIfUnreachable()
    {
        if (UnreachableError is { } error)
        {
            throw new ContainerRuntimeUnavailableException(Endpoint, error, mayHaveReachedEngine: UnreachableMayHaveReached);
        }
    }

    private sealed class FakeContainer(ContainerSpec spec)
    {
        private readonly Lock _gate = new();

        public ContainerSpec Spec { get; } = spec;

        public ConcurrentQueue<LogRecord> Logs { get; } = new();

        public TaskCompletionSource Changed { get; private set; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource<long> Exited { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public DateTimeOffset StartedAt { get; } = DateTimeOffset.UnixEpoch;

        public DateTimeOffset? FinishedAt { get; set; }

        public int CutStreams { get; set; }

        public void Add(LogRecord record)
        {
            TaskCompletionSource changed;
            lock (_gate)
            {
                Logs.Enqueue(record);
                changed = Changed;
                Changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
            }

            changed.TrySetResult();
        }
    }
}

internal sealed class FakeContainerRuntimeFactory(TimeProvider? time = null) : IContainerRuntimeFactory
{
    private readonly ConcurrentDictionary<string, FakeContainerRuntime> _runtimes = new(StringComparer.Ordinal);

    public string DefaultEndpoint => "unix:///fake/docker.sock";

    /// <summary>The engine at the default endpoint.</summary>
    public FakeContainerRuntime Default => For(DefaultEndpoint);

    public IContainerRuntime ForEndpoint(string? endpoint) => For(string.IsNullOrWhiteSpace(endpoint) ? DefaultEndpoint : endpoint);

    public FakeContainerRuntime For(string endpoint) => _runtimes.GetOrAdd(endpoint, e => new FakeContainerRuntime(e, time ?? TimeProvider.System));
}
