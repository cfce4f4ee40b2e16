using BatchPortal.Engine.Execution;

namespace BatchPortal.Portal.Tests;

/// <summary>Keeps Docker out of component tests: every endpoint answers as a small healthy host and runs nothing.</summary>
public sealed class FakeContainerRuntimeFactory : IContainerRuntimeFactory
{
    public string DefaultEndpoint => "unix:///var/run/docker.sock";

    /// <summary>The images every fake host has.</summary>
    public HashSet<string> Images { get; } = new(StringComparer.Ordinal);

    public IContainerRuntime ForEndpoint(string? endpoint) =>
        new FakeContainerRuntime(string.IsNullOrWhiteSpace(endpoint) ? DefaultEndpoint : endpoint, Images);
}

public sealed class FakeContainerRuntime(string endpoint, HashSet<string> images) : IContainerRuntime
{
    public static readonly HostInfo Host = new("27.0.0-fake", 4, 8L * 1024 * 1024 * 1024, "linux");

    public string Endpoint { get; } = endpoint;

    public Task<HostInfo> GetHostInfoAsync(CancellationToken ct) => Task.FromResult(Host);

    public Task EnsureImageAsync(string image, CancellationToken ct) => throw new NotImplementedException();

    public Task<bool> HasImageAsync(string image, CancellationToken ct) => Task.FromResult(images.Contains(image));

    public Task<string?> FindAttemptContainerAsync(string jobId, int attempt, CancellationToken ct) => throw new NotImplementedException();

    public Task<string> CreateAndStartAsync(ContainerSpec spec, CancellationToken ct) => throw new NotImplementedException();

    public Task<ContainerExit> WaitAsync(string containerId, CancellationToken ct) => throw new NotImplementedException();

    public Task<ContainerState?> InspectAsync(string containerId, CancellationToken ct) => throw new NotImplementedException();

    public Task<IReadOnlyList<ManagedContainer>> ListManagedAsync(CancellationToken ct) => Task.FromResult<IReadOnlyList<ManagedContainer>>([]);

    public IAsyncEnumerable<LogRecord> ReadLogsAsync(string containerId, long? sinceNanos, bool follow, CancellationToken ct) =>
        throw new NotImplementedException();

    public Task StopAsync(string containerId, TimeSpan grace, CancellationToken ct) => throw new NotImplementedException();

    public Task RemoveAsync(string containerId, CancellationToken ct) => throw new NotImplementedException();
}
