using BatchPortal.Engine.Domain;
using BatchPortal.Engine.Resources;

namespace BatchPortal.Engine.Tests.Resources;

public class JobDefinitionServiceTests
{
    private static RegisterJobDefinitionRequest Definition() => new()
    {
        JobDefinitionName = "hello",
        Type = "container",
        ContainerProperties = new ContainerProperties
        {
            Image = "public.ecr.aws/docker/library/busybox:1.36",
            Command = ["echo", "Ref::greeting"],
            Environment = [new EnvironmentVariable { Name = "MODE", Value = "test" }],
            ResourceRequirements =
            [
                new ResourceRequirement { Type = "VCPU", Value = "1" },
                new ResourceRequirement { Type = "MEMORY", Value = "2048" },
            ],
        },
        Parameters = new() { ["greeting"] = "hi" },
    };

    private static RetryStrategy Retry(int? attempts, int conditions = 0, string action = "RETRY") => new()
    {
        Attempts = attempts,
        EvaluateOnExit = [.. Enumerable.Range(0, conditions).Select(i => new EvaluateOnExit { OnExitCode = $"{i}*", Action = action })],
    };

    [Fact]
    public void Validate_ReturnsNoErrors_WhenRequestIsValid()
    {
        var request = Definition();
        request.RetryStrategy = Retry(10, conditions: 5);
        request.Timeout = new JobTimeout { AttemptDurationSeconds = 60 };
        request.SchedulingPriority = 9999;

        FieldErrorAssert.None(JobDefinitionService.Validate(request));
    }

    [Fact]
    public void Validate_RefusesName_WhenItBreaksNamingRules()
    {
        var request = Definition();
        request.JobDefinitionName = "hello:1";

        FieldErrorAssert.Single(JobDefinitionService.Validate(request), "jobDefinitionName", "'hello:1'");
    }

    [Fact]
    public void Validate_RefusesType_WhenNotContainer()
    {
        var request = Definition();
        request.Type = "multinode";

        FieldErrorAssert.Single(JobDefinitionService.Validate(request), "type", "'multinode'");
    }

    [Fact]
    public void Validate_RequiresType_WhenMissing()
    {
        var request = Definition();
        request.Type = null;

        FieldErrorAssert.Single(JobDefinitionService.Validate(request), "type", "container");
    }

    [Fact]
    public void Validate_RequiresContainerProperties_WhenMissing()
    {
        var request = Definition();
        request.ContainerProperties = null;

        FieldErrorAssert.Single(JobDefinitionService.Validate(request), "containerProperties");
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("   ")]
    public void Validate_RequiresImage_WhenMissing(string? image)
    {
        var request = Definition();
        request.ContainerProperties!.Image = image;

        FieldErrorAssert.Single(JobDefinitionService.Validate(request), "containerProperties.image", "required");
    }

    [Theory]
    [InlineData("busybox latest")]
    [InlineData("busybox!")]
    [InlineData("ubuntu;rm -rf")]
    public void Validate_RefusesImage_WhenItHasCharactersOutsideTheAllowedSet(string image)
    {
        var request = Definition();
        request.ContainerProperties!.Image = image;

        FieldErrorAssert.Single(JobDefinitionService.Validate(request), "containerProperties.image", $"'{image}'");
    }

    [Fact]
    public void Validate_RefusesImage_WhenLongerThan255Characters()
    {
        var image = "registry.example.com/" + new string('a', 240);
        var request = Definition();
        request.ContainerProperties!.Image = image;

        FieldErrorAssert.Single(JobDefinitionService.Validate(request), "containerProperties.image", image, "255");
    }

    [Theory]
    [InlineData("busybox")]
    [InlineData("123456789012.dkr.ecr.us-east-1.amazonaws.com/team/app:v1.2_3")]
    [InlineData("busybox@sha256:abcdef0123456789")]
    [InlineData("localhost:5000/app")]
    public void Validate_AcceptsImage_WhenItUsesTheAllowedCharacters(string image)
    {
        var request = Definition();
        request.ContainerProperties!.Image = image;

        FieldErrorAssert.None(JobDefinitionService.Validate(request));
    }

    [Theory]
    [InlineData("AWS_BATCH_JOB_ID")]
    [InlineData("AWS_BATCH")]
    [InlineData("AWS_BATCHY")]
    public void Validate_RefusesEnvironmentName_WhenItStartsWithAwsBatch(string name)
    {
        var request = Definition();
        request.ContainerProperties!.Environment.Add(new EnvironmentVariable { Name = name, Value = "x" });

        FieldErrorAssert.Single(JobDefinitionService.Validate(request), "containerProperties.environment", name);
    }

    [Fact]
    public void Validate_RefusesEnvironmentName_WhenGivenTwice()
    {
        var request = Definition();
        request.ContainerProperties!.Environment.Add(new EnvironmentVariable { Name = "MODE", Value = "again" });

        FieldErrorAssert.Single(JobDefinitionService.Validate(request), "containerProperties.environment", "MODE");
    }

