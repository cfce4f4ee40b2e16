using System.Net;
using System.Text;
using BatchPortal.Api.Tests.Support;

namespace BatchPortal.Api.Tests.SigV4;

/// <summary>A portal configured with one access key: every API request must be SigV4-signed with it.</summary>
public sealed class SignedApiFixture : PortalFixture
{
    public const string AccessKeyId = "AKIABATCHPORTALTEST1";
    public const string SecretAccessKey = "bp/secret+key/for-the-api-tests";
    public const string ViewerKeyId = "AKIABATCHPORTALVIEW1";
    public const string OperatorKeyId = "AKIABATCHPORTALOPER1";
    public const string OtherSecret = "bp/secret/of-the-viewer-and-operator";

    protected override IReadOnlyDictionary<string, string?> Settings { get; } = new Dictionary<string, string?>
    {
        ["Api:AccessKeys:0:AccessKeyId"] = AccessKeyId,
        ["Api:AccessKeys:0:SecretAccessKey"] = SecretAccessKey,
        ["Api:AccessKeys:0:Role"] = "Admin",
        ["Api:AccessKeys:1:AccessKeyId"] = ViewerKeyId,
        ["Api:AccessKeys:1:SecretAccessKey"] = OtherSecret,
        ["Api:AccessKeys:1:Role"] = "Viewer",
        ["Api:AccessKeys:2:AccessKeyId"] = OperatorKeyId,
        ["Api:AccessKeys:2:SecretAccessKey"] = OtherSecret,
        ["Api:AccessKeys:2:Role"] = "Operator",
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

    [Fact]
    public async Task Cli_WithAViewerKey_ReadsButIsDeniedEveryChange()
    {
        var admin = new AwsCli(portal.Endpoint, SignedApiFixture.AccessKeyId, SignedApiFixture.SecretAccessKey);
        var viewer = new AwsCli(portal.Endpoint, SignedApiFixture.ViewerKeyId, SignedApiFixture.OtherSecret);
        var (queue, definition) = await StageAsync(admin);

        var described = await viewer.OkAsync("batch", "describe-job-queues", "--job-queues", queue);
        var submit = await viewer.FailsAsync("AccessDeniedException", "batch", "submit-job", "--job-name", "j", "--job-queue", queue, "--job-definition", definition);
        var register = await viewer.FailsAsync("AccessDeniedException", "batch", "register-job-definition", "--job-definition-name", PortalFixture.Unique("v"), "--type", "container", "--container-properties", "image=busybox,vcpus=1,memory=64");
        await viewer.FailsAsync("AccessDeniedException", "batch", "create-compute-environment", "--compute-environment-name", PortalFixture.Unique("ce-v"), "--type", "UNMANAGED", "--unmanagedv-cpus", "2");

        Assert.Equal(queue, Assert.Single(described.Items("jobQueues")).Str("jobQueueName"));
        Assert.Contains("batch:SubmitJob", submit, StringComparison.Ordinal);
        Assert.Contains("Operator", submit, StringComparison.Ordinal);
        Assert.Contains("batch:RegisterJobDefinition", register, StringComparison.Ordinal);
        var listed = await admin.OkAsync("batch", "list-jobs", "--job-queue", queue, "--filters", "name=JOB_NAME,values=j");
        Assert.Empty(listed.Items("jobSummaryList"));
    }

    [Fact]
    public async Task Cli_WithAnOperatorKey_SubmitsAndRegisters_ButIsDeniedThePlatformAndPrivilegedDefinitions()
    {
        var admin = new AwsCli(portal.Endpoint, SignedApiFixture.AccessKeyId, SignedApiFixture.SecretAccessKey);
        var op = new AwsCli(portal.Endpoint, SignedApiFixture.OperatorKeyId, SignedApiFixture.OtherSecret);
        var (queue, definition) = await StageAsync(admin);

        var submitted = await op.OkAsync("batch", "submit-job", "--job-name", "by-operator", "--job-queue", queue, "--job-definition", definition);
        await op.OkAsync("batch", "register-job-definition", "--job-definition-name", PortalFixture.Unique("op"), "--type", "container", "--container-properties", "image=busybox,vcpus=1,memory=64");
        var privileged = await op.FailsAsync("AccessDeniedException", "batch", "register-job-definition", "--job-definition-name", PortalFixture.Unique("op-root"), "--type", "container", "--container-properties", "image=busybox,vcpus=1,memory=64,privileged=true");
        var queueChange = await op.FailsAsync("AccessDeniedException", "batch", "update-job-queue", "--job-queue", queue, "--state", "DISABLED");

        Assert.False(string.IsNullOrEmpty(submitted.Str("jobId")));
        Assert.Contains("privileged: true", privileged, StringComparison.Ordinal);
        Assert.Contains("Admin", queueChange, StringComparison.Ordinal);
        var state = await admin.OkAsync("batch", "describe-job-queues", "--job-queues", queue);
        Assert.Equal("ENABLED", Assert.Single(state.Items("jobQueues")).Str("state"));
    }

    [Fact]
    public async Task JsSdk_WithAViewerKey_GetsA403AccessDenied_ForSubmitJob()
    {
        var admin = new AwsCli(portal.Endpoint, SignedApiFixture.AccessKeyId, SignedApiFixture.SecretAccessKey);
        await StageAsync(admin);

        var viewer = await NodeScenario.RunAsync(portal.Endpoint, "signed", null, SignedApiFixture.ViewerKeyId, SignedApiFixture.OtherSecret);

        Assert.True(viewer.Member("describeJobQueues").Bool("ok"), viewer.ToString());
        Assert.Equal(("AccessDeniedException", 403L), (viewer.Member("submitJob").Str("name"), viewer.Member("submitJob").Number("status")));
    }

    [Fact]
    public async Task Cli_FailsWithInvalidSignatureException_WhenSignedForAnotherRegion()
    {
        var cli = new AwsCli(portal.Endpoint, SignedApiFixture.AccessKeyId, SignedApiFixture.SecretAccessKey);

        var error = await cli.FailsAsync("InvalidSignatureException", "batch", "describe-job-queues", "--region", "eu-west-1");

        Assert.Contains("region eu-west-1", error, StringComparison.Ordinal);
    }

    private static async Task<(string Queue, string Definition)> StageAsync(AwsCli admin)
    {
        var ce = PortalFixture.Unique("ce-roles");
        var queue = PortalFixture.Unique("q-roles");
        var definition = PortalFixture.Unique("d-roles");
        await admin.OkAsync("batch", "create-compute-environment", "--compute-environment-name", ce, "--type", "UNMANAGED", "--unmanagedv-cpus", "2", "--state", "DISABLED");
        await admin.OkAsync("batch", "create-job-queue", "--job-queue-name", queue, "--priority", "1", "--compute-environment-order", $"order=1,computeEnvironment={ce}");
        await admin.OkAsync("batch", "register-job-definition", "--job-definition-name", definition, "--type", "container", "--container-properties", "image=busybox,vcpus=1,memory=64");
        return (queue, definition);
    }
}
