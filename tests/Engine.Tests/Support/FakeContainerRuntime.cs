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
    private int _nextId;

    public string Endpoint { get; } = endpoint;

    public HostInfo Host { get; set; } = new("fake-24.0", 8, 16L * 1024 * 1024 * 1024, "FakeOS");

    /// <summary>When set, every call throws <see cref="ContainerRuntimeUnavailableException"/> with this error.</summary>
    public string? UnreachableError { get; set; }

    public IReadOnlyCollection<ContainerSpec> Started => [.. _containers.Values.Select(c => c.Spec)];

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

    public Task<string> CreateAndStartAsync(ContainerSpec spec, CancellationToken ct)
    {
        ThrowIfUnreachable();
        var id = $"fake{Interlocked.Increment(ref _nextId):D60}";
        _containers[id] = new FakeContainer(spec);
        return Task.FromResult(id);
    }

    public async Task<ContainerExit> WaitAsync(string containerId, CancellationToken ct)
    {
        ThrowIfUnreachable();
        var exitCode = await _containers[containerId].Exited.Task.WaitAsync(ct);
        return new ContainerExit(exitCode, false, null);
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

    public async IAsyncEnumerable<LogLine> ReadLogsAsync(string containerId, DateTimeOffset? since, bool follow, [EnumeratorCancellation] CancellationToken ct)
    {
        ThrowIfUnreachable();
        await Task.CompletedTask;
        yield break;
    }

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

    private void ThrowIfUnreachable()
    {
        if (UnreachableError is { } error)
        {
            throw new ContainerRuntimeUnavailableException(Endpoint, error);
        }
    }

    private sealed record FakeContainer(ContainerSpec Spec)
    {
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
