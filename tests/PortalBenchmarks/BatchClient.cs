using System.Diagnostics;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace BatchPortal.PortalBenchmarks;

/// <summary>
/// AWS Batch REST-JSON over plain HTTP: <c>POST /v1/&lt;operation&gt;</c> with a JSON body, as the SDKs send it, without
/// an SDK in the way. Requests carry an unverified SigV4-shaped <c>Authorization</c> header: BatchPortal accepts any
/// credentials by default, and moto's server needs the header's credential scope to know the request is for Batch.
/// </summary>
internal sealed class BatchClient : IDisposable
{
    private static string Authorization(string service) =>
        $"AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/{service}/aws4_request, SignedHeaders=content-type;host, Signature=0000";

    private static readonly MediaTypeHeaderValue Json = new("application/json");

    private readonly HttpClient _http;

    public BatchClient(Uri address, TimeSpan? timeout = null)
    {
        _http = new HttpClient(new SocketsHttpHandler { PooledConnectionLifetime = Timeout.InfiniteTimeSpan, MaxConnectionsPerServer = 4 })
        {
            BaseAddress = address,
            Timeout = timeout ?? TimeSpan.FromSeconds(60),
        };
    }

    public Uri Address => _http.BaseAddress!;

    /// <summary>Calls an operation; throws with the answer's body on anything but 200.</summary>
    public async Task<JsonElement> CallAsync(string operation, string json, CancellationToken ct = default)
    {
        var (status, body) = await SendAsync(operation, json, ct);
        if (status != 200)
        {
            throw new InvalidOperationException($"{Address}v1/{operation} answered {status}: {body[..Math.Min(400, body.Length)]}");
        }

        using var doc = JsonDocument.Parse(body);
        return doc.RootElement.Clone();
    }

    public Task<JsonElement> CallAsync(string operation, object body, CancellationToken ct = default) =>
        CallAsync(operation, JsonSerializer.Serialize(body), ct);

    /// <summary>Calls an operation and returns the status code, the body and the round trip in milliseconds.</summary>
    public async Task<(int Status, string Body, double Ms)> TimedAsync(string operation, string json, CancellationToken ct = default)
    {
        var started = Stopwatch.GetTimestamp();
        var (status, body) = await SendAsync(operation, json, ct);
        return (status, body, Stopwatch.GetElapsedTime(started).TotalMilliseconds);
    }

    /// <summary>A GET of a page or file, read to the end; returns the status, the body and the round trip in milliseconds.</summary>
    public async Task<(int Status, string Body, double Ms)> GetAsync(string pathAndQuery, CancellationToken ct = default)
    {
        var started = Stopwatch.GetTimestamp();
        using var response = await _http.GetAsync(new Uri(pathAndQuery, UriKind.Relative), ct);
        var body = await response.Content.ReadAsStringAsync(ct);
        return ((int)response.StatusCode, body, Stopwatch.GetElapsedTime(started).TotalMilliseconds);
    }

    /// <summary>A form-encoded query-protocol call (IAM on moto), for setting up what moto's Batch checks.</summary>
    public async Task<int> QueryProtocolAsync(string service, IReadOnlyDictionary<string, string> form, CancellationToken ct = default)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri("/", UriKind.Relative)) { Content = new FormUrlEncodedContent(form) };
        request.Headers.TryAddWithoutValidation("Authorization", Authorization(service));
        using var response = await _http.SendAsync(request, ct);
        return (int)response.StatusCode;
    }

    public void Dispose() => _http.Dispose();

    private async Task<(int Status, string Body)> SendAsync(string operation, string json, CancellationToken ct)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri($"/v1/{operation}", UriKind.Relative))
        {
            Content = new StringContent(json, Encoding.UTF8) { Headers = { ContentType = Json } },
        };
        request.Headers.TryAddWithoutValidation("Authorization", Authorization("batch"));
        using var response = await _http.SendAsync(request, ct);
        return ((int)response.StatusCode, await response.Content.ReadAsStringAsync(ct));
    }
}
