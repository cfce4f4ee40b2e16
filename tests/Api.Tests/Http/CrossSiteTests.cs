using System.Net;
using System.Net.Http.Headers;
using System.Text;
using BatchPortal.Api.Tests.Support;

namespace BatchPortal.Api.Tests.Http;

/// <summary>
/// A page on another site must not drive the API through a developer's browser (issue #12): the requests a browser
/// sends without asking are refused, and nothing is created.
/// </summary>
[Collection(CliResourcesCollection.Name)]
[Trait("Category", "Api")]
public sealed class CrossSiteTests(ApiFixture portal)
{
    private static string CreateQueueBody(string name) =>
        $$"""{"jobQueueName":"{{name}}","priority":1,"computeEnvironmentOrder":[]}""";

    public static TheoryData<string> SimpleContentTypes() =>
        ["text/plain", "text/plain;charset=UTF-8", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"];

    [Theory]
    [MemberData(nameof(SimpleContentTypes))]
    public async Task Post_IsRefusedWithNothingCreated_WhenItsContentTypeIsOneABrowserSendsCrossSite(string contentType)
    {
        var name = PortalFixture.Unique("xsite");
        using var content = new ByteArrayContent(Encoding.UTF8.GetBytes(CreateQueueBody(name)));
        content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);

        var reply = await SendAsync(HttpMethod.Post, "/v1/createjobqueue", content);

        Assert.Equal((HttpStatusCode.BadRequest, "ClientException"), (reply.Status, reply.ErrorType));
        Assert.Contains("Content-Type", reply.Body.Str("message"), StringComparison.Ordinal);
        await AssertNoQueueAsync(name);
    }

    [Fact]
    public async Task Post_IsRefusedWithNothingCreated_WhenItComesFromAnotherSite()
    {
        var name = PortalFixture.Unique("xorigin");
        using var content = new StringContent(CreateQueueBody(name), Encoding.UTF8, "application/json");

        var reply = await SendAsync(HttpMethod.Post, "/v1/createjobqueue", content, ("Origin", "https://evil.example"));
        var marked = await SendAsync(HttpMethod.Post, "/v1/describejobqueues", new StringContent("{}", Encoding.UTF8, "application/json"), ("Sec-Fetch-Site", "cross-site"));

        Assert.Equal((HttpStatusCode.Forbidden, "AccessDeniedException"), (reply.Status, reply.ErrorType));
        Assert.Contains("https://evil.example", reply.Body.Str("message"), StringComparison.Ordinal);
        Assert.Equal((HttpStatusCode.Forbidden, "AccessDeniedException"), (marked.Status, marked.ErrorType));
        await AssertNoQueueAsync(name);
    }

    [Fact]
    public async Task Post_IsAccepted_FromThePortalsOwnOrigin()
    {
        var reply = await SendAsync(HttpMethod.Post, "/v1/describejobqueues", new StringContent("{}", Encoding.UTF8, "application/json"), ("Origin", portal.Endpoint));

        Assert.Equal(HttpStatusCode.OK, reply.Status);
    }

    [Fact]
    public async Task Request_IsRefused_WhenItsHostIsAForeignName()
    {
        // DNS rebinding: a foreign name pointed at 127.0.0.1 reaches the portal with that name as its Host.
        var name = PortalFixture.Unique("rebind");
        using var content = new StringContent(CreateQueueBody(name), Encoding.UTF8, "application/json");

        var api = await SendAsync(HttpMethod.Post, "/v1/createjobqueue", content, ("Host", "evil.example"));
        var page = await SendAsync(HttpMethod.Get, "/jobs", null, ("Host", "evil.example"));

        Assert.Equal(HttpStatusCode.BadRequest, api.Status);
        Assert.Equal(HttpStatusCode.BadRequest, page.Status);
        await AssertNoQueueAsync(name);
    }

    private async Task<ApiResponse> SendAsync(HttpMethod method, string path, HttpContent? content, params (string Name, string Value)[] headers)
    {
        using var request = new HttpRequestMessage(method, path) { Content = content };
        foreach (var (headerName, value) in headers)
        {
            if (headerName == "Host")
            {
                request.Headers.Host = value;
            }
            else
            {
                request.Headers.TryAddWithoutValidation(headerName, value);
            }
        }

        using var response = await portal.Api.Client.SendAsync(request);
        return await BatchHttp.ReadAsync(response);
    }

    private async Task AssertNoQueueAsync(string name)
    {
        var described = await portal.Api.OkAsync("describejobqueues", new { jobQueues = new[] { name } });
        Assert.Empty(described.Items("jobQueues"));
    }
}
