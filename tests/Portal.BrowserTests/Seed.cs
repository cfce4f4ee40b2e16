using BatchPortal.Engine.Domain;
using BatchPortal.Engine.Jobs;
using BatchPortal.Engine.Resources;
using Microsoft.Extensions.DependencyInjection;

namespace BatchPortal.Portal.BrowserTests;

/// <summary>Sets up a compute environment, a queue and definitions through the engine's services, for tests about other pages.</summary>
internal sealed class Seed(IServiceProvider services)
{
    public const string Image = "batchportal/busybox:latest";

    public string Suffix { get; } = Guid.NewGuid().ToString("N")[..8];

    public string Queue => $"queue-{Suffix}";

    public async Task CreateQueueAsync(int maxvCpus = 8)
    {
        var ce = await services.GetRequiredService<ComputeEnvironmentService>().CreateAsync(new CreateComputeEnvironmentRequest
        {
            ComputeEnvironmentName = $"ce-{Suffix}",
            Type = "MANAGED",
            ComputeResources = new ComputeResources { Type = "EC2", MaxvCpus = maxvCpus },
        });
        Assert.True(ce.IsSuccess, ce.Error?.Message);
        var queue = await services.GetRequiredService<JobQueueService>().CreateAsync(new CreateJobQueueRequest
        {
            JobQueueName = Queue,
            Priority = 1,
            ComputeEnvironmentOrder = [new ComputeEnvironmentOrder { Order = 1, ComputeEnvironment = $"ce-{Suffix}" }],
        });
        Assert.True(queue.IsSuccess, queue.Error?.Message);
    }

    public async Task<string> DefinitionAsync(string name, params string[] command)
    {
        var container = new ContainerProperties { Image = Image, Command = [.. command] };
        container.SetRequirement("VCPU", "1");
        container.SetRequirement("MEMORY", "64");
        var definition = await services.GetRequiredService<JobDefinitionService>().RegisterAsync(new RegisterJobDefinitionRequest
        {
            JobDefinitionName = $"{name}-{Suffix}",
            Type = "container",
            ContainerProperties = container,
        });
        Assert.True(definition.IsSuccess, definition.Error?.Message);
        return definition.Value!.Name;
    }

    public async Task<Job> SubmitAsync(string definition, string name)
    {
        var job = await services.GetRequiredService<JobService>().SubmitAsync(new SubmitJobRequest { JobName = name, JobQueue = Queue, JobDefinition = definition });
        Assert.True(job.IsSuccess, job.Error?.Message);
        return job.Value!;
    }
}
