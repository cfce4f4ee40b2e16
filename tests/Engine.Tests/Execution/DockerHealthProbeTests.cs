using System.Net;
using System.Net.Sockets;
using System.Text;
using BatchPortal.Engine.Execution;
using BatchPortal.Engine.Tests.Support;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace BatchPortal.Engine.Tests.Execution;

/// <summary>
/// An endpoint someone typed may be any server: the health check, through the real Docker client, must report it as no
/// Docker engine instead of throwing (issue #12).
/// </summary>
public sealed class DockerHealthProbeTests
{
    [Theory]
    [InlineData("HTTP/1.1 200 OK", "text/html", "<html><body>a web site</body></html>")]
    [InlineData("HTTP/1.1 404 Not Found", "text/html", "<html><body>no such page</body></html>")]
    [InlineData("HTTP/1.1 200 OK", "application/json", "[1, 2, 3]")]
    public async Task Probe_ReportsNoDockerEngine_WhenTheEndpointAnswersAsSomethingElse(string status, string contentType, string body)
    {
        using var server = new TcpListener(IPAddress.Loopback, 0);
        server.Start();
        var port = ((IPEndPoint)server.LocalEndpoint).Port;
        using var stop = new CancellationTokenSource();
        var answering = AnswerAsync(server, $"{status}\r\nContent-Type: {contentType}\r\nContent-Length: {Encoding.UTF8.GetByteCount(body)}\r\nConnection: close\r\n\r\n{body}", stop.Token);

        await using var engine = await EngineHarness.CreateAsync(services: s => s.AddSingleton<IContainerRuntimeFactory>(sp =>
            new DockerContainerRuntimeFactory(sp.GetRequiredService<IOptions<DockerOptions>>(), TimeProvider.System)));
        var health = await engine.Get<DockerHealth>().ProbeAsync($"tcp://127.0.0.1:{port}");

        Assert.False(health.Reachable);
        Assert.Contains("not as a Docker engine", health.Error, StringComparison.Ordinal);
        await stop.CancelAsync();
        await answering;
    }

    private static async Task AnswerAsync(TcpListener server, string response, CancellationToken ct)
    {
        try
        {
            while (!ct.IsCancellationRequested)
            {
                using var client = await server.AcceptTcpClientAsync(ct);
                var stream = client.GetStream();
                var buffer = new byte[8192];
                _ = await stream.ReadAsync(buffer, ct);
                await stream.WriteAsync(Encoding.UTF8.GetBytes(response), ct);
            }
        }
        catch (OperationCanceledException)
        {
        }
    }
}
