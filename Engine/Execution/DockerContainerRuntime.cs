using System.Collections.Concurrent;
using System.Globalization;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using System.Text;
using Docker.DotNet;
using Docker.DotNet.Models;
using Microsoft.Extensions.Options;

namespace BatchPortal.Engine.Execution;

/// <summary>The Docker.DotNet side of <see cref="IContainerRuntime"/>, for one engine endpoint.</summary>
internal sealed class DockerContainerRuntime : IContainerRuntime, IDisposable
{
    /// <summary>
    /// How long a create waits for a container that holds the attempt's name but cannot be looked at yet: Docker reserves
    /// the name before it has made the container's file system (seconds on the vfs driver), and a create that reached
    /// it late, after the engine had given up on it, is such a container.
    /// </summary>
    internal static readonly TimeSpan NameHeldFor = TimeSpan.FromSeconds(30);

    private readonly DockerClient _client;
    private readonly DockerOptions _options;
    private readonly TimeProvider _time;

    public DockerContainerRuntime(string endpoint, DockerOptions options, TimeProvider time)
    {
        Endpoint = endpoint;
        _options = options;
        _time = time;

        // Docker.DotNet ignores DOCKER_HOST: the endpoint is always passed explicitly. No API version is pinned, so the
        // engine's own default applies (docker.io 20.10 speaks 1.41; asking for newer fails).
        _client = new DockerClientConfiguration(new Uri(endpoint), defaultTimeout: Timeout.InfiniteTimeSpan).CreateClient();
    }

    public string Endpoint { get; }

    public async Task<HostInfo> GetHostInfoAsync(CancellationToken ct)
    {
        var info = await Call(c => _client.System.GetSystemInfoAsync(c), ct);
        return new HostInfo(info.ServerVersion, (int)info.NCPU, info.MemTotal, info.OperatingSystem);
    }

    public async Task EnsureImageAsync(string image, CancellationToken ct)
    {
        if (await ImageExistsAsync(image, ct))
        {
            return;
        }

        if (!_options.PullMissingImages)
        {
            throw new ImagePullException(image, $"image {image} is not present on {Endpoint} and pulling is turned off (Engine:Docker:PullMissingImages).");
        }

        var (fromImage, tag) = SplitImage(image);
        var errors = new ConcurrentQueue<string>();
        var progress = new Progress<JSONMessage>(m =>
        {
            if (!string.IsNullOrEmpty(m.ErrorMessage))
            {
                errors.Enqueue(m.ErrorMessage);
            }
        });

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(_options.PullTimeout);
        try
        {
            await _client.Images.CreateImageAsync(new ImagesCreateParameters { FromImage = fromImage, Tag = tag }, null, progress, timeout.Token);
        }
        catch (DockerApiException ex)
        {
            throw new ImagePullException(image, $"Error response from daemon: {DockerMessage(ex)}", ex);
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            throw new ImagePullException(image, $"pulling {image} took longer than {_options.PullTimeout.TotalSeconds:0} s (Engine:Docker:PullTimeout).");
        }
        catch (Exception ex) when (IsUnreachable(ex))
        {
            throw Unavailable(ex);
        }

        if (!await ImageExistsAsync(image, ct))
        {
            var message = errors.TryDequeue(out var first) ? first : $"image {image} was not found after the pull";
            throw new ImagePullException(image, $"Error response from daemon: {message}");
        }
    }

    public async Task<string?> FindAttemptContainerAsync(string jobId, int attempt, CancellationToken ct)
    {
        var list = await Call(
            c => _client.Containers.ListContainersAsync(
                new ContainersListParameters
                {
                    All = true,
                    Filters = new Dictionary<string, IDictionary<string, bool>>
                    {
                        ["label"] = new Dictionary<string, bool>
                        {
                            [$"{ContainerLabels.JobId}={jobId}"] = true,
                            [$"{ContainerLabels.Attempt}={attempt.ToString(CultureInfo.InvariantCulture)}"] = true,
                        },
                    },
                },
                c),
            ct);
        return list.FirstOrDefault()?.ID;
    }

