using System.Net;
using System.Net.Sockets;
using System.Text;
using BatchPortal.Api.Tests.Support;

namespace BatchPortal.Api.Tests.Http;

/// <summary>A portal that answers one API request per caller at a time and queues none.</summary>
public sealed class ThrottledApiFixture : PortalFixture
{
    protected override IReadOnlyDictionary<string, string?> Settings { get; } = new Dictionary<string, string?>
    {
        ["Api:Throttle:ConcurrentRequests"] = "1",
        ["Api:Throttle:QueuedRequests"] = "0",
    };

    protected override bool NeedsDocker => false;
}

[CollectionDefinition(Name)]
public sealed class ThrottledCollection : ICollectionFixture<ThrottledApiFixture>
{
    public const string Name = "Throttled";
}

/// <summary>One caller cannot hold more of the API than its share (issue #12).</summary>
[Collection(ThrottledCollection.Name)]
[Trait("Category", "Api")]
public sealed class ThrottleTests(ThrottledApiFixture portal)
{
    [Fact]
    public async Task Request_Gets429TooManyRequests_WhileTheSameCallersShareIsTaken_AndIsAnsweredOnceItIsFree()
    {
        // The first request holds the caller's one turn while the last byte of its body is still to come. Written on a
        // socket of its own, so that its headers are known to be on the way when the second request goes out.
        var endpoint = new Uri(portal.Endpoint);
        using var holder = new TcpClient();
        await holder.ConnectAsync(endpoint.Host, endpoint.Port);
        var stream = holder.GetStream();
        var head = $"POST /v1/describejobqueues HTTP/1.1\r\nHost: {endpoint.Authority}\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{{";
        await stream.WriteAsync(Encoding.ASCII.GetBytes(head));
        await stream.FlushAsync();

        // The server takes the turn when the headers arrive, a moment after they were sent: ask until it has.
        var second = await portal.Api.PostAsync("describejobqueues", new { });
        for (var tries = 0; second.Status != HttpStatusCode.TooManyRequests && tries < 100; tries++)
        {
            await Task.Delay(50);
            second = await portal.Api.PostAsync("describejobqueues", new { });
        }

        Assert.Equal((HttpStatusCode.TooManyRequests, "TooManyRequestsException"), (second.Status, second.ErrorType));
        Assert.Contains("Api:Throttle", second.Body.Str("message"), StringComparison.Ordinal);
        await stream.WriteAsync(Encoding.ASCII.GetBytes("}"));
        using var reader = new StreamReader(stream, Encoding.ASCII);
        var statusLine = await reader.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(30));
        Assert.StartsWith("HTTP/1.1 200", statusLine, StringComparison.Ordinal);

        // The turn is given back as the first answer ends, a moment after its status line was sent.
        var after = await portal.Api.PostAsync("describejobqueues", new { });
        for (var tries = 0; after.Status != HttpStatusCode.OK && tries < 100; tries++)
        {
            await Task.Delay(50);
            after = await portal.Api.PostAsync("describejobqueues", new { });
        }

        Assert.Equal(HttpStatusCode.OK, after.Status);
    }
}
