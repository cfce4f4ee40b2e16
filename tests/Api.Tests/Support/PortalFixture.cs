using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;

namespace BatchPortal.Api.Tests.Support;

/// <summary>
/// One portal per test collection, with the aws CLI and an HTTP client pointed at it. It refuses to start (and so fails
/// every test of the collection) when Docker or the test image is missing: a skipped API test would pass CI untested.
/// </summary>
public abstract class PortalFixture : IAsyncLifetime, IDisposable
{
    public const string DockerSocket = "/var/run/docker.sock";

    private readonly ConcurrentDictionary<string, Lazy<Task<object>>> _shared = new();
    private PortalHost? _host;
    private HttpClient? _http;

    public PortalHost Host => _host ?? throw new InvalidOperationException("The portal has not started.");

    public string Endpoint => Host.BaseAddress;

    public AwsCli Cli { get; private set; } = default!;

    public BatchHttp Api { get; private set; } = default!;

    protected virtual IReadOnlyDictionary<string, string?> Settings { get; } = new Dictionary<string, string?>();

    protected virtual bool NeedsDocker => true;

    public async Task InitializeAsync()
    {
        if (NeedsDocker)
        {
            await EnsureDockerAsync();
        }

        _host = new PortalHost(Settings);
        _http = new HttpClient { BaseAddress = new Uri(Host.BaseAddress) };
        Api = new BatchHttp(_http);
        Cli = new AwsCli(Endpoint);
    }

    public Task DisposeAsync()
    {
        Dispose();
        return Task.CompletedTask;
    }

    public void Dispose()
    {
        Dispose(disposing: true);
        GC.SuppressFinalize(this);
    }

    protected virtual void Dispose(bool disposing)
    {
        if (disposing)
        {
            _http?.Dispose();
            _http = null;
            _host?.Dispose();
            _host = null;
        }
    }

    /// <summary>Something several tests of a class read, made once per portal by the first test that asks for it.</summary>
    public async Task<T> SharedAsync<T>(string key, Func<Task<T>> create)
        where T : class =>
        (T)await _shared.GetOrAdd(key, _ => new Lazy<Task<object>>(async () => await create())).Value;

    public static string Unique(string prefix) => $"{prefix}-{Guid.NewGuid():N}"[..(prefix.Length + 13)];

    /// <summary>Asks the Docker engine itself (over its socket) whether it answers and has the test image.</summary>
    private static async Task EnsureDockerAsync()
    {
        const string Hint = "Run `BATCHPORTAL_SETUP_ONLY=1 bash tests/run.sh` as root to start Docker and build the image.";
        using var handler = new SocketsHttpHandler
        {
            ConnectCallback = async (_, ct) =>
            {
                var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                try
                {
                    await socket.ConnectAsync(new UnixDomainSocketEndPoint(DockerSocket), ct);
                    return new NetworkStream(socket, ownsSocket: true);
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
            },
        };
        using var docker = new HttpClient(handler) { BaseAddress = new Uri("http://docker"), Timeout = TimeSpan.FromSeconds(10) };
        HttpResponseMessage image;
        try
        {
            image = await docker.GetAsync($"/images/{BatchHttp.Image}/json");
        }
        catch (Exception ex) when (ex is HttpRequestException or SocketException or TaskCanceledException)
        {
            throw new InvalidOperationException($"The Docker engine at unix://{DockerSocket} does not answer ({ex.GetBaseException().Message}). {Hint}", ex);
        }

        using (image)
        {
            if (image.StatusCode == HttpStatusCode.NotFound)
            {
                throw new InvalidOperationException($"The image {BatchHttp.Image} is missing; no registry is reachable to pull it. {Hint}");
            }

            image.EnsureSuccessStatusCode();
        }
    }
}

/// <summary>The portal as the CLI and SDK scenarios use it: no access keys, a short stop grace period for TerminateJob.</summary>
public sealed class ApiFixture : PortalFixture
{
    protected override IReadOnlyDictionary<string, string?> Settings { get; } = new Dictionary<string, string?>
    {
        ["Engine:Docker:StopGracePeriod"] = "00:00:01",
    };
}

// The CLI starts a Python process per call; two portals let its resource and job tests run side by side.
[CollectionDefinition(Name)]
public sealed class CliResourcesCollection : ICollectionFixture<ApiFixture>
{
    public const string Name = "aws CLI: resources";
}

[CollectionDefinition(Name)]
public sealed class CliJobsCollection : ICollectionFixture<ApiFixture>
{
    public const string Name = "aws CLI: jobs";
}

[CollectionDefinition(Name)]
public sealed class JsSdkCollection : ICollectionFixture<ApiFixture>
{
    public const string Name = "AWS SDK for JavaScript";
}
