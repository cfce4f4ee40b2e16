using BatchPortal.Engine.Domain;
using BatchPortal.Engine.Resources;

namespace BatchPortal.Engine.Tests.Resources;

public class ComputeEnvironmentServiceTests
{
    private static CreateComputeEnvironmentRequest Managed(int maxvCpus = 16, int? minvCpus = null, int? desiredvCpus = null) => new()
    {
        ComputeEnvironmentName = "ce-main",
        Type = "MANAGED",
        ComputeResources = new ComputeResources { MaxvCpus = maxvCpus, MinvCpus = minvCpus, DesiredvCpus = desiredvCpus },
    };

    private static CreateComputeEnvironmentRequest Unmanaged(int? vcpus) => new()
    {
        ComputeEnvironmentName = "ce-own",
        Type = "UNMANAGED",
        UnmanagedvCpus = vcpus,
    };

    [Fact]
    public void Validate_ReturnsNoErrors_WhenManagedRequestIsValid()
    {
        var request = Managed(maxvCpus: 16, minvCpus: 0, desiredvCpus: 4);
        request.State = "disabled";
        request.DockerEndpoint = "unix:///var/run/docker.sock";
        request.Tags = new() { ["team"] = "data" };

        FieldErrorAssert.None(ComputeEnvironmentService.Validate(request));
    }

    [Fact]
    public void Validate_ReturnsNoErrors_WhenUnmanagedRequestIsValid()
    {
        FieldErrorAssert.None(ComputeEnvironmentService.Validate(Unmanaged(8)));
    }

    [Theory]
    [InlineData(null, "required")]
    [InlineData("", "required")]
    [InlineData("bad name!", "'bad name!'")]
    [InlineData("ce.dotted", "'ce.dotted'")]
    public void Validate_RefusesName_WhenItBreaksNamingRules(string? name, string mention)
    {
        var request = Managed();
        request.ComputeEnvironmentName = name;

        FieldErrorAssert.Single(ComputeEnvironmentService.Validate(request), "computeEnvironmentName", mention);
    }

    [Fact]
    public void Validate_RefusesName_WhenLongerThan128Characters()
    {
        var request = Managed();
        request.ComputeEnvironmentName = new string('a', 129);

        FieldErrorAssert.Single(ComputeEnvironmentService.Validate(request), "computeEnvironmentName", "128", "129");
    }

    [Fact]
    public void Validate_AcceptsName_WhenExactly128Characters()
    {
        var request = Managed();
        request.ComputeEnvironmentName = new string('a', 128);

        FieldErrorAssert.None(ComputeEnvironmentService.Validate(request));
    }

    [Theory]
    [InlineData("SERVERLESS")]
    [InlineData("FARGATE")]
    public void Validate_RefusesType_WhenNotManagedOrUnmanaged(string type)
    {
        var request = Managed();
        request.Type = type;

        FieldErrorAssert.Single(ComputeEnvironmentService.Validate(request), "type", type);
    }

    [Fact]
    public void Validate_RefusesState_WhenNotEnabledOrDisabled()
    {
        var request = Managed();
        request.State = "PAUSED";

        FieldErrorAssert.Single(ComputeEnvironmentService.Validate(request), "state", "PAUSED");
    }

