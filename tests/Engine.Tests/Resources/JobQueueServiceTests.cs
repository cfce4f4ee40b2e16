using BatchPortal.Engine.Domain;
using BatchPortal.Engine.Resources;

namespace BatchPortal.Engine.Tests.Resources;

public class JobQueueServiceTests
{
    private static CreateJobQueueRequest Queue(params string[] computeEnvironments) => new()
    {
        JobQueueName = "q-main",
        Priority = 10,
        ComputeEnvironmentOrder = [.. (computeEnvironments.Length == 0 ? ["ce-a"] : computeEnvironments)
            .Select((ce, i) => new ComputeEnvironmentOrder { Order = i + 1, ComputeEnvironment = ce })],
    };

    private static JobStateTimeLimitAction TimeLimit(int seconds) => new()
    {
        Reason = "CAPACITY:INSUFFICIENT_INSTANCE_CAPACITY",
        State = "RUNNABLE",
        MaxTimeSeconds = seconds,
        Action = "CANCEL",
    };

    [Fact]
    public void Validate_ReturnsNoErrors_WhenRequestIsValid()
    {
        var request = Queue("ce-a", "ce-b", "ce-c");
        request.State = "ENABLED";
        request.JobStateTimeLimitActions = [TimeLimit(600), TimeLimit(86_400)];
        request.Tags = new() { ["team"] = "data" };

        FieldErrorAssert.None(JobQueueService.Validate(request));
    }

    [Theory]
    [InlineData(null, "required")]
    [InlineData("my queue", "'my queue'")]
    public void Validate_RefusesName_WhenItBreaksNamingRules(string? name, string mention)
    {
        var request = Queue();
        request.JobQueueName = name;

        FieldErrorAssert.Single(JobQueueService.Validate(request), "jobQueueName", mention);
    }

    [Fact]
    public void Validate_RequiresPriority_WhenMissing()
    {
        var request = Queue();
        request.Priority = null;

        FieldErrorAssert.Single(JobQueueService.Validate(request), "priority", "required");
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(1001)]
    public void Validate_RefusesPriority_WhenOutside0To1000(int priority)
    {
        var request = Queue();
        request.Priority = priority;

        FieldErrorAssert.Single(JobQueueService.Validate(request), "priority", $"not {priority}");
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1000)]
    public void Validate_AcceptsPriority_WhenAtTheBounds(int priority)
    {
        var request = Queue();
        request.Priority = priority;

        FieldErrorAssert.None(JobQueueService.Validate(request));
    }

    [Fact]
    public void Validate_RefusesState_WhenNotEnabledOrDisabled()
    {
        var request = Queue();
        request.State = "OPEN";

        FieldErrorAssert.Single(JobQueueService.Validate(request), "state", "'OPEN'");
    }

    [Fact]
    public void Validate_RequiresAComputeEnvironment_WhenNoneConnected()
    {
        var request = Queue();
        request.ComputeEnvironmentOrder = [];

        FieldErrorAssert.Single(JobQueueService.Validate(request), "computeEnvironmentOrder", "at least one");
    }

    [Fact]
    public void Validate_RefusesComputeEnvironments_WhenMoreThanThree()
    {
        FieldErrorAssert.Single(JobQueueService.Validate(Queue("a", "b", "c", "d")), "computeEnvironmentOrder", "at most 3", "4 given");
    }

    [Fact]
    public void Validate_RefusesComputeEnvironment_WhenConnectedTwice()
    {
        FieldErrorAssert.Single(JobQueueService.Validate(Queue("ce-a", "ce-b", "ce-a")), "computeEnvironmentOrder", "ce-a");
    }

    [Fact]
    public void Validate_RefusesComputeEnvironment_WhenConnectedTwiceByNameAndArn()
    {
        var request = Queue("ce-a", "arn:aws:batch:us-east-1:000000000000:compute-environment/ce-a");

        FieldErrorAssert.Single(JobQueueService.Validate(request), "computeEnvironmentOrder", "ce-a");
    }

    [Fact]
    public void Validate_RefusesOrder_WhenTwoComputeEnvironmentsShareIt()
    {
        var request = Queue("ce-a", "ce-b");
        request.ComputeEnvironmentOrder[1].Order = 1;

        FieldErrorAssert.Single(JobQueueService.Validate(request), "computeEnvironmentOrder", "order", "1");
    }

    [Theory]
    [InlineData(0)]
    [InlineData(599)]
    [InlineData(86_401)]
    public void Validate_RefusesTimeLimitAction_WhenMaxTimeOutside600To86400(int seconds)
    {
        var request = Queue();
        request.JobStateTimeLimitActions = [TimeLimit(seconds)];

        FieldErrorAssert.Single(
            JobQueueService.Validate(request),
            "jobStateTimeLimitActions[0].maxTimeSeconds",
            $"not {seconds.ToString(System.Globalization.CultureInfo.InvariantCulture)}");
    }

    [Fact]
    public void Validate_NamesTheActionIndex_WhenALaterTimeLimitActionIsBad()
    {
        var request = Queue();
        request.JobStateTimeLimitActions = [TimeLimit(600), TimeLimit(100)];

        FieldErrorAssert.Single(JobQueueService.Validate(request), "jobStateTimeLimitActions[1].maxTimeSeconds", "100");
    }

    [Fact]
    public void Validate_RefusesTimeLimitReason_WhenNotOneOfTheBatchReasons()
    {
        var request = Queue();
        request.JobStateTimeLimitActions = [TimeLimit(600)];
        request.JobStateTimeLimitActions[0].Reason = "SLOW";

        FieldErrorAssert.Single(JobQueueService.Validate(request), "jobStateTimeLimitActions[0].reason", "'SLOW'");
    }

    [Fact]
    public void Validate_RefusesTimeLimitState_WhenNotRunnable()
    {
        var request = Queue();
        request.JobStateTimeLimitActions = [TimeLimit(600)];
        request.JobStateTimeLimitActions[0].State = "STARTING";

        FieldErrorAssert.Single(JobQueueService.Validate(request), "jobStateTimeLimitActions[0].state", "'STARTING'");
    }

    [Fact]
    public void Validate_RefusesTimeLimitAction_WhenNotCancel()
    {
        var request = Queue();
        request.JobStateTimeLimitActions = [TimeLimit(600)];
        request.JobStateTimeLimitActions[0].Action = "TERMINATE";

        FieldErrorAssert.Single(JobQueueService.Validate(request), "jobStateTimeLimitActions[0].action", "'TERMINATE'");
    }

    [Fact]
    public void Validate_RefusesTags_WhenKeyStartsWithAws()
    {
        var request = Queue();
        request.Tags = new() { ["AWS:x"] = "y" };

        FieldErrorAssert.Single(JobQueueService.Validate(request), "tags", "'AWS:x'");
    }
}
