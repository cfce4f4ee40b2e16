using BatchPortal.Api.Tests.Support;

namespace BatchPortal.Api.Tests.Cli;

/// <summary>CreateComputeEnvironment, UpdateComputeEnvironment, DeleteComputeEnvironment and DescribeComputeEnvironments through the aws CLI.</summary>
[Collection(CliResourcesCollection.Name)]
[Trait("Category", "Api")]
public sealed class ComputeEnvironmentsCliTests(ApiFixture portal)
{
    private const string ArnPrefix = "arn:aws:batch:us-east-1:000000000000:compute-environment/";

    private AwsCli Cli => portal.Cli;

    [Fact]
    public async Task CreateComputeEnvironment_ReturnsNameAndArn_WhenManagedOrUnmanaged()
    {
        var managed = PortalFixture.Unique("ce-m");
        var unmanaged = PortalFixture.Unique("ce-u");

        // The CLI checks the model's required members itself, so a managed environment names a subnet.
        var createdManaged = await Cli.OkAsync(
            "batch", "create-compute-environment", "--compute-environment-name", managed, "--type", "MANAGED",
            "--compute-resources", "type=EC2,minvCpus=0,maxvCpus=8,subnets=subnet-1", "--tags", "team=api");
        var createdUnmanaged = await Cli.OkAsync(
            "batch", "create-compute-environment", "--compute-environment-name", unmanaged, "--type", "UNMANAGED", "--unmanagedv-cpus", "4");

        Assert.Equal(managed, createdManaged.Str("computeEnvironmentName"));
        Assert.Equal(ArnPrefix + managed, createdManaged.Str("computeEnvironmentArn"));
        Assert.Equal(ArnPrefix + unmanaged, createdUnmanaged.Str("computeEnvironmentArn"));

        var byName = Assert.Single((await Cli.OkAsync("batch", "describe-compute-environments", "--compute-environments", managed)).Items("computeEnvironments"));
        Assert.Equal("MANAGED", byName.Str("type"));
        Assert.Equal("ENABLED", byName.Str("state"));
        Assert.Equal("VALID", byName.Str("status"));
        Assert.Equal(8, byName.Member("computeResources").Number("maxvCpus"));
        Assert.Equal("api", byName.Member("tags").Str("team"));

        var byArn = Assert.Single((await Cli.OkAsync("batch", "describe-compute-environments", "--compute-environments", ArnPrefix + unmanaged)).Items("computeEnvironments"));
        Assert.Equal(unmanaged, byArn.Str("computeEnvironmentName"));
        Assert.Equal("UNMANAGED", byArn.Str("type"));
        Assert.Equal(4, byArn.Number("unmanagedvCpus"));

        var all = (await Cli.OkAsync("batch", "describe-compute-environments")).Items("computeEnvironments").Select(c => c.Str("computeEnvironmentName")).ToList();
        Assert.Contains(managed, all);
        Assert.Contains(unmanaged, all);
    }

    [Fact]
    public async Task DescribeComputeEnvironments_ReturnsEachOnce_WhenPagedOneAtATime()
    {
        for (var i = 0; i < 3; i++)
        {
            await portal.Api.CreateComputeEnvironmentAsync(PortalFixture.Unique($"ce-p{i}"));
        }

        var all = (await Cli.OkAsync("batch", "describe-compute-environments")).Items("computeEnvironments").Select(c => c.Str("computeEnvironmentName")).ToList();

        // By hand: maxResults=1, then the nextToken the first page gave.
        var first = await Cli.OkAsync("batch", "describe-compute-environments", "--max-results", "1");
        var second = await Cli.OkAsync("batch", "describe-compute-environments", "--max-results", "1", "--next-token", first.Str("nextToken"));
        Assert.Equal(all[0], Assert.Single(first.Items("computeEnvironments")).Str("computeEnvironmentName"));
        Assert.Equal(all[1], Assert.Single(second.Items("computeEnvironments")).Str("computeEnvironmentName"));

        // The CLI's own paginator: one request per environment, following nextToken until it is absent.
        var paged = (await Cli.OkAsync("batch", "describe-compute-environments", "--page-size", "1")).Items("computeEnvironments").Select(c => c.Str("computeEnvironmentName")).ToList();
        Assert.Equal(all, paged);
        Assert.Equal(paged.Count, paged.Distinct().Count());
    }

