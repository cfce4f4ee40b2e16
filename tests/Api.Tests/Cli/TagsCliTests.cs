using BatchPortal.Api.Tests.Support;

namespace BatchPortal.Api.Tests.Cli;

/// <summary>
/// TagResource, UntagResource and ListTagsForResource through the aws CLI, which puts the ARN percent-encoded in the
/// path (<c>/v1/tags/arn%3Aaws%3Abatch%3A...%2Fname</c>).
/// </summary>
[Collection(CliResourcesCollection.Name)]
[Trait("Category", "Api")]
public sealed class TagsCliTests(ApiFixture portal)
{
    private AwsCli Cli => portal.Cli;

    public static TheoryData<string> Resources => ["job queue", "compute environment", "job definition revision", "job"];

    [Theory]
    [MemberData(nameof(Resources))]
    public async Task TagResource_AddsTagsThatUntagResourceRemoves_WhenTheArnIsPercentEncodedInThePath(string resource)
    {
        var arn = await CreateAsync(resource);

        await Cli.OkAsync("batch", "tag-resource", "--resource-arn", arn, "--tags", "team=batch,cost-center=42,stage=test");
        var tagged = await Cli.OkAsync("batch", "list-tags-for-resource", "--resource-arn", arn);
        await Cli.OkAsync("batch", "untag-resource", "--resource-arn", arn, "--tag-keys", "stage", "cost-center");
        var untagged = await Cli.OkAsync("batch", "list-tags-for-resource", "--resource-arn", arn);

        Assert.Equal(
            [("cost-center", "42"), ("stage", "test"), ("team", "batch")],
            tagged.Member("tags").EnumerateObject().Select(t => (t.Name, t.Value.GetString()!)).OrderBy(t => t.Name, StringComparer.Ordinal));
        Assert.Equal([("team", "batch")], untagged.Member("tags").EnumerateObject().Select(t => (t.Name, t.Value.GetString()!)));
    }

    [Fact]
    public async Task ListTagsForResource_FailsWithClientException_WhenTheResourceDoesNotExist()
    {
        var arn = $"arn:aws:batch:us-east-1:000000000000:job-queue/{PortalFixture.Unique("q-none")}";

        var error = await Cli.FailsAsync("ClientException", "batch", "list-tags-for-resource", "--resource-arn", arn);

        Assert.Contains(arn.Split('/')[^1], error, StringComparison.Ordinal);
    }

    private async Task<string> CreateAsync(string resource)
    {
        var ce = PortalFixture.Unique("ce-tag");
        var ceArn = await portal.Api.CreateComputeEnvironmentAsync(ce);
        if (resource == "compute environment")
        {
            return ceArn;
        }

        var queueArn = await portal.Api.CreateJobQueueAsync(PortalFixture.Unique("q-tag"), ce);
        if (resource == "job queue")
        {
            return queueArn;
        }

        var definitionArn = await portal.Api.RegisterJobDefinitionAsync(PortalFixture.Unique("jd-tag"), "true");
        if (resource == "job definition revision")
        {
            return definitionArn;
        }

        var submitted = await portal.Api.OkAsync("submitjob", new { jobName = "tagged", jobQueue = queueArn, jobDefinition = definitionArn });
        return submitted.Str("jobArn");
    }
}
