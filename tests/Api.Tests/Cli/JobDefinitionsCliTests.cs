using BatchPortal.Api.Tests.Support;

namespace BatchPortal.Api.Tests.Cli;

/// <summary>RegisterJobDefinition, DescribeJobDefinitions and DeregisterJobDefinition through the aws CLI.</summary>
[Collection(CliResourcesCollection.Name)]
[Trait("Category", "Api")]
public sealed class JobDefinitionsCliTests(ApiFixture portal)
{
    private const string ArnPrefix = "arn:aws:batch:us-east-1:000000000000:job-definition/";

    private AwsCli Cli => portal.Cli;

    [Fact]
    public async Task RegisterJobDefinition_NumbersRevisionsThatDescribeFinds_WhenAskedByNameRevisionArnOrStatus()
    {
        var name = PortalFixture.Unique("jd-rev");

        var first = await RegisterAsync(name, "one");
        var second = await RegisterAsync(name, "two");

        Assert.Equal(1, first.Number("revision"));
        Assert.Equal(2, second.Number("revision"));
        Assert.Equal($"{ArnPrefix}{name}:2", second.Str("jobDefinitionArn"));

        var byName = (await Cli.OkAsync("batch", "describe-job-definitions", "--job-definition-name", name)).Items("jobDefinitions");
        Assert.Equal([1L, 2L], byName.Select(d => d.Number("revision")).Order());

        var byRevision = Assert.Single((await Cli.OkAsync("batch", "describe-job-definitions", "--job-definitions", $"{name}:1")).Items("jobDefinitions"));
        Assert.Equal("ACTIVE", byRevision.Str("status"));
        Assert.Equal("container", byRevision.Str("type"));
        Assert.Equal(["echo", "one"], byRevision.Member("containerProperties").Items("command").Select(c => c.GetString()));

        var byArn = Assert.Single((await Cli.OkAsync("batch", "describe-job-definitions", "--job-definitions", $"{ArnPrefix}{name}:2")).Items("jobDefinitions"));
        Assert.Equal(["echo", "two"], byArn.Member("containerProperties").Items("command").Select(c => c.GetString()));

        var active = (await Cli.OkAsync("batch", "describe-job-definitions", "--job-definition-name", name, "--status", "ACTIVE")).Items("jobDefinitions");
        Assert.Equal(2, active.Length);
        Assert.Empty((await Cli.OkAsync("batch", "describe-job-definitions", "--job-definition-name", name, "--status", "INACTIVE")).Items("jobDefinitions"));
    }

    [Fact]
    public async Task DeregisterJobDefinition_KeepsTheNumberTaken_WhenTheRevisionBecomesInactive()
    {
        var name = PortalFixture.Unique("jd-dereg");
        await portal.Api.RegisterJobDefinitionAsync(name, "echo", "one");
        await portal.Api.RegisterJobDefinitionAsync(name, "echo", "two");

        var deregistered = await Cli.OkAsync("batch", "deregister-job-definition", "--job-definition", $"{ArnPrefix}{name}:2");
        var third = await RegisterAsync(name, "three");

        Assert.Equal("{}", deregistered.GetRawText());
        Assert.Equal(3, third.Number("revision"));
        var inactive = Assert.Single((await Cli.OkAsync("batch", "describe-job-definitions", "--job-definition-name", name, "--status", "INACTIVE")).Items("jobDefinitions"));
        Assert.Equal(2, inactive.Number("revision"));
        var active = (await Cli.OkAsync("batch", "describe-job-definitions", "--job-definition-name", name, "--status", "ACTIVE")).Items("jobDefinitions");
        Assert.Equal([1L, 3L], active.Select(d => d.Number("revision")).Order());
    }

    [Fact]
    public async Task RegisterJobDefinition_FailsWithClientException_WhenTheImageIsMissing()
    {
        var name = PortalFixture.Unique("jd-noimage");

        var error = await Cli.FailsAsync(
            "ClientException",
            "batch", "register-job-definition", "--job-definition-name", name, "--type", "container",
            "--container-properties", """{"command":["true"],"resourceRequirements":[{"type":"VCPU","value":"1"},{"type":"MEMORY","value":"64"}]}""");

        Assert.Contains("image", error, StringComparison.OrdinalIgnoreCase);
        Assert.Empty((await portal.Api.OkAsync("describejobdefinitions", new { jobDefinitionName = name })).Items("jobDefinitions"));
    }

    private Task<System.Text.Json.JsonElement> RegisterAsync(string name, string word) =>
        Cli.OkAsync(
            "batch", "register-job-definition", "--job-definition-name", name, "--type", "container",
            "--container-properties",
            $$"""{"image":"{{BatchHttp.Image}}","command":["echo","{{word}}"],"resourceRequirements":[{"type":"VCPU","value":"1"},{"type":"MEMORY","value":"64"}]}""");
}