    [Theory]
    [InlineData(0)]
    [InlineData(11)]
    [InlineData(-1)]
    public void Validate_RefusesAttempts_WhenOutside1To10(int attempts)
    {
        var request = Definition();
        request.RetryStrategy = Retry(attempts);

        FieldErrorAssert.Single(JobDefinitionService.Validate(request), "retryStrategy.attempts", $"not {attempts}");
    }

    [Theory]
    [InlineData(1)]
    [InlineData(10)]
    public void Validate_AcceptsAttempts_WhenAtTheBounds(int attempts)
    {
        var request = Definition();
        request.RetryStrategy = Retry(attempts);

        FieldErrorAssert.None(JobDefinitionService.Validate(request));
    }

    [Fact]
    public void Validate_RefusesEvaluateOnExit_WhenMoreThanFiveConditions()
    {
        var request = Definition();
        request.RetryStrategy = Retry(3, conditions: 6);

        FieldErrorAssert.Single(JobDefinitionService.Validate(request), "retryStrategy.evaluateOnExit", "At most 5", "6 given");
    }

    [Theory]
    [InlineData("MAYBE")]
    [InlineData("")]
    public void Validate_RefusesEvaluateOnExitAction_WhenNotRetryOrExit(string action)
    {
        var request = Definition();
        request.RetryStrategy = Retry(3, conditions: 1, action: action);

        FieldErrorAssert.Single(JobDefinitionService.Validate(request), "retryStrategy.evaluateOnExit[0].action", $"'{action}'");
    }

    [Theory]
    [InlineData("retry")]
    [InlineData("Exit")]
    public void Validate_AcceptsEvaluateOnExitAction_InAnyCase(string action)
    {
        var request = Definition();
        request.RetryStrategy = Retry(3, conditions: 1, action: action);

        FieldErrorAssert.None(JobDefinitionService.Validate(request));
    }

    [Fact]
    public void Validate_RefusesExitCodePattern_WhenItIsNotDigitsWithOptionalTrailingStar()
    {
        var request = Definition();
        request.RetryStrategy = new RetryStrategy { Attempts = 2, EvaluateOnExit = [new EvaluateOnExit { OnExitCode = "1*2", Action = "EXIT" }] };

        FieldErrorAssert.Single(JobDefinitionService.Validate(request), "retryStrategy.evaluateOnExit[0].onExitCode", "'1*2'");
    }

    [Fact]
    public void Validate_RefusesRetryConditions_WhenAttemptsAreMissing()
    {
        var request = Definition();
        request.RetryStrategy = Retry(null, conditions: 1);

        FieldErrorAssert.Single(JobDefinitionService.Validate(request), "retryStrategy.attempts");
    }

    [Theory]
    [InlineData(59)]
    [InlineData(0)]
    public void Validate_RefusesTimeout_WhenUnder60Seconds(int seconds)
    {
        var request = Definition();
        request.Timeout = new JobTimeout { AttemptDurationSeconds = seconds };

        FieldErrorAssert.Single(JobDefinitionService.Validate(request), "timeout.attemptDurationSeconds", $"not {seconds}");
    }

    [Theory]
    [InlineData("3")]
    [InlineData("0")]
    [InlineData("lots")]
    [InlineData("1.5")]
    public void Validate_RefusesMemoryRequirement_WhenNotAWholeNumberOfAtLeast4MiB(string memory)
    {
        var request = Definition();
        request.ContainerProperties!.SetRequirement("MEMORY", memory);

        FieldErrorAssert.Single(JobDefinitionService.Validate(request), "containerProperties.memory", $"'{memory}'");
    }

    [Fact]
    public void Validate_RefusesLegacyMemory_WhenUnder4MiB()
    {
        var request = Definition();
        request.ContainerProperties!.ResourceRequirements.Clear();
        request.ContainerProperties.Memory = 3;

        FieldErrorAssert.Single(JobDefinitionService.Validate(request), "containerProperties.memory", "not 3");
    }

    [Fact]
    public void Validate_AcceptsMemory_WhenExactly4MiB()
    {
        var request = Definition();
        request.ContainerProperties!.SetRequirement("MEMORY", "4");

        FieldErrorAssert.None(JobDefinitionService.Validate(request));
    }

    [Theory]
    [InlineData("0")]
    [InlineData("-1")]
    [InlineData("one")]
    public void Validate_RefusesVcpuRequirement_WhenNotAPositiveNumber(string vcpus)
    {
        var request = Definition();
        request.ContainerProperties!.SetRequirement("VCPU", vcpus);

        FieldErrorAssert.Single(JobDefinitionService.Validate(request), "containerProperties.vcpus", $"'{vcpus}'");
    }

    [Fact]
    public void Validate_RefusesMountPoint_WhenItsVolumeIsNotDefined()
    {
        var request = Definition();
        request.ContainerProperties!.MountPoints.Add(new MountPoint { SourceVolume = "data", ContainerPath = "/data" });

        FieldErrorAssert.Single(JobDefinitionService.Validate(request), "containerProperties.mountPoints", "'data'");
    }

    [Fact]
    public void Validate_RefusesSchedulingPriority_WhenOutside0To9999()
    {
        var request = Definition();
        request.SchedulingPriority = 10_000;

        FieldErrorAssert.Single(JobDefinitionService.Validate(request), "schedulingPriority", "10000");
    }
}
