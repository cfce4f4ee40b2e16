using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Reflection;

namespace BatchPortal.PortalBenchmarks;

/// <summary>
/// The real portal (the Portal project's Release build output) as its own process, as an operator runs it: Production
/// environment, the shipped appsettings.json, its own SQLite file, and a Docker endpoint that does not exist, so that no
/// container is ever started and jobs wait RUNNABLE. What is measured is the API, the pages, the hub and the store.
/// </summary>
internal sealed class PortalProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StreamWriter _log;

    private PortalProcess(Process process, StreamWriter log, Uri address, string databasePath, string dockerEndpoint)
    {
        _process = process;
        _log = log;
        Address = address;
        DatabasePath = databasePath;
        DockerEndpoint = dockerEndpoint;
    }

    public Uri Address { get; }

    public string DatabasePath { get; }

    public string DockerEndpoint { get; }

    public int Pid => _process.Id;

    /// <summary>Configuration given on the command line (<c>--portal-setting=Key:Path=Value</c>), on top of the shipped one.</summary>
    public static Dictionary<string, string> ExtraSettings { get; } = new(StringComparer.Ordinal);

    public static string AssemblyPath =>
        typeof(PortalProcess).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "PortalAssembly").Value!;

    /// <summary>The portal's GC and JIT settings as its runtimeconfig.json (and any DOTNET_ override given here) sets them.</summary>
    public static string RuntimeSettings()
    {
        var config = Path.ChangeExtension(AssemblyPath, ".runtimeconfig.json");
        var properties = File.Exists(config)
            ? System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(config))?["runtimeOptions"]?["configProperties"]
            : null;
        var server = properties?["System.GC.Server"]?.GetValue<bool>() ?? false;
        var pgo = properties?["System.Runtime.TieredPGO"]?.GetValue<bool>() ?? true;
        var overrides = ExtraSettings.Where(kv => kv.Key.StartsWith("DOTNET_", StringComparison.Ordinal)).Select(kv => $"{kv.Key}={kv.Value}");
        return string.Join(", ", new[] { server ? "server GC" : "workstation GC", pgo ? "tiered PGO" : "no tiered PGO" }.Concat(overrides));
    }

    /// <summary>Starts the portal on a fresh database in <paramref name="folder"/> and waits until /healthz answers.</summary>
    public static async Task<PortalProcess> StartAsync(string folder, string name)
    {
        var dll = AssemblyPath;
        if (!File.Exists(dll))
        {
            throw new InvalidOperationException($"The portal is not built at {dll}; `dotnet run -c Release --project tests/PortalBenchmarks` builds it.");
        }

        var address = new Uri($"http://127.0.0.1:{FreePort()}");
        var databasePath = Path.Combine(folder, $"{name}.db");
        var dockerEndpoint = $"unix://{Path.Combine(folder, "no-docker-here.sock")}";
        var start = new ProcessStartInfo("dotnet")
        {
            ArgumentList = { dll },
            WorkingDirectory = Path.GetDirectoryName(dll)!,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            Environment =
            {
                ["ASPNETCORE_URLS"] = address.ToString(),
                ["ASPNETCORE_ENVIRONMENT"] = "Production",
                ["Engine__Storage__DatabasePath"] = databasePath,
                ["Engine__Docker__Endpoint"] = dockerEndpoint,
                ["DOTNET_NOLOGO"] = "1",
            },
        };

        foreach (var (key, value) in ExtraSettings)
        {
            start.Environment[key.Replace(":", "__", StringComparison.Ordinal)] = value;
        }

        var log = new StreamWriter(Path.Combine(folder, $"{name}.log")) { AutoFlush = true };
        var process = new Process { StartInfo = start };
        process.OutputDataReceived += (_, e) => Write(log, e.Data);
        process.ErrorDataReceived += (_, e) => Write(log, e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        var portal = new PortalProcess(process, log, address, databasePath, dockerEndpoint);
        try
        {
            await portal.WaitUntilHealthyAsync(Path.Combine(folder, $"{name}.log"));
            return portal;
        }
        catch
        {
            await portal.DisposeAsync();
            throw;
        }
    }

    /// <summary>Resident memory now and at its peak, in MiB, from <c>/proc/&lt;pid&gt;/status</c> (VmRSS, VmHWM).</summary>
    public (double RssMiB, double PeakMiB) Memory()
    {
        double rss = double.NaN, peak = double.NaN;
        foreach (var line in File.ReadLines($"/proc/{Pid}/status"))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
            {
                rss = Kib(line) / 1024;
            }
            else if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
            {
                peak = Kib(line) / 1024;
            }
        }

        return (rss, peak);

        static double Kib(string line) =>
            double.Parse(line.Split(':', 2)[1].Trim().Split(' ')[0], CultureInfo.InvariantCulture);
    }

    /// <summary>
    /// The resident memory by kind: anonymous (GC heap, native allocations such as SQLite's page caches), file-mapped
    /// (the runtime's and the app's assemblies), shared (the runtime's double-mapped executable memory: JIT-compiled code).
    /// </summary>
    public string MemorySplit()
    {
        var parts = File.ReadLines($"/proc/{Pid}/status")
            .Where(l => l.StartsWith("RssAnon:", StringComparison.Ordinal) || l.StartsWith("RssFile:", StringComparison.Ordinal) || l.StartsWith("RssShmem:", StringComparison.Ordinal))
            .Select(l => double.Parse(l.Split(':', 2)[1].Trim().Split(' ')[0], CultureInfo.InvariantCulture) / 1024)
            .Select(mib => $"{mib:0} MiB");
        return string.Join(" / ", parts);
    }

    /// <summary>The CPU time (user + system) the portal has used so far.</summary>
    public TimeSpan CpuTime()
    {
        _process.Refresh();
        return _process.TotalProcessorTime;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            // SIGTERM first: the portal shuts down and SQLite checkpoints its WAL; then the hard way.
            using (var term = Process.Start("kill", ["-TERM", _process.Id.ToString(CultureInfo.InvariantCulture)]))
            {
                await term.WaitForExitAsync();
            }

            using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(20));
            try
            {
                await _process.WaitForExitAsync(wait.Token);
            }
            catch (OperationCanceledException)
            {
                _process.Kill(entireProcessTree: true);
                await _process.WaitForExitAsync();
            }
        }

        _process.Dispose();
        await _log.DisposeAsync();
    }

    private async Task WaitUntilHealthyAsync(string logPath)
    {
        using var http = new HttpClient { BaseAddress = Address, Timeout = TimeSpan.FromSeconds(5) };
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < TimeSpan.FromSeconds(90))
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"The portal exited with {_process.ExitCode} while starting; see {logPath}.");
            }

            try
            {
                // /healthz answers 503 while the Docker engine is unreachable (as here, on purpose): any answer means up.
                using var response = await http.GetAsync(new Uri("/healthz", UriKind.Relative));
                if (response.StatusCode is HttpStatusCode.OK or HttpStatusCode.ServiceUnavailable)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }
            catch (TaskCanceledException)
            {
                // Starting slowly on a busy machine.
            }

            await Task.Delay(200);
        }

        throw new TimeoutException($"The portal did not answer /healthz within 90 s; see {logPath}.");
    }

    private static void Write(StreamWriter log, string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (log)
        {
            log.WriteLine(line);
        }
    }

    internal static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
