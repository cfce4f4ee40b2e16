using System.Text.Json;
using BatchPortal.Api.Tests.Support;

namespace BatchPortal.Api.Tests.JsSdk;

/// <summary>
/// Compute environments, job queues and job definitions through <c>@aws-sdk/client-batch</c>: the <c>resources</c>
/// scenario of <c>js/batch-scenario.mjs</c> runs the calls, this test reads what the SDK returned.
/// </summary>
[Collection(JsSdkCollection.Name)]
[Trait("Category", "Api")]
public sealed class ResourcesSdkTests(ApiFixture portal)
{
    private const string Arns = "arn:aws:batch:us-east-1:000000000000:";

    [Fact]
    public async Task ResourcesScenario_CreatesDescribesUpdatesAndDeletesAsAwsDoes_WhenDrivenByTheJsSdk()
    {
        var prefix = PortalFixture.Unique("js");

        var r = await NodeScenario.RunAsync(portal.Endpoint, "resources", new { prefix });

        // Compute environments
        Assert.Equal($"{Arns}compute-environment/{prefix}-managed", r.Member("createManaged").Str("computeEnvironmentArn"));
        var managed = Assert.Single(r.Member("describeByName").Items("computeEnvironments"));
        Assert.Equal("MANAGED", managed.Str("type"));
        Assert.Equal("VALID", managed.Str("status"));
        Assert.Equal("js", managed.Member("tags").Str("team"));
        var unmanaged = Assert.Single(r.Member("describeByArn").Items("computeEnvironments"));
        Assert.Equal($"{prefix}-unmanaged", unmanaged.Str("computeEnvironmentName"));
        Assert.Equal(4, unmanaged.Number("unmanagedvCpus"));

        var pages = r.Items("pages");
        Assert.All(pages, p => Assert.Single(p.Items("names")));
        var paged = pages.Select(p => p.Items("names")[0].GetString()).ToList();
        Assert.Equal(paged.Count, paged.Distinct().Count());
        Assert.Contains($"{prefix}-managed", paged);
        Assert.Contains($"{prefix}-unmanaged", paged);
        Assert.Equal(JsonValueKind.Null, pages[^1].Member("nextToken").ValueKind);

        var updated = r.Member("afterUpdate").Items("computeEnvironments");
        Assert.Equal(16, updated.Single(c => c.Str("computeEnvironmentName") == $"{prefix}-managed").Member("computeResources").Number("maxvCpus"));
        Assert.Equal("DISABLED", updated.Single(c => c.Str("computeEnvironmentName") == $"{prefix}-unmanaged").Str("state"));

        // Job queues
        var queue = Assert.Single(r.Member("describeQueue").Items("jobQueues"));
        Assert.Equal(
            [$"{Arns}compute-environment/{prefix}-managed", $"{Arns}compute-environment/{prefix}-unmanaged"],
            queue.Items("computeEnvironmentOrder").OrderBy(o => o.Number("order")).Select(o => o.Str("computeEnvironment")));
        AssertClientError(r.Member("deleteUsedEnvironment"), $"{prefix}-queue");
        AssertClientError(r.Member("deleteEnabledQueue"), $"{prefix}-queue");
        var disabledQueue = Assert.Single(r.Member("afterQueueUpdate").Items("jobQueues"));
        Assert.Equal(7, disabledQueue.Number("priority"));
        Assert.Equal("DISABLED", disabledQueue.Str("state"));
        Assert.True(r.Member("deleteQueue").Bool("ok"), r.Member("deleteQueue").ToString());
        Assert.Empty(r.Member("afterQueueDelete").Items("jobQueues"));

        AssertClientError(r.Member("deleteEnabledEnvironment"), $"{prefix}-managed");
        Assert.True(r.Member("deleteManaged").Bool("ok"), r.Member("deleteManaged").ToString());
        Assert.True(r.Member("deleteUnmanaged").Bool("ok"), r.Member("deleteUnmanaged").ToString());
        Assert.Empty(r.Member("afterDelete").Items("computeEnvironments"));

        // Job definitions
        Assert.Equal(1, r.Member("register1").Number("revision"));
        Assert.Equal(2, r.Member("register2").Number("revision"));
        Assert.Equal([1L, 2L], r.Member("describeDefinitionsByName").Items("jobDefinitions").Select(d => d.Number("revision")).Order());
        Assert.Equal(1, Assert.Single(r.Member("describeDefinitionByRevision").Items("jobDefinitions")).Number("revision"));
        Assert.Equal(2, Assert.Single(r.Member("describeActive").Items("jobDefinitions")).Number("revision"));
        var inactive = Assert.Single(r.Member("describeInactive").Items("jobDefinitions"));
        Assert.Equal((1L, "INACTIVE"), (inactive.Number("revision"), inactive.Str("status")));
        Assert.Equal(3, r.Member("register3").Number("revision"));

        // Errors, as the SDK parsed them
        var errors = r.Member("errors");
        AssertClientError(errors.Member("minAboveMax"), "Minimum vCPUs (8) cannot be more than Maximum vCPUs (2)");
        AssertClientError(errors.Member("badName"), "'not a valid name!'");
        AssertClientError(errors.Member("missingQueue"), $"{prefix}-no-such-queue");
        AssertClientError(errors.Member("tooManyJobs"), "100");
    }

    internal static void AssertClientError(JsonElement outcome, string messagePart)
    {
        Assert.False(outcome.Bool("ok"), $"Expected a ClientException, got {outcome}");
        Assert.Equal("ClientException", outcome.Str("name"));
        Assert.Equal(400, outcome.Number("status"));
        Assert.Contains(messagePart, outcome.Str("message"), StringComparison.Ordinal);
    }
}
