using System.Net;
using BatchPortal.Api.Tests.Support;

namespace BatchPortal.Api.Tests.Http;

[Collection(CliResourcesCollection.Name)]
[Trait("Category", "Api")]
public sealed class HealthTests(ApiFixture portal)
{
    [Fact]
    public async Task Healthz_Answers503NamingTheEngine_WhileADockerEndpointInUseIsDown()
    {
        // Regression: #11. With the Docker engine stopped under running jobs, /healthz stayed 200 "ok".
        Assert.Equal(HttpStatusCode.OK, (await GetAsync()).Status);
        var name = PortalFixture.Unique("down");
        const string deadEndpoint = "tcp://127.0.0.1:9";
        await portal.Api.OkAsync("createcomputeenvironment", new
        {
            computeEnvironmentName = name,
            type = "MANAGED",
            computeResources = new { type = "EC2", maxvCpus = 4 },
            dockerEndpoint = deadEndpoint,
        });

        var down = await GetAsync();
        Assert.Equal(HttpStatusCode.ServiceUnavailable, down.Status);
        Assert.Equal("degraded", down.Body.Str("status"));
        Assert.Contains(name, down.Body.Str("reason"), StringComparison.Ordinal);

        // Readable by anyone who reaches the portal: no endpoint URI in it (issue #12).
        Assert.DoesNotContain("127.0.0.1:9", down.Text, StringComparison.Ordinal);
        Assert.DoesNotContain("docker.sock", down.Text, StringComparison.Ordinal);

        await portal.Api.OkAsync("updatecomputeenvironment", new { computeEnvironment = name, state = "DISABLED" });
        Assert.Equal(HttpStatusCode.OK, (await GetAsync()).Status);
    }

    private async Task<ApiResponse> GetAsync()
    {
        using var response = await portal.Api.Client.GetAsync("/healthz");
        return await BatchHttp.ReadAsync(response);
    }
}
