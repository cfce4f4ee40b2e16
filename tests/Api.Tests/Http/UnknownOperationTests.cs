using System.Net;
using System.Text;
using BatchPortal.Api.Tests.Support;

namespace BatchPortal.Api.Tests.Http;

[Collection(CliResourcesCollection.Name)]
[Trait("Category", "Api")]
public sealed class UnknownOperationTests(ApiFixture portal)
{
    [Fact]
    public async Task Post_AnswersClientExceptionNamingTheOperation_WhenTheOperationIsUnknown()
    {
        using var content = new StringContent("{}", Encoding.UTF8, "application/json");
        using var response = await portal.Api.Client.PostAsync("/v1/frobnicate", content);
        var reply = await BatchHttp.ReadAsync(response);

        Assert.Equal(HttpStatusCode.BadRequest, reply.Status);
        Assert.Equal("ClientException", reply.ErrorType);
        Assert.Equal("ClientException", reply.Body.Str("__type"));
        Assert.Contains("frobnicate", reply.Body.Str("message"), StringComparison.Ordinal);
    }
}
