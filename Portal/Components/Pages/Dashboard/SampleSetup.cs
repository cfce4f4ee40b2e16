using BatchPortal.Engine.Domain;
using BatchPortal.Engine.Resources;

namespace BatchPortal.Portal.Components.Pages.Dashboard;

/// <summary>
/// The dashboard's one-click sample: a compute environment, a queue and a "hello" definition, made through the same
/// services and rules as the wizards. The image is <c>Portal:SampleImage</c> (default <c>busybox:latest</c>).
/// </summary>
internal sealed class SampleSetup(
    ComputeEnvironmentService environments,
    JobQueueService queues,
    JobDefinitionService definitions,
    IConfiguration configuration)
{
    public const string EnvironmentName = "sample-environment";
    public const string QueueName = "sample-queue";
    public const string DefinitionName = "sample-hello";

    public string Image => configuration["Portal:SampleImage"] is { Length: > 0 } image ? image : "busybox:latest";

    /// <summary>Creates what is missing; returns a message for each step that failed (empty when all is there).</summary>
    public async Task<IReadOnlyList<string>> CreateAsync(BatchPortal.Engine.Access.Actor by, CancellationToken ct = default)
    {
        var problems = new List<string>();
        if (await environments.GetAsync(EnvironmentName, ct) is null)
        {
            var ce = await environments.CreateAsync(
                new CreateComputeEnvironmentRequest
                {
                    ComputeEnvironmentName = EnvironmentName,
                    Type = "MANAGED",
                    ComputeResources = new ComputeResources { Type = "EC2", MinvCpus = 0, DesiredvCpus = 0, MaxvCpus = 4, InstanceTypes = ["optimal"] },
                },
                by,
                ct);
            Note(ce.Error, problems);
        }

        if (await queues.GetAsync(QueueName, ct) is null)
        {
            var queue = await queues.CreateAsync(
                new CreateJobQueueRequest
                {
                    JobQueueName = QueueName,
                    Priority = 1,
                    ComputeEnvironmentOrder = [new ComputeEnvironmentOrder { Order = 1, ComputeEnvironment = EnvironmentName }],
                },
                by,
                ct);
            Note(queue.Error, problems);
        }

        if ((await definitions.RevisionsAsync(DefinitionName, ct)).Count == 0)
        {
            var container = new ContainerProperties
            {
                Image = Image,
                Command = ["sh", "-c", "echo \"Hello from BatchPortal, job $AWS_BATCH_JOB_ID attempt $AWS_BATCH_JOB_ATTEMPT\"; sleep 2; echo done"],
            };
            container.SetRequirement("VCPU", "1");
            container.SetRequirement("MEMORY", "64");
            var definition = await definitions.RegisterAsync(
                new RegisterJobDefinitionRequest { JobDefinitionName = DefinitionName, Type = "container", ContainerProperties = container },
                by,
                ct);
            Note(definition.Error, problems);
        }

        return problems;
    }

    private static void Note(BatchError? error, List<string> problems)
    {
        if (error is not null)
        {
            problems.Add(error.Message);
        }
    }
}