    public async Task<IReadOnlyList<ManagedContainer>> ListManagedAsync(CancellationToken ct)
    {
        var list = await Call(
            c => _client.Containers.ListContainersAsync(
                new ContainersListParameters
                {
                    All = true,
                    Filters = new Dictionary<string, IDictionary<string, bool>>
                    {
                        ["label"] = new Dictionary<string, bool> { [$"{ContainerLabels.Managed}=true"] = true },
                    },
                },
                c),
            ct);
        return [.. list.Select(c => new ManagedContainer(
            c.ID,
            Label(c.Labels, ContainerLabels.JobId),
            int.TryParse(Label(c.Labels, ContainerLabels.Attempt), NumberStyles.Integer, CultureInfo.InvariantCulture, out var a) ? a : null,
            Label(c.Labels, ContainerLabels.Store),
            string.Equals(c.State, "running", StringComparison.OrdinalIgnoreCase) || string.Equals(c.State, "restarting", StringComparison.OrdinalIgnoreCase)))];
    }

    public async Task<string> CreateAndStartAsync(ContainerSpec spec, CancellationToken ct)
    {
        var hostConfig = new HostConfig
        {
            Memory = spec.MemoryMiB > 0 ? spec.MemoryMiB * 1024L * 1024L : 0,
            CPUShares = (long)Math.Max(2, Math.Round(spec.Vcpus * 1024)),

            // A hard CPU limit above the host's CPU count is refused by Docker; the shares above still weigh the job.
            NanoCPUs = spec.HostCpus > 0 ? (long)(Math.Min(spec.Vcpus, spec.HostCpus) * 1_000_000_000) : 0,
            Privileged = spec.Privileged,
            ReadonlyRootfs = spec.ReadonlyRootFilesystem,
            Binds = spec.Binds.Count > 0 ? [.. spec.Binds] : null,
            Ulimits = spec.Ulimits.Count > 0 ? [.. spec.Ulimits.Select(u => new Docker.DotNet.Models.Ulimit { Name = u.Name, Soft = u.Soft, Hard = u.Hard })] : null,
            NetworkMode = string.IsNullOrEmpty(spec.NetworkMode) ? null : spec.NetworkMode,

            // Hardening the host's settings apply to every job (Engine:Docker:NoNewPrivileges, PidsLimit).
            SecurityOpt = _options.NoNewPrivileges ? ["no-new-privileges"] : null,
            PidsLimit = _options.PidsLimit > 0 ? _options.PidsLimit : null,
        };

        var parameters = new CreateContainerParameters
        {
            Name = spec.Name,
            Image = spec.Image,
            Cmd = spec.Command.Count > 0 ? [.. spec.Command] : null,
            Env = [.. spec.Environment.Select(e => $"{e.Key}={e.Value}")],
            Labels = new Dictionary<string, string>(spec.Labels),
            User = spec.User,
            HostConfig = hostConfig,
        };

        var (id, started) = await CreateOrAdoptAsync(parameters, spec, ct);
        if (started)
        {
            // Started before: by a start whose answer was lost (this call tried again), or by another launcher. Starting
            // it again would run an exited container a second time, into the same log.
            return id;
        }

        try
        {
            // false means "already started" (304): a second launch of the same attempt, which is fine.
            await Call(c => _client.Containers.StartContainerAsync(id, new ContainerStartParameters(), c), ct);
        }
        catch (ContainerRuntimeUnavailableException ex) when (!ex.MayHaveReachedEngine)
        {
            // The container exists now, whatever became of the start: the operation as a whole reached the engine.
            throw new ContainerRuntimeUnavailableException(Endpoint, ex.Error, ex, mayHaveReachedEngine: true);
        }
        catch (DockerApiException ex)
        {
            // The attempt fails and a retry makes its own container: one that never started would stay in "Created"
            // for good. (A privileged container on an engine without every capability is such a case.)
            if (!_options.KeepContainers)
            {
                await RemoveQuietlyAsync(id);
            }

            throw new ContainerStartException($"CannotStartContainerError: {DockerMessage(ex)}", ex);
        }

        return id;
    }

