using BatchPortal.Engine.Domain;
using BatchPortal.Engine.Jobs;
using BatchPortal.Engine.Resources;
using BatchPortal.Engine.Storage;
using Microsoft.Extensions.DependencyInjection;

namespace BatchPortal.Portal.Tests.Components.Pages.Jobs;

/// <summary>Jobs put in given states through the engine's own store (no Docker in this tier).</summary>
internal sealed class BoardData(PortalTestContext ctx)
{
    private JobStateMachine Jobs => ctx.Engine.GetRequiredService<JobStateMachine>();

    public async Task QueueAsync(string queue)
    {
        Assert.True((await ctx.ComputeEnvironments.CreateAsync(new CreateComputeEnvironmentRequest
        {
            ComputeEnvironmentName = $"ce-{queue}",
            Type = "MANAGED",
            ComputeResources = new ComputeResources { Type = "EC2", MaxvCpus = 4 },
        })).IsSuccess);
        Assert.True((await ctx.JobQueues.CreateAsync(new CreateJobQueueRequest
        {
            JobQueueName = queue,
            Priority = 1,
            ComputeEnvironmentOrder = [new ComputeEnvironmentOrder { Order = 1, ComputeEnvironment = $"ce-{queue}" }],
        })).IsSuccess);
        var container = new ContainerProperties { Image = "busybox", Command = ["true"] };
        container.SetRequirement("VCPU", "1");
        container.SetRequirement("MEMORY", "64");
        await ctx.JobDefinitions.RegisterAsync(new RegisterJobDefinitionRequest { JobDefinitionName = "def", Type = "container", ContainerProperties = container });
    }

    public Task<bool> SpawnAsync(string parentId) => Jobs.SpawnChildrenAsync(parentId);

    /// <summary>Submits a job and walks it along legal moves to <paramref name="status"/>.</summary>
    public async Task<Job> JobAsync(string queue, string name, JobStatus status, int? exitCode = null, int? arraySize = null)
    {
        var submitted = await ctx.Engine.GetRequiredService<JobService>().SubmitAsync(new SubmitJobRequest
        {
            JobName = name,
            JobQueue = queue,
            JobDefinition = "def",
            ArrayProperties = arraySize is { } size ? new ArrayProperties { Size = size } : null,
        });
        Assert.True(submitted.IsSuccess, submitted.Error?.Message);
        var id = submitted.Value!.Id;
        var path = status switch
        {
            JobStatus.Submitted => [],
            JobStatus.Runnable => [JobStatus.Runnable],
            JobStatus.Failed when exitCode is null => new[] { JobStatus.Runnable, JobStatus.Failed },
            _ => new[] { JobStatus.Runnable, JobStatus.Starting, JobStatus.Running, status }.TakeWhile((s, i) => i == 0 || s != JobStatus.Running || status != JobStatus.Starting).ToArray(),
        };
        var from = JobStatus.Submitted;
        foreach (var to in path.Distinct())
        {
            var moved = await Jobs.TryTransitionAsync(id, from, to, to is JobStatus.Succeeded or JobStatus.Failed ? "Essential container in task exited" : null, j =>
            {
                if (to == JobStatus.Starting)
                {
                    j.AttemptCount = 1;
                    j.ComputeEnvironmentName = $"ce-{queue}";
                    j.Attempts.Add(new JobAttempt { JobId = j.Id, Number = 1, ComputeEnvironmentName = $"ce-{queue}" });
                }

                if (to == JobStatus.Running)
                {
                    j.StartedAt ??= j.CreatedAt;
                }

                if (to.IsFinal())
                {
                    j.ExitCode = exitCode;
                }
            });
            Assert.True(moved.IsApplied, $"{from} -> {to}: {moved.Outcome}");
            from = to;
            if (to == status)
            {
                break;
            }
        }

        return (await ctx.Engine.GetRequiredService<JobQueries>().GetAsync(id))!;
    }
}
