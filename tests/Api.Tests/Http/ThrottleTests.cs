using System.Net;
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
        // The first request holds the caller's one turn while its body is still on the way.
        var body = new HeldBody("{}");
        using var holding = new HttpRequestMessage(HttpMethod.Post, "/v1/describejobqueues") { Content = body };
        var first = portal.Api.Client.SendAsync(holding);
        await body.Started.Task.WaitAsync(TimeSpan.FromSeconds(30));

        // The server takes the turn when the headers arrive, a moment after they were sent: ask until it has.
        var second = await portal.Api.PostAsync("describejobqueues", new { });
        for (var tries = 0; second.Status != HttpStatusCode.TooManyRequests && tries < 100; tries++)
        {
            await Task.Delay(50);
            second = await portal.Api.PostAsync("describejobqueues", new { });
        }

        Assert.Equal((HttpStatusCode.TooManyRequests, "TooManyRequestsException"), (second.Status, second.ErrorType));
        Assert.Contains("Api:Throttle", second.Body.Str("message"), StringComparison.Ordinal);
        body.Release();
        using var answered = await first.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(HttpStatusCode.OK, answered.StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await portal.Api.PostAsync("describejobqueues", new { })).Status);
    }

    /// <summary>A JSON body sent in two parts, the second only when released.</summary>
    private sealed class HeldBody : HttpContent
    {
        private readonly byte[] _json;
        private readonly TaskCompletionSource _released = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public HeldBody(string json)
        {
            _json = Encoding.UTF8.GetBytes(json);
            Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
        }

        public TaskCompletionSource Started { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public void Release() => _released.TrySetResult();

        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context)
        {
            await stream.WriteAsync(_json.AsMemory(0, 1));
            await stream.FlushAsync();
            Started.TrySetResult();
            await _released.Task;
            await stream.WriteAsync(_json.AsMemory(1));
        }

        protected override bool TryComputeLength(out long length)
        {
            length = 0;
            return false;
        }
    }
}
