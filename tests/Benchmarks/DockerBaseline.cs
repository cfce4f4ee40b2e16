using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using BatchPortal.Engine.Execution;
using Docker.DotNet;
using Docker.DotNet.Models;

namespace BatchPortal.Benchmarks;

/// <summary>What Docker itself takes for the same work, measured in the same run: Docker.DotNet calls and the docker CLI.</summary>
internal sealed class DockerBaseline : IDisposable
{
    private const string BaselineLabel = "batchportal.benchmark-baseline";

    private readonly DockerClient _client;

    private DockerBaseline(DockerClient client) => _client = client;

    public DockerClient Client => _client;

    public static async Task<DockerBaseline> ConnectAsync()
    {
        var client = new DockerClientConfiguration(new Uri(BenchHost.DockerEndpoint)).CreateClient();
        try
        {
            await client.System.PingAsync();
            await client.Images.InspectImageAsync(BenchHost.Image);
            return new DockerBaseline(client);
        }
        catch (Exception ex)
        {
            client.Dispose();
            throw new InvalidOperationException(
                $"The benchmarks need the Docker engine at {BenchHost.DockerEndpoint} with the image {BenchHost.Image} "
                + $"(`BATCHPORTAL_SETUP_ONLY=1 bash tests/run.sh` provisions both): {ex.GetBaseException().Message}",
                ex);
        }
    }

    /// <summary>
    /// <c>true</c> in busybox through Docker.DotNet with the container settings the engine uses for a 1 vCPU / 128 MiB
    /// job: milliseconds to running (create + start), to exited (+ wait) and to gone (+ remove).
    /// </summary>
    public async Task<(double Created, double Running, double Exited, double Removed)> CreateStartWaitRemoveAsync(int hostCpus)
    {
        var started = Stopwatch.GetTimestamp();
        var created = await _client.Containers.CreateContainerAsync(new CreateContainerParameters
        {
            Image = BenchHost.Image,
            Cmd = ["true"],
            Labels = new Dictionary<string, string> { [BaselineLabel] = "true" },
            HostConfig = new HostConfig
            {
                Memory = 128L * 1024 * 1024,
                CPUShares = 1024,
                NanoCPUs = Math.Min(1, hostCpus) * 1_000_000_000L,
            },
        });
        var made = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        await _client.Containers.StartContainerAsync(created.ID, new ContainerStartParameters());
        var running = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        await _client.Containers.WaitContainerAsync(created.ID);
        var exited = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        await _client.Containers.RemoveContainerAsync(created.ID, new ContainerRemoveParameters { Force = true });
        return (made, running, exited, Stopwatch.GetElapsedTime(started).TotalMilliseconds);
    }

    /// <summary>
    /// The two calls the engine's launch makes before it creates a container: find the attempt's container by its labels
    /// (a launch may run twice) and check that the image is present. Milliseconds for both.
    /// </summary>
    public async Task<double> LaunchChecksAsync()
    {
        var started = Stopwatch.GetTimestamp();
        await _client.Containers.ListContainersAsync(new ContainersListParameters
        {
            All = true,
            Filters = new Dictionary<string, IDictionary<string, bool>>
            {
                ["label"] = new Dictionary<string, bool> { [$"{ContainerLabels.JobId}=none"] = true, [$"{ContainerLabels.Attempt}=1"] = true },
            },
        });
        await _client.Images.InspectImageAsync(BenchHost.Image);
        return Stopwatch.GetElapsedTime(started).TotalMilliseconds;
    }

    /// <summary><c>docker run --rm batchportal/busybox:latest true</c>: milliseconds until the CLI returns.</summary>
    public static async Task<double> DockerRunAsync()
    {
        var started = Stopwatch.GetTimestamp();
        await RunAsync("docker", "run", "--rm", BenchHost.Image, "true");
        return Stopwatch.GetElapsedTime(started).TotalMilliseconds;
    }

    /// <summary><c>xargs -P</c> running <c>docker run --rm ... true</c> <paramref name="count"/> times: wall milliseconds.</summary>
    public static async Task<double> XargsAsync(int count, int parallel)
    {
        var started = Stopwatch.GetTimestamp();
        await RunAsync("bash", "-c", $"seq {count} | xargs -P {parallel} -I{{}} docker run --rm {BenchHost.Image} true");
        return Stopwatch.GetElapsedTime(started).TotalMilliseconds;
    }

    /// <summary>Docker's own record of the containers of one compute environment between two moments.</summary>
    public async Task<IReadOnlyList<Message>> EventsAsync(string computeEnvironment, DateTimeOffset since, DateTimeOffset until)
    {
        var events = new ConcurrentQueue<Message>();
        await _client.System.MonitorEventsAsync(
            new ContainerEventsParameters
            {
                Since = UnixTime(since),
                Until = UnixTime(until),
                Filters = new Dictionary<string, IDictionary<string, bool>>
                {
                    ["type"] = new Dictionary<string, bool> { ["container"] = true },
                    ["label"] = new Dictionary<string, bool> { [$"{ContainerLabels.ComputeEnvironment}={computeEnvironment}"] = true },
                },
            },
            new Collect(events));
        return [.. events];
    }

    /// <summary>How many containers of one compute environment still exist.</summary>
    public async Task<int> CountContainersAsync(string computeEnvironment) =>
        (await _client.Containers.ListContainersAsync(new ContainersListParameters
        {
            All = true,
            Filters = new Dictionary<string, IDictionary<string, bool>>
            {
                ["label"] = new Dictionary<string, bool> { [$"{ContainerLabels.ComputeEnvironment}={computeEnvironment}"] = true },
            },
        })).Count;

    public async Task<string> DescribeAsync()
    {
        var version = await _client.System.GetVersionAsync();
        var info = await _client.System.GetSystemInfoAsync();
        return $"Docker {version.Version} (API {version.APIVersion}), storage driver {info.Driver}, cgroup {info.CgroupVersion}, {info.NCPU} CPUs, {info.MemTotal / (1L << 20)} MiB";
    }

    public async Task<int> HostCpusAsync() => (int)(await _client.System.GetSystemInfoAsync()).NCPU;

    public void Dispose() => _client.Dispose();

    private static string UnixTime(DateTimeOffset t) =>
        (t.ToUnixTimeMilliseconds() / 1000.0).ToString("0.000", CultureInfo.InvariantCulture);

    private static async Task RunAsync(string file, params string[] args)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{file} {string.Join(' ', args)} exited with {process.ExitCode}: {await stderr}{await stdout}");
        }
    }

    /// <summary>Collects synchronously: <see cref="Progress{T}"/> would post events after the call has returned.</summary>
    private sealed class Collect(ConcurrentQueue<Message> into) : IProgress<Message>
    {
        public void Report(Message value) => into.Enqueue(value);
    }
}