    [Fact]
    public void Validate_RequiresComputeResources_WhenManaged()
    {
        var request = Managed();
        request.ComputeResources = null;

        FieldErrorAssert.Single(ComputeEnvironmentService.Validate(request), "computeResources");
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-3)]
    public void Validate_RefusesMaxvCpus_WhenNotGreaterThanZero(int maxvCpus)
    {
        var errors = ComputeEnvironmentService.Validate(Managed(maxvCpus: maxvCpus));

        FieldErrorAssert.Single(errors, "computeResources.maxvCpus", $"not {maxvCpus}");
    }

    [Fact]
    public void Validate_RefusesMinvCpus_WhenNegative()
    {
        var errors = ComputeEnvironmentService.Validate(Managed(minvCpus: -1));

        FieldErrorAssert.Single(errors, "computeResources.minvCpus", "-1");
    }

    [Fact]
    public void Validate_RefusesMinvCpus_WhenAboveMaxvCpus()
    {
        var errors = ComputeEnvironmentService.Validate(Managed(maxvCpus: 4, minvCpus: 5));

        FieldErrorAssert.Single(errors, "computeResources.minvCpus", "(5)", "(4)");
    }

    [Fact]
    public void Validate_RefusesDesiredvCpus_WhenAboveMaxvCpus()
    {
        var errors = ComputeEnvironmentService.Validate(Managed(maxvCpus: 4, minvCpus: 0, desiredvCpus: 10));

        FieldErrorAssert.Single(errors, "computeResources.desiredvCpus", "(10)", "(4)");
    }

    [Fact]
    public void Validate_RefusesDesiredvCpus_WhenBelowMinvCpus()
    {
        var errors = ComputeEnvironmentService.Validate(Managed(maxvCpus: 8, minvCpus: 2, desiredvCpus: 1));

        FieldErrorAssert.Single(errors, "computeResources.desiredvCpus", "(1)", "(2)");
    }

    [Theory]
    [InlineData(0, 0, 1)]
    [InlineData(4, 4, 4)]
    [InlineData(0, 16, 16)]
    public void Validate_AcceptsvCpus_WhenMinAtMostDesiredAtMostMax(int min, int desired, int max)
    {
        FieldErrorAssert.None(ComputeEnvironmentService.Validate(Managed(maxvCpus: max, minvCpus: min, desiredvCpus: desired)));
    }

    [Fact]
    public void Validate_RefusesProvisioningModel_WhenNotEc2OrSpot()
    {
        var request = Managed();
        request.ComputeResources!.Type = "FARGATE_SPOT";

        FieldErrorAssert.Single(ComputeEnvironmentService.Validate(request), "computeResources.type", "FARGATE_SPOT");
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(101)]
    public void Validate_RefusesBidPercentage_WhenOutside0To100(int bid)
    {
        var request = Managed();
        request.ComputeResources!.BidPercentage = bid;

        FieldErrorAssert.Single(ComputeEnvironmentService.Validate(request), "computeResources.bidPercentage", bid.ToString(System.Globalization.CultureInfo.InvariantCulture));
    }

    [Fact]
    public void Validate_RequiresUnmanagedCapacity_WhenUnmanagedWithoutvCpus()
    {
        FieldErrorAssert.Single(ComputeEnvironmentService.Validate(Unmanaged(null)), "unmanagedvCpus", "greater than 0");
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-2)]
    public void Validate_RefusesUnmanagedCapacity_WhenNotGreaterThanZero(int vcpus)
    {
        FieldErrorAssert.Single(ComputeEnvironmentService.Validate(Unmanaged(vcpus)), "unmanagedvCpus", $"not {vcpus}");
    }

    [Theory]
    [InlineData("unix:///var/run/docker.sock")]
    [InlineData("tcp://10.0.0.5:2375")]
    [InlineData("https://docker.internal:2376")]
    [InlineData("npipe:////./pipe/docker_engine")]
    [InlineData("")]
    [InlineData(null)]
    public void Validate_AcceptsDockerEndpoint_WhenUnixTcpHttpOrNpipeOrEmpty(string? endpoint)
    {
        var request = Managed();
        request.DockerEndpoint = endpoint;

        FieldErrorAssert.None(ComputeEnvironmentService.Validate(request));
    }

    [Theory]
    [InlineData("ftp://docker.internal")]
    [InlineData("docker.internal:2375")]
    [InlineData("not an address")]
    [InlineData("/var/run/docker.sock")]
    public void Validate_RefusesDockerEndpoint_WhenNotADockerAddress(string endpoint)
    {
        var request = Managed();
        request.DockerEndpoint = endpoint;

        FieldErrorAssert.Single(ComputeEnvironmentService.Validate(request), "dockerEndpoint", $"'{endpoint}'");
    }

    [Fact]
    public void Validate_RefusesTags_WhenMoreThan50()
    {
        var request = Managed();
        request.Tags = Enumerable.Range(1, 51).ToDictionary(i => $"k{i}", i => "v");

        FieldErrorAssert.Single(ComputeEnvironmentService.Validate(request), "tags", "51");
    }

    [Fact]
    public void Validate_RefusesTagKey_WhenItStartsWithAws()
    {
        var request = Managed();
        request.Tags = new() { ["aws:owner"] = "me" };

        FieldErrorAssert.Single(ComputeEnvironmentService.Validate(request), "tags", "'aws:owner'");
    }

    [Fact]
    public void Validate_RefusesTagKey_WhenLongerThan128Characters()
    {
        var key = new string('k', 129);
        var request = Managed();
        request.Tags = new() { [key] = "v" };

        FieldErrorAssert.Single(ComputeEnvironmentService.Validate(request), "tags", key);
    }

    [Fact]
    public void Validate_RefusesTagValue_WhenLongerThan256Characters()
    {
        var request = Managed();
        request.Tags = new() { ["long"] = new string('v', 257) };

        FieldErrorAssert.Single(ComputeEnvironmentService.Validate(request), "tags", "'long'", "256");
    }
}
