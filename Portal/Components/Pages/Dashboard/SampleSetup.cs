using BatchPortal.Engine.Domain;
using BatchPortal.Engine.Resources;

namespace BatchPortal.Portal.Components.Pages.Dashboard;

/// <summary>
/// The dashboard's one-click sample: a compute environment, a queue and a "hello" definition, made through the same
/// services and rules as the wizards. The image is <c>Portal:SampleImage</c> when set; else the first of a few small
/// images with a shell that the Docker host already has, so the first job starts without a registry; else
/// <c>busybox:latest</c>, which the first run pulls (the dashboard says so before).
/// </summary>
internal sealed class SampleSetup(
    ComputeEnvironmentService environments,
    JobQueueService queues,
    JobDefinitionService definitions,
    BatchPortal.Engine.Execution.IContainerRuntimeFactory runtimes,
    IConfiguration configuration)
{
    public const string EnvironmentName = "sample-environment";
    public const string QueueName = "sample-queue";
    public const string DefinitionName = "sample-hello";
    public const string JobName = "hello-batchportal";
    public const string FallbackImage = "busybox:latest";

    /// <summary>Small images with <c>sh</c>, in the order they are looked for on the Docker host.</summary>
    public static readonly string[] Candidates = ["busybox:latest", "batchportal/busybox:latest", "alpine:latest", "debian:bookworm-slim", "ubuntu:latest"];

    /// <summary>The image the sample uses, and whether the Docker host already has it (null: the host did not answer).</summary>
    public async Task<(string Image, bool? Present)> ChooseImageAsync(CancellationToken ct = default)
    {
        var runtime = runtimes.ForEndpoint(null);
        var configured = configuration["Portal:SampleImage"];
        try
        {
            if (configured is { Length: > 0 })
            {
                return (configured, await runtime.HasImageAsync(configured, ct));
            }

            foreach (var image in Candidates)
            {
                if (await runtime.HasImageAsync(image, ct))
                {
                    return (image, true);
                }
            }

            return (FallbackImage, false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            return (configured is { Length: > 0 } ? configured : FallbackImage, null);
        }
    }

    /// <summary>What Max vCPUs the sample environment gets: 4, or fewer when the Docker host has fewer CPUs.</summary>
    public async Task<int> MaxVcpusAsync(CancellationToken ct = default)
    {
        try
        {
            var host = await runtimes.ForEndpoint(null).GetHostInfoAsync(ct);
            return Math.Clamp(host.Cpus, 1, 4);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            return 4;
        }
    }

    /// <summary>Creates what is missing; returns a message for each step that failed (empty when all is there).</summary>
    public async Task<IReadOnlyList<string>> CreateAsync(BatchPortal.Engine.Access.Actor by, CancellationToken ct = default)
    {
        var problems = new List<string>();
        var (image, _) = await ChooseImageAsync(ct);
        var maxVcpus = await MaxVcpusAsync(ct);
        if (await environments.GetAsync(EnvironmentName, ct) is null)
        {
            var ce = await environments.CreateAsync(
                new CreateComputeEnvironmentRequest
                {
                    ComputeEnvironmentName = EnvironmentName,
                    Type = "MANAGED",
                    ComputeResources = new ComputeResources { Type = "EC2", MinvCpus = 0, DesiredvCpus = 0, MaxvCpus = maxVcpus, InstanceTypes = ["optimal"] },
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
                Image = image,
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
