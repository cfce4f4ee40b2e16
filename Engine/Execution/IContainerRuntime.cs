namespace BatchPortal.Engine.Execution;

/// <summary>
/// The one seam over a Docker engine, named by intention. Only <see cref="DockerContainerRuntime"/> talks Docker.DotNet;
/// unit tests use a fake.
/// </summary>
public interface IContainerRuntime
{
    /// <summary>The engine's endpoint, e.g. <c>unix:///var/run/docker.sock</c>.</summary>
    string Endpoint { get; }

    /// <summary>Asks the engine who it is. Throws <see cref="ContainerRuntimeUnavailableException"/> when it does not answer.</summary>
    Task<HostInfo> GetHostInfoAsync(CancellationToken ct);

    /// <summary>Makes the image present locally, pulling it when missing. Throws <see cref="ImagePullException"/>.</summary>
    Task EnsureImageAsync(string image, CancellationToken ct);

    /// <summary>Whether the image is present locally, so that a container of it starts without a pull.</summary>
    Task<bool> HasImageAsync(string image, CancellationToken ct);

    /// <summary>The container already made for this attempt, if any: launches are safe to run twice.</summary>
    Task<string?> FindAttemptContainerAsync(string jobId, int attempt, CancellationToken ct);

    /// <summary>Every container the engine made on this Docker engine (labelled <see cref="ContainerLabels.Managed"/>), running or not.</summary>
    Task<IReadOnlyList<ManagedContainer>> ListManagedAsync(CancellationToken ct);

    /// <summary>
    /// Creates the container and starts it. Safe to call again for the same spec: the name is unique per attempt, so a
    /// second call (after a cut connection, or from another launcher) finds the container the first one made and starts
    /// it if it has not started, instead of making another.
    /// </summary>
    Task<string> CreateAndStartAsync(ContainerSpec spec, CancellationToken ct);

    /// <summary>Waits until the container has exited and returns how it ended.</summary>
    Task<ContainerExit> WaitAsync(string containerId, CancellationToken ct);

    /// <summary>How the container stands now, or null when it no longer exists.</summary>
    Task<ContainerState?> InspectAsync(string containerId, CancellationToken ct);

    /// <summary>
    /// The container's output as Docker keeps it: one record per message, each with Docker's own timestamp (Unix
    /// nanoseconds), from <paramref name="sinceNanos"/> (inclusive) on; with <paramref name="follow"/>, until the stream
    /// ends. A line longer than Docker's buffer (16 KiB) comes as several records, all but the last marked partial.
    /// </summary>
    IAsyncEnumerable<LogRecord> ReadLogsAsync(string containerId, long? sinceNanos, bool follow, CancellationToken ct);

    /// <summary>SIGTERM, then SIGKILL after <paramref name="grace"/>.</summary>
    Task StopAsync(string containerId, TimeSpan grace, CancellationToken ct);

    Task RemoveAsync(string containerId, CancellationToken ct);
}

/// <summary>Hands out the runtime for a Docker endpoint; one client per endpoint.</summary>
public interface IContainerRuntimeFactory
{
    string DefaultEndpoint { get; }

    IContainerRuntime ForEndpoint(string? endpoint);
}

public sealed record HostInfo(string? ServerVersion, int Cpus, long MemoryBytes, string? OperatingSystem);

public sealed record ContainerSpec(
    string Name,
    string Image,
    IReadOnlyList<string> Command,
    IReadOnlyDictionary<string, string> Environment,
    IReadOnlyDictionary<string, string> Labels,
    double Vcpus,
    int MemoryMiB,
    int HostCpus)
{
    public string? User { get; init; }

    public bool Privileged { get; init; }

    public bool ReadonlyRootFilesystem { get; init; }

    /// <summary>Docker bind specs, <c>host:container[:ro]</c>.</summary>
    public IReadOnlyList<string> Binds { get; init; } = [];

    public IReadOnlyList<(string Name, long Soft, long Hard)> Ulimits { get; init; } = [];

    public string? NetworkMode { get; init; }
}

public sealed record ContainerExit(long ExitCode, bool OomKilled, string? Error);

public sealed record ContainerState(bool Running, long ExitCode, bool OomKilled, string? Error, DateTimeOffset? StartedAt, DateTimeOffset? FinishedAt);

/// <summary>A container the engine made, found by its labels.</summary>
public sealed record ManagedContainer(string Id, string? JobId, int? Attempt, string? Store, bool Running);

/// <summary>
/// One message of a container's output as Docker returns it: the stream, Docker's timestamp in Unix nanoseconds, and the
/// bytes without the line's end. <see cref="Partial"/>: the line goes on in the next record of the same stream.
/// </summary>
public sealed record LogRecord(string Stream, long TimestampNanos, ReadOnlyMemory<byte> Content, bool Partial);

/// <summary>The Docker engine did not answer (socket missing, connection refused, timeout, connection cut).</summary>
public sealed class ContainerRuntimeUnavailableException(string endpoint, string message, Exception? inner = null, bool mayHaveReachedEngine = true)
    : Exception($"Docker engine unreachable at {endpoint}: {message}", inner)
{
    public string Endpoint { get; } = endpoint;

    /// <summary>The error without the endpoint, for a status reason or the banner.</summary>
    public string Error { get; } = message;

    /// <summary>
    /// False only when the request cannot have reached the engine (no socket, connection refused); after a timeout or a
    /// cut connection the engine may have done what was asked, and a caller must look before it acts as if it had not.
    /// </summary>
    public bool MayHaveReachedEngine { get; } = mayHaveReachedEngine;
}

/// <summary>The image is not present and could not be pulled.</summary>
public sealed class ImagePullException(string image, string message, Exception? inner = null) : Exception(message, inner)
{
    public string Image { get; } = image;
}

/// <summary>The engine refused to create or start the container (bad mount, bad user, ...).</summary>
public sealed class ContainerStartException(string message, Exception? inner = null) : Exception(message, inner);
