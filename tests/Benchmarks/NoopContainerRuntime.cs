using System.Runtime.CompilerServices;
using BatchPortal.Engine.Execution;

namespace BatchPortal.Benchmarks;

/// <summary>
/// A Docker engine that starts nothing: "containers" get an id and never exit, so placed jobs hold their capacity for
/// good and the dispatcher's decisions are measured without any container cost.
/// </summary>
internal sealed class NoopContainerRuntime : IContainerRuntime, IContainerRuntimeFactory
{
    private int _next;

    public string Endpoint => "noop://benchmark";

    public string DefaultEndpoint => Endpoint;

    public IContainerRuntime ForEndpoint(string? endpoint) => this;

    public Task<HostInfo> GetHostInfoAsync(CancellationToken ct) => Task.FromResult(new HostInfo("noop", 8, 64L << 30, "none"));

    public Task EnsureImageAsync(string image, CancellationToken ct) => Task.CompletedTask;

    public Task<string?> FindAttemptContainerAsync(string jobId, int attempt, CancellationToken ct) => Task.FromResult<string?>(null);

    public Task<string> CreateAndStartAsync(ContainerSpec spec, CancellationToken ct) =>
        Task.FromResult($"noop{Interlocked.Increment(ref _next):D60}");

    public async Task<ContainerExit> WaitAsync(string containerId, CancellationToken ct)
    {
        await Task.Delay(Timeout.Infinite, ct);
        return new ContainerExit(0, false, null);
    }

    public Task<ContainerState?> InspectAsync(string containerId, CancellationToken ct) =>
        Task.FromResult<ContainerState?>(new ContainerState(true, 0, false, null, null, null));

    public Task<IReadOnlyList<ManagedContainer>> ListManagedAsync(CancellationToken ct) => Task.FromResult<IReadOnlyList<ManagedContainer>>([]);

    public async IAsyncEnumerable<LogRecord> ReadLogsAsync(string containerId, long? sinceNanos, bool follow, [EnumeratorCancellation] CancellationToken ct)
    {
        // A container that never exits: following its output waits for good.
        if (follow)
        {
            await Task.Delay(Timeout.Infinite, ct);
        }

        yield break;
    }

    public Task StopAsync(string containerId, TimeSpan grace, CancellationToken ct) => Task.CompletedTask;

    public Task RemoveAsync(string containerId, CancellationToken ct) => Task.CompletedTask;
}
