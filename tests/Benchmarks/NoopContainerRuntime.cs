using System.Collections.Concurrent;
using System.Globalization;
using System.Runtime.CompilerServices;
using BatchPortal.Engine.Execution;

namespace BatchPortal.Benchmarks;

/// <summary>
/// A Docker engine that starts nothing: "containers" get an id and run until <see cref="Exit"/>, so placed jobs hold their
/// capacity and the dispatcher's decisions are measured without any container cost. It lists what it "started" by label, as
/// Docker does, so the engine's reconciler finds every running job's container alive.
/// </summary>
internal sealed class NoopContainerRuntime : IContainerRuntime, IContainerRuntimeFactory
{
    private readonly ConcurrentDictionary<string, ManagedContainer> _containers = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, TaskCompletionSource<ContainerExit>> _exits = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, DateTimeOffset> _finishedAt = new(StringComparer.Ordinal);
    private int _next;

    public string Endpoint => "noop://benchmark";

    public string DefaultEndpoint => Endpoint;

    public IContainerRuntime ForEndpoint(string? endpoint) => this;

    public Task<HostInfo> GetHostInfoAsync(CancellationToken ct) => Task.FromResult(new HostInfo("noop", 8, 64L << 30, "none"));

    public Task EnsureImageAsync(string image, CancellationToken ct) => Task.CompletedTask;

    public Task<bool> HasImageAsync(string image, CancellationToken ct) => Task.FromResult(true);

    public Task<string?> FindAttemptContainerAsync(string jobId, int attempt, CancellationToken ct) =>
        Task.FromResult(_containers.Values.FirstOrDefault(c => c.JobId == jobId && c.Attempt == attempt)?.Id);

    public Task<IReadOnlyList<ManagedContainer>> ListManagedAsync(CancellationToken ct) =>
        Task.FromResult<IReadOnlyList<ManagedContainer>>([.. _containers.Values]);

    public Task<string> CreateAndStartAsync(ContainerSpec spec, CancellationToken ct)
    {
        var id = $"noop{Interlocked.Increment(ref _next):D60}";
        _containers[id] = new ManagedContainer(
            id,
            spec.Labels.GetValueOrDefault(ContainerLabels.JobId),
            int.TryParse(spec.Labels.GetValueOrDefault(ContainerLabels.Attempt), NumberStyles.Integer, CultureInfo.InvariantCulture, out var a) ? a : null,
            spec.Labels.GetValueOrDefault(ContainerLabels.Store),
            Running: true);
        return Task.FromResult(id);
    }

    /// <summary>Lets the job's container exit with code 0, as if its command had finished.</summary>
    public void Exit(string jobId)
    {
        var container = _containers.Values.Single(c => c.JobId == jobId);
        _finishedAt[container.Id] = TimeProvider.System.GetUtcNow();
        _containers[container.Id] = container with { Running = false };
        Finish(container.Id, new ContainerExit(0, false, null));
    }

    public Task<ContainerExit> WaitAsync(string containerId, CancellationToken ct) =>
        _exits.GetOrAdd(containerId, _ => new(TaskCreationOptions.RunContinuationsAsynchronously)).Task.WaitAsync(ct);

    public Task<ContainerState?> InspectAsync(string containerId, CancellationToken ct) =>
        Task.FromResult(_containers.TryGetValue(containerId, out var c)
            ? new ContainerState(c.Running, 0, false, null, null, _finishedAt.TryGetValue(containerId, out var at) ? at : null)
            : null);

    public async IAsyncEnumerable<LogRecord> ReadLogsAsync(string containerId, long? sinceNanos, bool follow, [EnumeratorCancellation] CancellationToken ct)
    {
        // No output; a follow ends when the container exits, as Docker's does.
        if (follow)
        {
            await WaitAsync(containerId, ct);
        }

        yield break;
    }

    public Task StopAsync(string containerId, TimeSpan grace, CancellationToken ct) => Task.CompletedTask;

    private void Finish(string containerId, ContainerExit exit) =>
        _exits.GetOrAdd(containerId, _ => new(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult(exit);

    public Task RemoveAsync(string containerId, CancellationToken ct)
    {
        _containers.TryRemove(containerId, out _);
        return Task.CompletedTask;
    }
}
