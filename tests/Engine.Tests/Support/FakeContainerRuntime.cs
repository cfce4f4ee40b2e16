using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using BatchPortal.Engine.Execution;

namespace BatchPortal.Engine.Tests.Support;

/// <summary>
/// An in-memory Docker engine: reachable or not on demand, with the host size the dispatcher sees. Containers "start"
/// and stay running until <see cref="Exit"/> is called.
/// </summary>
internal sealed class FakeContainerRuntime(string endpoint) : IContainerRuntime
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

    public IReadOnlyCollection<ContainerSpec> Started => [.. _containers.Values.Select(c => c.Spec)];

    /// <summary>Every container ever created, removed ones included, in creation order.</summary>
    public IReadOnlyList<ContainerSpec> Created => [.. _created];

    /// <summary>Runs between "created" and "started": lets a test act while a launch is in flight.</summary>
    public Func<ContainerSpec, Task>? BeforeStart { get; set; }

    /// <summary>
    /// Completes once the watcher waits for the container's exit. The watcher sets its timeout timer before that, so a
    /// test that awaits this can advance the clock without racing the timer's creation.
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

    public Task<string?> FindAttemptContainerAsync(string jobId, int attempt, CancellationToken ct)
    {
        ThrowIfUnreachable();
        var found = _containers.FirstOrDefault(c =>
            c.Value.Spec.Labels.GetValueOrDefault(ContainerLabels.JobId) == jobId
            && c.Value.Spec.Labels.GetValueOrDefault(ContainerLabels.Attempt) == attempt.ToString(System.Globalization.CultureInfo.InvariantCulture));
        return Task.FromResult<string?>(found.Key);
    }

    public async Task<string> CreateAndStartAsync(ContainerSpec spec, CancellationToken ct)
    {
        ThrowIfUnreachable();
        var id = $"fake{Interlocked.Increment(ref _nextId):D60}";
        _containers[id] = new FakeContainer(spec);
        _created.Enqueue(spec);
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
        var lost = _lost.Task;
        await Task.WhenAny(container.Exited.Task, lost).WaitAsync(ct);
        if (!container.Exited.Task.IsCompleted)
        {
            await lost;
        }

        return new ContainerExit(await container.Exited.Task, false, null);
    }

    /// <summary>The engine goes away mid-run: calls fail, and a wait in progress breaks off, as a dropped socket does.</summary>
    public void Disconnect(string error)
    {
        UnreachableError = error;
        _lost.TrySetException(new ContainerRuntimeUnavailableException(Endpoint, error));
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
            ? new ContainerState(false, await c.Exited.Task, false, null, DateTimeOffset.UnixEpoch, DateTimeOffset.UnixEpoch)
            : new ContainerState(true, 0, false, null, DateTimeOffset.UnixEpoch, null);
    }

    /// <summary>
    /// The container's output so far, from <paramref name="since"/> as Docker filters it: in whole seconds, inclusive.
    /// It does not follow: lines written later are not seen.
    /// </summary>
    public async IAsyncEnumerable<LogLine> ReadLogsAsync(string containerId, DateTimeOffset? since, bool follow, [EnumeratorCancellation] CancellationToken ct)
    {
        ThrowIfUnreachable();
        await Task.CompletedTask;
        var from = since is { } s ? DateTimeOffset.FromUnixTimeSeconds(s.ToUnixTimeSeconds()) : DateTimeOffset.MinValue;
        foreach (var line in _containers.TryGetValue(containerId, out var c) ? c.Logs.ToArray() : [])
        {
            if (line.Timestamp >= from)
            {
                yield return line;
            }
        }
    }

    /// <summary>The container writes a line (Docker's timestamps have nanosecond precision; these have ticks).</summary>
    public void Write(string containerId, LogLine line) => _containers[containerId].Logs.Enqueue(line);

    public Task StopAsync(string containerId, TimeSpan grace, CancellationToken ct)
    {
        ThrowIfUnreachable();
        Exit(containerId, 137);
        return Task.CompletedTask;
    }

    public Task RemoveAsync(string containerId, CancellationToken ct)
    {
        ThrowIfUnreachable();
        _containers.TryRemove(containerId, out _);
        return Task.CompletedTask;
    }

    public void Exit(string containerId, long exitCode) => _containers[containerId].Exited.TrySetResult(exitCode);

    /// <summary>Whether the container exists and has not exited.</summary>
    public bool IsRunning(string containerId) => _containers.TryGetValue(containerId, out var c) && !c.Exited.Task.IsCompleted;

    /// <summary>Takes a container away behind the engine's back, as <c>docker rm -f</c> would.</summary>
    public void Vanish(string containerId) => _containers.TryRemove(containerId, out _);

    private void ThrowIfUnreachable()
    {
        if (UnreachableError is { } error)
        {
            throw new ContainerRuntimeUnavailableException(Endpoint, error);
        }
    }

    private sealed record FakeContainer(ContainerSpec Spec)
    {
        public ConcurrentQueue<LogLine> Logs { get; } = new();

        public TaskCompletionSource<long> Exited { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}

internal sealed class FakeContainerRuntimeFactory : IContainerRuntimeFactory
{
    private readonly ConcurrentDictionary<string, FakeContainerRuntime> _runtimes = new(StringComparer.Ordinal);

    public string DefaultEndpoint => "unix:///fake/docker.sock";

    /// <summary>The engine at the default endpoint.</summary>
    public FakeContainerRuntime Default => For(DefaultEndpoint);

    public IContainerRuntime ForEndpoint(string? endpoint) => For(string.IsNullOrWhiteSpace(endpoint) ? DefaultEndpoint : endpoint);

    public FakeContainerRuntime For(string endpoint) => _runtimes.GetOrAdd(endpoint, e => new FakeContainerRuntime(e));
}