    /// <summary>
    /// Creates the attempt's container, or finds the one that holds its name already: a create that was cut after the
    /// engine made it, or another launcher of the same attempt, made it first. Carrying on with that container, rather
    /// than making a second, is what makes a launch safe to try again.
    /// </summary>
    private async Task<(string Id, bool Started)> CreateOrAdoptAsync(CreateContainerParameters parameters, ContainerSpec spec, CancellationToken ct)
    {
        var since = _time.GetTimestamp();
        var pause = TimeSpan.FromMilliseconds(100);
        while (true)
        {
            try
            {
                return ((await Call(c => _client.Containers.CreateContainerAsync(parameters, c), ct)).ID, false);
            }
            catch (DockerApiException ex) when (ex.StatusCode == System.Net.HttpStatusCode.Conflict)
            {
                if (await AdoptAsync(spec, ex, ct) is { } adopted)
                {
                    return adopted;
                }

                // The name is taken by a container Docker is still making (or removing): wait for it to appear, or
                // for the name to be free again, rather than fail the attempt over Docker's moment.
                if (_time.GetElapsedTime(since) >= NameHeldFor)
                {
                    throw new ContainerStartException($"CannotCreateContainerError: {DockerMessage(ex)} (no such container appeared within {NameHeldFor.TotalSeconds:0} s)", ex);
                }

                await Task.Delay(pause, _time, ct);
                pause = TimeSpan.FromTicks(Math.Min(pause.Ticks * 2, TimeSpan.FromSeconds(2).Ticks));
            }
            catch (DockerApiException ex)
            {
                throw new ContainerStartException($"CannotCreateContainerError: {DockerMessage(ex)}", ex);
            }
        }
    }

    /// <summary>
    /// The container that holds the attempt's name, when its labels say it is this attempt's, and whether it was ever
    /// started (anything but Docker's "created"); null when Docker knows the name but not yet (or no longer) a container
    /// by it.
    /// </summary>
    private async Task<(string Id, bool Started)?> AdoptAsync(ContainerSpec spec, DockerApiException conflict, CancellationToken ct)
    {
        ContainerInspectResponse existing;
        try
        {
            existing = await Call(c => _client.Containers.InspectContainerAsync(spec.Name, c), ct);
        }
        catch (DockerContainerNotFoundException)
        {
            return null;
        }

        var labels = existing.Config?.Labels;
        if (Label(labels, ContainerLabels.JobId) != spec.Labels.GetValueOrDefault(ContainerLabels.JobId)
            || Label(labels, ContainerLabels.Attempt) != spec.Labels.GetValueOrDefault(ContainerLabels.Attempt))
        {
            throw new ContainerStartException($"CannotCreateContainerError: the name {spec.Name} is taken by a container that is not this attempt's ({DockerMessage(conflict)})", conflict);
        }

        return (existing.ID, !string.Equals(existing.State?.Status, "created", StringComparison.OrdinalIgnoreCase));
    }

    public async Task<ContainerExit> WaitAsync(string containerId, CancellationToken ct)
    {
        // Start first, then wait: a wait on a container that never started returns 0 at once.
        try
        {
            await _client.Containers.WaitContainerAsync(containerId, ct);
        }
        catch (Exception ex) when (IsUnreachable(ex))
        {
            throw Unavailable(ex);
        }

        var state = await InspectAsync(containerId, ct)
            ?? throw new ContainerStartException($"container {containerId} disappeared while it ran");
        return new ContainerExit(state.ExitCode, state.OomKilled, state.Error);
    }

    public async Task<ContainerState?> InspectAsync(string containerId, CancellationToken ct)
    {
        try
        {
            var r = await Call(c => _client.Containers.InspectContainerAsync(containerId, c), ct);
            return new ContainerState(
                r.State.Running,
                r.State.ExitCode,
                r.State.OOMKilled,
                string.IsNullOrEmpty(r.State.Error) ? null : r.State.Error,
                ParseTime(r.State.StartedAt),
                ParseTime(r.State.FinishedAt));
        }
        catch (DockerContainerNotFoundException)
        {
            return null;
        }
    }