    [Fact]
    public async Task UpdateComputeEnvironment_ChangesStateAndMaxvCpus_WhenNamedByNameOrArn()
    {
        var name = PortalFixture.Unique("ce-upd");
        await portal.Api.CreateComputeEnvironmentAsync(name, maxvCpus: 4);

        var disabled = await Cli.OkAsync("batch", "update-compute-environment", "--compute-environment", name, "--state", "DISABLED");
        var resized = await Cli.OkAsync("batch", "update-compute-environment", "--compute-environment", ArnPrefix + name, "--compute-resources", "maxvCpus=32");

        Assert.Equal(ArnPrefix + name, disabled.Str("computeEnvironmentArn"));
        Assert.Equal(name, resized.Str("computeEnvironmentName"));
        var ce = Assert.Single((await Cli.OkAsync("batch", "describe-compute-environments", "--compute-environments", name)).Items("computeEnvironments"));
        Assert.Equal("DISABLED", ce.Str("state"));
        Assert.Equal(32, ce.Member("computeResources").Number("maxvCpus"));
    }

    [Fact]
    public async Task DeleteComputeEnvironment_IsRefusedNamingTheQueue_WhenAQueueUsesIt()
    {
        var name = PortalFixture.Unique("ce-used");
        var queue = PortalFixture.Unique("q-user");
        await portal.Api.CreateComputeEnvironmentAsync(name, state: "DISABLED");
        await portal.Api.CreateJobQueueAsync(queue, name);

        var error = await Cli.FailsAsync("ClientException", "batch", "delete-compute-environment", "--compute-environment", name);

        Assert.Contains(queue, error, StringComparison.Ordinal);
        Assert.Single(await DescribeAsync(name));
    }

    [Fact]
    public async Task DeleteComputeEnvironment_IsRefused_WhenEnabled()
    {
        var name = PortalFixture.Unique("ce-on");
        await portal.Api.CreateComputeEnvironmentAsync(name);

        var error = await Cli.FailsAsync("ClientException", "batch", "delete-compute-environment", "--compute-environment", name);

        Assert.Contains(name, error, StringComparison.Ordinal);
        Assert.Contains("disable", error, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task DeleteComputeEnvironment_RemovesIt_WhenDisabledAndDetached()
    {
        var name = PortalFixture.Unique("ce-del");
        var other = PortalFixture.Unique("ce-keep");
        var queue = PortalFixture.Unique("q-move");
        await portal.Api.CreateComputeEnvironmentAsync(name);
        await portal.Api.CreateComputeEnvironmentAsync(other);
        await portal.Api.CreateJobQueueAsync(queue, name);

        await portal.Api.OkAsync("updatejobqueue", new { jobQueue = queue, computeEnvironmentOrder = new[] { new { order = 1, computeEnvironment = other } } });
        await Cli.OkAsync("batch", "update-compute-environment", "--compute-environment", name, "--state", "DISABLED");
        var deleted = await Cli.OkAsync("batch", "delete-compute-environment", "--compute-environment", ArnPrefix + name);

        Assert.Equal("{}", deleted.GetRawText());
        Assert.Empty(await DescribeAsync(name));
    }

    [Fact]
    public async Task CreateComputeEnvironment_FailsWithClientException_WhenMinvCpusExceedsMaxvCpus()
    {
        var name = PortalFixture.Unique("ce-minmax");

        var error = await Cli.FailsAsync(
            "ClientException",
            "batch", "create-compute-environment", "--compute-environment-name", name, "--type", "MANAGED",
            "--compute-resources", "type=EC2,minvCpus=16,maxvCpus=4,subnets=subnet-1");

        Assert.Contains("Minimum vCPUs (16)", error, StringComparison.Ordinal);
        Assert.Contains("Maximum vCPUs (4)", error, StringComparison.Ordinal);
        Assert.Empty(await DescribeAsync(name));
    }

    [Fact]
    public async Task CreateComputeEnvironment_FailsWithClientException_WhenTheNameIsInvalid()
    {
        var error = await Cli.FailsAsync(
            "ClientException",
            "batch", "create-compute-environment", "--compute-environment-name", "no/slashes here", "--type", "UNMANAGED", "--unmanagedv-cpus", "2");

        Assert.Contains("'no/slashes here'", error, StringComparison.Ordinal);
    }

    private async Task<System.Text.Json.JsonElement[]> DescribeAsync(string name) =>
        (await portal.Api.OkAsync("describecomputeenvironments", new { computeEnvironments = new[] { name } })).Items("computeEnvironments");
}
