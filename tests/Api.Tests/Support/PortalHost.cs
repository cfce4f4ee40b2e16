using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace BatchPortal.Api.Tests.Support;

/// <summary>
/// The real portal on a real loopback port (as in Portal.BrowserTests), with its own SQLite file, against the machine's
/// Docker engine. The constructor's settings add to or override the test configuration (access keys, grace periods).
/// </summary>
public sealed class PortalHost : WebApplicationFactory<Program>
{
    private readonly string _dataFolder = Directory.CreateTempSubdirectory("batchportal-api-").FullName;
    private readonly IReadOnlyDictionary<string, string?> _settings;

    public PortalHost(IReadOnlyDictionary<string, string?>? settings = null)
    {
        _settings = settings ?? new Dictionary<string, string?>();
        UseKestrel(0);
        StartServer();

        var addresses = Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses;
        BaseAddress = addresses.First().Replace("[::]", "127.0.0.1", StringComparison.Ordinal).Replace("0.0.0.0", "127.0.0.1", StringComparison.Ordinal)
            .Replace("localhost", "127.0.0.1", StringComparison.Ordinal).TrimEnd('/');
    }

    /// <summary><c>http://127.0.0.1:PORT</c>, without a trailing slash.</summary>
    public string BaseAddress { get; }

    public static string RepositoryRoot
    {
        get
        {
            var dir = new DirectoryInfo(AppContext.BaseDirectory);
            while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "BatchPortal.sln")))
            {
                dir = dir.Parent;
            }

            return dir?.FullName ?? throw new InvalidOperationException("BatchPortal.sln not found above " + AppContext.BaseDirectory);
        }
    }

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseContentRoot(Path.Combine(RepositoryRoot, "Portal"));
        builder.UseEnvironment("Development");

        // Also as host settings: Program reads some (Auth:Mode) while it builds, before app configuration is added.
        foreach (var (key, value) in _settings)
        {
            builder.UseSetting(key, value);
        }

        builder.ConfigureAppConfiguration(config =>
        {
            config.AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["Engine:Storage:DatabasePath"] = Path.Combine(_dataFolder, "batchportal.db"),
                ["Engine:Docker:Endpoint"] = Environment.GetEnvironmentVariable("BATCHPORTAL_DOCKER_ENDPOINT") ?? "unix:///var/run/docker.sock",
                ["Engine:Docker:NetworkMode"] = "none",

                // No registry is reachable: a missing image must fail fast rather than wait for a pull.
                ["Engine:Docker:PullTimeout"] = "00:00:10",
                ["Engine:Docker:HealthCheckInterval"] = "00:00:01",
                ["Engine:Scheduler:PollInterval"] = "00:00:01",
                ["Logging:LogLevel:Default"] = "Warning",
            });
            config.AddInMemoryCollection(_settings);
        });
    }

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (disposing)
        {
            try
            {
                Directory.Delete(_dataFolder, recursive: true);
            }
            catch (IOException)
            {
                // SQLite may still hold the file for a moment; the temp folder is cleaned by the OS.
            }
        }
    }
}