    public async IAsyncEnumerable<LogRecord> ReadLogsAsync(string containerId, long? sinceNanos, bool follow, [EnumeratorCancellation] CancellationToken ct)
    {
        var parameters = new ContainerLogsParameters
        {
            ShowStdout = true,
            ShowStderr = true,
            Follow = follow,
            Timestamps = true,

            // Docker takes "seconds.nanoseconds" and returns every message at or after it.
            Since = sinceNanos is { } n ? $"{n / 1_000_000_000}.{n % 1_000_000_000:D9}" : null,
        };

        Stream stream;
        try
        {
            // The overload that hands over Docker's own multiplexed stream: each frame there is one message, with its
            // length. MultiplexedStream hides where frames end, and a line longer than 16 KiB arrives as several
            // messages whose ends must be known to put the line together again (each carries a timestamp of its own).
#pragma warning disable CS0618 // Obsolete only because it does not demultiplex; that is done below, frame by frame.
            stream = await _client.Containers.GetContainerLogsAsync(containerId, parameters, ct);
#pragma warning restore CS0618
        }
        catch (Exception ex) when (IsUnreachable(ex))
        {
            throw Unavailable(ex);
        }

        await using (stream)
        {
            var frames = new DockerLogFrames(stream);
            while (true)
            {
                LogRecord? record;
                try
                {
                    record = await frames.ReadAsync(ct);
                }
                catch (Exception ex) when (IsUnreachable(ex))
                {
                    throw Unavailable(ex);
                }

                if (record is null)
                {
                    break;
                }

                yield return record;
            }
        }
    }

    public async Task StopAsync(string containerId, TimeSpan grace, CancellationToken ct)
    {
        try
        {
            await Call(
                c => _client.Containers.StopContainerAsync(containerId, new ContainerStopParameters { WaitBeforeKillSeconds = (uint)grace.TotalSeconds }, c),
                ct,
                grace + _options.RequestTimeout);
        }
        catch (DockerContainerNotFoundException)
        {
        }
    }

    public async Task RemoveAsync(string containerId, CancellationToken ct)
    {
        try
        {
            await Call(c => _client.Containers.RemoveContainerAsync(containerId, new ContainerRemoveParameters { Force = true }, c), ct);
        }
        catch (DockerContainerNotFoundException)
        {
        }
    }

    public void Dispose() => _client.Dispose();

    private async Task RemoveQuietlyAsync(string containerId)
    {
        try
        {
            await RemoveAsync(containerId, CancellationToken.None);
        }
        catch (Exception ex) when (ex is DockerApiException or ContainerRuntimeUnavailableException)
        {
            // Best effort: the start failure is what the caller needs to hear about.
        }
    }

    internal static (string Image, string Tag) SplitImage(string image)
    {
        // A tag is the part after the last ':' that comes after the last '/', so registry ports are not tags.
        if (image.Contains('@', StringComparison.Ordinal))
        {
            return (image, string.Empty);
        }

        var slash = image.LastIndexOf('/');
        var colon = image.LastIndexOf(':');
        return colon > slash ? (image[..colon], image[(colon + 1)..]) : (image, "latest");
    }

    public Task<bool> HasImageAsync(string image, CancellationToken ct) => ImageExistsAsync(image, ct);

    private async Task<bool> ImageExistsAsync(string image, CancellationToken ct)
    {
        try
        {
            await Call(c => _client.Images.InspectImageAsync(image, c), ct);
            return true;
        }
        catch (DockerImageNotFoundException)
        {
            return false;
        }
        catch (DockerApiException ex) when (ex.StatusCode == System.Net.HttpStatusCode.NotFound)
        {
            return false;
        }
    }

