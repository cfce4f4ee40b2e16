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
    private readonly DockerClient _client;
    private readonly DockerOptions _options;

    public DockerContainerRuntime(string endpoint, DockerOptions options)
    {
        Endpoint = endpoint;
        _options = options;

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

        string id;
        try
        {
            id = (await Call(c => _client.Containers.CreateContainerAsync(parameters, c), ct)).ID;
        }
        catch (DockerApiException ex)
        {
            throw new ContainerStartException($"CannotCreateContainerError: {DockerMessage(ex)}", ex);
        }

        try
        {
            await Call(c => _client.Containers.StartContainerAsync(id, new ContainerStartParameters(), c), ct);
        }
        catch (DockerApiException ex)
        {
            // The attempt fails and a retry makes its own container: one that never started would stay in "Created"
            // for good, since only running jobs are looked after. (A privileged container on an engine without every
            // capability is such a case.)
            if (!_options.KeepContainers)
            {
                await RemoveQuietlyAsync(id);
            }

            throw new ContainerStartException($"CannotStartContainerError: {DockerMessage(ex)}", ex);
        }

        return id;
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

    public async IAsyncEnumerable<LogLine> ReadLogsAsync(string containerId, DateTimeOffset? since, bool follow, [EnumeratorCancellation] CancellationToken ct)
    {
        var parameters = new ContainerLogsParameters
        {
            ShowStdout = true,
            ShowStderr = true,
            Follow = follow,
            Timestamps = true,
            Since = since?.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture),
        };

        MultiplexedStream stream;
        try
        {
            stream = await _client.Containers.GetContainerLogsAsync(containerId, false, parameters, ct);
        }
        catch (Exception ex) when (IsUnreachable(ex))
        {
            throw Unavailable(ex);
        }

        using (stream)
        {
            var stdout = new LineSplitter("stdout");
            var stderr = new LineSplitter("stderr");
            var buffer = new byte[81920];
            while (true)
            {
                var read = await stream.ReadOutputAsync(buffer, 0, buffer.Length, ct);
                if (read.EOF)
                {
                    break;
                }

                var splitter = read.Target == MultiplexedStream.TargetStream.StandardError ? stderr : stdout;
                foreach (var line in splitter.Feed(buffer.AsSpan(0, read.Count)))
                {
                    yield return line;
                }
            }

            foreach (var line in stdout.Flush().Concat(stderr.Flush()))
            {
                yield return line;
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
            throw new ContainerRuntimeUnavailableException(Endpoint, $"no answer within {(timeout ?? _options.RequestTimeout).TotalSeconds:0.#} s", ex);
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
        var message = uri.Scheme == "unix" && !File.Exists(uri.LocalPath)
            ? $"the socket {uri.LocalPath} does not exist (is the Docker engine running?)"
            : Innermost(ex).Message;
        return new(Endpoint, message, ex);
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

    private static DateTimeOffset? ParseTime(string? value) =>
        DateTimeOffset.TryParse(value, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var t) && t.Year > 1 ? t : null;

    /// <summary>Cuts one stream's bytes into lines, each prefixed by the timestamp Docker adds.</summary>
    private sealed class LineSplitter(string stream)
    {
        private readonly Decoder _decoder = Encoding.UTF8.GetDecoder();
        private readonly StringBuilder _pending = new();
        private char[] _chars = new char[4096];

        public List<LogLine> Feed(ReadOnlySpan<byte> bytes)
        {
            var needed = _decoder.GetCharCount(bytes, flush: false);
            if (needed > _chars.Length)
            {
                _chars = new char[needed];
            }

            var count = _decoder.GetChars(bytes, _chars, flush: false);
            var lines = new List<LogLine>();
            var start = 0;
            for (var i = 0; i < count; i++)
            {
                if (_chars[i] == '\n')
                {
                    _pending.Append(_chars, start, i - start);
                    lines.Add(Parse(_pending.ToString()));
                    _pending.Clear();
                    start = i + 1;
                }
            }

            _pending.Append(_chars, start, count - start);
            return lines;
        }

        public IEnumerable<LogLine> Flush()
        {
            if (_pending.Length > 0)
            {
                var line = Parse(_pending.ToString());
                _pending.Clear();
                yield return line;
            }
        }

        private LogLine Parse(string raw)
        {
            var space = raw.IndexOf(' ', StringComparison.Ordinal);
            if (space > 0 && DateTimeOffset.TryParse(raw.AsSpan(0, space), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var ts))
            {
                return new LogLine(stream, ts, raw[(space + 1)..].TrimEnd('\r'));
            }

            return new LogLine(stream, DateTimeOffset.UnixEpoch, raw.TrimEnd('\r'));
        }
    }
}

/// <summary>One <see cref="DockerContainerRuntime"/> per endpoint, made on first use.</summary>
internal sealed class DockerContainerRuntimeFactory(IOptions<DockerOptions> options) : IContainerRuntimeFactory, IDisposable
{
    private readonly ConcurrentDictionary<string, Lazy<DockerContainerRuntime>> _runtimes = new(StringComparer.Ordinal);

    public string DefaultEndpoint => options.Value.Endpoint;

    public IContainerRuntime ForEndpoint(string? endpoint)
    {
        var key = string.IsNullOrWhiteSpace(endpoint) ? DefaultEndpoint : endpoint;
        return _runtimes.GetOrAdd(key, k => new Lazy<DockerContainerRuntime>(() => new DockerContainerRuntime(k, options.Value))).Value;
    }

    public void Dispose()
    {
        foreach (var runtime in _runtimes.Values.Where(r => r.IsValueCreated))
        {
            runtime.Value.Dispose();
        }
    }
}
