using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Reflection;
using System.Text.Json;

namespace BatchPortal.Engine.IntegrationTests.Support;

/// <summary>
/// The real portal (the Portal project's build output) run as its own process, so that a test can kill it hard and start
/// it again on the same database. Its AWS API is reached with plain JSON over HTTP.
/// </summary>
public sealed class PortalProcess : IAsyncDisposable
{
    private static readonly TimeSpan StartDeadline = TimeSpan.FromSeconds(60);

    private readonly Process _process;
    private readonly ConcurrentQueue<string> _output;

    private PortalProcess(Process process, ConcurrentQueue<string> output, Uri address)
    {
        _process = process;
        _output = output;
        Http = new HttpClient { BaseAddress = address, Timeout = TimeSpan.FromSeconds(30) };
    }

    public HttpClient Http { get; }

    public static string AssemblyPath =>
        typeof(PortalProcess).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "PortalAssembly").Value!;

    /// <summary>Starts the portal on <paramref name="databasePath"/> and a free local port, and waits until it answers /healthz.</summary>
    public static async Task<PortalProcess> StartAsync(string databasePath)
    {
        var dll = AssemblyPath;
        if (!File.Exists(dll))
        {
            throw new InvalidOperationException($"The portal is not built at {dll}; build Portal/Portal.csproj (these tests' build does it).");
        }

        var address = new Uri($"http://127.0.0.1:{FreePort()}");
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
                ["Engine__Scheduler__PollInterval"] = "00:00:01",
                ["Engine__Docker__HealthCheckInterval"] = "00:00:01",
                ["Engine__Docker__StopGracePeriod"] = "00:00:01",
                ["Engine__Docker__NetworkMode"] = "none",
                ["Engine__Docker__PullMissingImages"] = "false",
                ["DOTNET_NOLOGO"] = "1",
            },
        };

        var output = new ConcurrentQueue<string>();
        var process = new Process { StartInfo = start };
        process.OutputDataReceived += (_, e) => Keep(output, e.Data);
        process.ErrorDataReceived += (_, e) => Keep(output, e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        var portal = new PortalProcess(process, output, address);
        try
        {
            await portal.WaitUntilHealthyAsync();
            return portal;
        }
        catch
        {
            await portal.DisposeAsync();
            throw;
        }
    }

    /// <summary>As <c>kill -9</c>: no shutdown hooks, nothing flushed.</summary>
    public void Kill()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
        }

        _process.WaitForExit();
    }

    /// <summary>Calls a Batch API operation (<c>POST /v1/&lt;operation&gt;</c>) and returns the body; any error fails the test.</summary>
    public Task<JsonElement> BatchAsync(string operation, object body) => PostAsync($"/v1/{operation}", body, null);

    /// <summary>Calls a CloudWatch Logs operation (JSON 1.1, <c>X-Amz-Target</c>) on the portal's Logs API.</summary>
    public Task<JsonElement> LogsAsync(string operation, object body) => PostAsync("/", body, $"Logs_20140328.{operation}");

    public string Output(int lines = 60) => string.Join(Environment.NewLine, _output.TakeLast(lines));

    public async ValueTask DisposeAsync()
    {
        Kill();
        _process.Dispose();
        Http.Dispose();
        await Task.CompletedTask;
    }

    private async Task<JsonElement> PostAsync(string path, object body, string? target)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = JsonContent.Create(body) };
        if (target is not null)
        {
            request.Headers.Add("X-Amz-Target", target);
        }

        using var response = await Http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{path} {target} answered {(int)response.StatusCode}: {text}");
        using var doc = JsonDocument.Parse(text);
        return doc.RootElement.Clone();
    }

    private async Task WaitUntilHealthyAsync()
    {
        using var deadline = new CancellationTokenSource(StartDeadline);
        while (!deadline.IsCancellationRequested)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"The portal exited with {_process.ExitCode} while starting:{Environment.NewLine}{Output()}");
            }

            try
            {
                using var response = await Http.GetAsync("/healthz", deadline.Token);
                if (response.IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }
            catch (OperationCanceledException) when (deadline.IsCancellationRequested)
            {
                break;
            }

            try
            {
                await Task.Delay(TimeSpan.FromMilliseconds(100), deadline.Token);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }

        throw new InvalidOperationException($"The portal did not answer /healthz within {StartDeadline.TotalSeconds:0} s:{Environment.NewLine}{Output()}");
    }

    private static void Keep(ConcurrentQueue<string> output, string? line)
    {
        if (line is null)
        {
            return;
        }

        output.Enqueue(line);
        while (output.Count > 2000 && output.TryDequeue(out _))
        {
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