    /// <summary>Bounds a short call by the request timeout and turns "no engine there" into one exception type.</summary>
    private async Task<T> Call<T>(Func<CancellationToken, Task<T>> call, CancellationToken ct, TimeSpan? timeout = null)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        cts.CancelAfter(timeout ?? _options.RequestTimeout);
        try
        {
            return await call(cts.Token);
        }
        catch (OperationCanceledException ex) when (!ct.IsCancellationRequested)
        {
            throw new ContainerRuntimeUnavailableException(Endpoint, $"no answer within {(timeout ?? _options.RequestTimeout).TotalSeconds:0.#} s", ex, mayHaveReachedEngine: true);
        }
        catch (Exception ex) when (IsUnreachable(ex))
        {
            throw Unavailable(ex);
        }
    }

    private async Task Call(Func<CancellationToken, Task> call, CancellationToken ct, TimeSpan? timeout = null) =>
        await Call<bool>(async c => { await call(c); return true; }, ct, timeout);

    private ContainerRuntimeUnavailableException Unavailable(Exception ex)
    {
        // A missing unix socket surfaces as an odd socket error ("Cannot assign requested address"); say what is wrong.
        var uri = new Uri(Endpoint);
        var socketMissing = uri.Scheme == "unix" && !File.Exists(uri.LocalPath);
        var message = socketMissing ? $"the socket {uri.LocalPath} does not exist (is the Docker engine running?)" : Innermost(ex).Message;
        return new(Endpoint, message, ex, mayHaveReachedEngine: !socketMissing && MayHaveReached(ex));
    }

    /// <summary>
    /// Whether a failed call may have been carried out: only a connection that was never made (no socket, refused, no
    /// route) proves it was not. A timeout, a reset or an early end of the answer leave it open.
    /// </summary>
    private static bool MayHaveReached(Exception ex)
    {
        for (var e = ex; e is not null; e = e.InnerException)
        {
            if (e is SocketException { SocketErrorCode: SocketError.ConnectionRefused or SocketError.AddressNotAvailable or SocketError.HostNotFound
                or SocketError.HostUnreachable or SocketError.NetworkUnreachable or SocketError.TryAgain })
            {
                return false;
            }
        }

        return true;
    }

    private static bool IsUnreachable(Exception ex) =>
        ex is not DockerApiException and not ContainerRuntimeUnavailableException and not OperationCanceledException
        && (ex is HttpRequestException or SocketException or IOException or TimeoutException
            || ex.InnerException is HttpRequestException or SocketException or IOException);

    private static Exception Innermost(Exception ex)
    {
        while (ex.InnerException is not null)
        {
            ex = ex.InnerException;
        }

        return ex;
    }

    private static string DockerMessage(DockerApiException ex)
    {
        // The engine answers {"message":"..."}; show the message, not the JSON.
        var body = ex.ResponseBody?.Trim() ?? string.Empty;
        try
        {
            using var doc = System.Text.Json.JsonDocument.Parse(body);
            if (doc.RootElement.TryGetProperty("message", out var m) && m.GetString() is { } s)
            {
                return s;
            }
        }
        catch (System.Text.Json.JsonException)
        {
        }

        return body.Length > 0 ? body : ex.Message;
    }

    private static string? Label(IDictionary<string, string>? labels, string key) =>
        labels is not null && labels.TryGetValue(key, out var value) ? value : null;

    private static DateTimeOffset? ParseTime(string? value) =>
        DateTimeOffset.TryParse(value, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var t) && t.Year > 1 ? t : null;
}

/// <summary>One <see cref="DockerContainerRuntime"/> per endpoint, made on first use, with the engine's retries around it.</summary>
internal sealed class DockerContainerRuntimeFactory(IOptions<DockerOptions> options, TimeProvider time) : IContainerRuntimeFactory, IDisposable
{
    private readonly ConcurrentDictionary<string, Lazy<(DockerContainerRuntime Raw, IContainerRuntime Resilient)>> _runtimes = new(StringComparer.Ordinal);

    public string DefaultEndpoint => options.Value.Endpoint;

    public IContainerRuntime ForEndpoint(string? endpoint)
    {
        var key = string.IsNullOrWhiteSpace(endpoint) ? DefaultEndpoint : endpoint;
        return _runtimes.GetOrAdd(key, k => new(() =>
        {
            var raw = new DockerContainerRuntime(k, options.Value, time);
            return (raw, new ResilientContainerRuntime(raw, options.Value.Retries, time));
        })).Value.Resilient;
    }

    public void Dispose()
    {
        foreach (var runtime in _runtimes.Values.Where(r => r.IsValueCreated))
        {
            runtime.Value.Raw.Dispose();
        }
    }
}
