using System.Net;
using System.Text;
using BatchPortal.Api.Tests.Support;

namespace BatchPortal.Api.Tests.SigV4;

/// <summary>A portal configured with one access key: every API request must be SigV4-signed with it.</summary>
public sealed class SignedApiFixture : PortalFixture
{
    public const string AccessKeyId = "AKIABATCHPORTALTEST1";
    public const string SecretAccessKey = "bp/secret+key/for-the-api-tests";

    protected override IReadOnlyDictionary<string, string?> Settings { get; } = new Dictionary<string, string?>
    {
        ["Api:AccessKeys:0:AccessKeyId"] = AccessKeyId,
        ["Api:AccessKeys:0:SecretAccessKey"] = SecretAccessKey,
    };

    // No job runs here: only signatures are checked.
    protected override bool NeedsDocker => false;
}

[CollectionDefinition(Name)]
public sealed class SignedCollection : ICollectionFixture<SignedApiFixture>
{
    public const string Name = "SigV4";
}

[Collection(SignedCollection.Name)]
[Trait("Category", "Api")]
public sealed class SigV4Tests(SignedApiFixture portal)
{
    [Fact]
    public async Task Cli_Succeeds_WhenSignedWithTheConfiguredKey()
    {
        var cli = new AwsCli(portal.Endpoint, SignedApiFixture.AccessKeyId, SignedApiFixture.SecretAccessKey);
        var ce = PortalFixture.Unique("ce-signed");
        var queue = PortalFixture.Unique("q-signed");

        await cli.OkAsync("batch", "create-compute-environment", "--compute-environment-name", ce, "--type", "UNMANAGED", "--unmanagedv-cpus", "2");
        var created = await cli.OkAsync("batch", "create-job-queue", "--job-queue-name", queue, "--priority", "1", "--compute-environment-order", $"order=1,computeEnvironment={ce}");
        var described = await cli.OkAsync("batch", "describe-job-queues", "--job-queues", queue);

        // The tag routes carry the percent-encoded ARN in the signed path, which SigV4 encodes once more.
        var arn = created.Str("jobQueueArn");
        await cli.OkAsync("batch", "tag-resource", "--resource-arn", arn, "--tags", "signed=yes");
        await cli.OkAsync("batch", "untag-resource", "--resource-arn", arn, "--tag-keys", "nothing-to-remove");
        var tags = await cli.OkAsync("batch", "list-tags-for-resource", "--resource-arn", arn);

        // The Logs API checks signatures too: an unknown stream means the request got past them.
        var logs = await cli.FailsAsync("ResourceNotFoundException", "logs", "get-log-events", "--log-group-name", "/aws/batch/job", "--log-stream-name", "none/default/none");

        Assert.Equal(queue, Assert.Single(described.Items("jobQueues")).Str("jobQueueName"));
        Assert.Equal("yes", tags.Member("tags").Str("signed"));
        Assert.Contains("log stream does not exist", logs, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Cli_FailsWithInvalidSignatureException_WhenTheSecretIsWrong()
    {
        var cli = new AwsCli(portal.Endpoint, SignedApiFixture.AccessKeyId, "not-the-secret");

        var batch = await cli.FailsAsync("InvalidSignatureException", "batch", "describe-job-queues");
        var logs = await cli.FailsAsync("InvalidSignatureException", "logs", "get-log-events", "--log-group-name", "/aws/batch/job", "--log-stream-name", "none/default/none");

        Assert.Contains("signature", batch, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("signature", logs, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task Cli_FailsWithUnrecognizedClientException_WhenTheKeyIdIsUnknown()
    {
        var cli = new AwsCli(portal.Endpoint, "AKIAUNKNOWNKEY000000", SignedApiFixture.SecretAccessKey);

        var error = await cli.FailsAsync("UnrecognizedClientException", "batch", "describe-compute-environments");

        Assert.Contains("security token", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task JsSdk_GetsA403WithTheErrorCode_WhenTheKeyIdOrSecretIsWrong()
    {
        var right = await NodeScenario.RunAsync(portal.Endpoint, "signed", null, SignedApiFixture.AccessKeyId, SignedApiFixture.SecretAccessKey);
        var wrongSecret = await NodeScenario.RunAsync(portal.Endpoint, "signed", null, SignedApiFixture.AccessKeyId, "not-the-secret");
        var unknownKey = await NodeScenario.RunAsync(portal.Endpoint, "signed", null, "AKIAUNKNOWNKEY000000", SignedApiFixture.SecretAccessKey);

        Assert.True(right.Member("describeJobQueues").Bool("ok"), right.ToString());
        Assert.Equal("ResourceNotFoundException", right.Member("getLogEvents").Str("name"));
        foreach (var outcome in new[] { wrongSecret.Member("describeJobQueues"), wrongSecret.Member("getLogEvents") })
        {
            Assert.Equal(("InvalidSignatureException", 403L), (outcome.Str("name"), outcome.Number("status")));
        }

        foreach (var outcome in new[] { unknownKey.Member("describeJobQueues"), unknownKey.Member("getLogEvents") })
        {
            Assert.Equal(("UnrecognizedClientException", 403L), (outcome.Str("name"), outcome.Number("status")));
        }
    }

    [Fact]
    public async Task Post_Answers403MissingAuthenticationToken_WhenTheRequestIsNotSigned()
    {
        using var content = new StringContent("{}", Encoding.UTF8, "application/json");
        using var response = await portal.Api.Client.PostAsync("/v1/describejobqueues", content);
        var reply = await BatchHttp.ReadAsync(response);

        Assert.Equal(HttpStatusCode.Forbidden, reply.Status);
        Assert.Equal("MissingAuthenticationTokenException", reply.ErrorType);
        Assert.Equal("MissingAuthenticationTokenException", reply.Body.Str("__type"));
        Assert.False(string.IsNullOrWhiteSpace(reply.Body.Str("message")));
    }
}
