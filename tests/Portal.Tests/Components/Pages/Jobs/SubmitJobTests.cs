using System.Text.Json;
using BatchPortal.Engine.Domain;
using BatchPortal.Engine.Jobs;
using BatchPortal.Engine.Resources;
using BatchPortal.Engine.Storage;
using BatchPortal.Portal.Components.Pages.Jobs;
using Bunit;
using Microsoft.AspNetCore.Components;
using Microsoft.AspNetCore.Components.Web;
using Microsoft.Extensions.DependencyInjection;

namespace BatchPortal.Portal.Tests.Components.Pages.Jobs;

/// <summary>The submit form: all of SubmitJob, a review of the request, clone, and errors that cannot be missed.</summary>
public sealed class SubmitJobTests
{
    private static readonly JsonSerializerOptions Indented = new(Api.AwsJson.Options) { WriteIndented = true };

    [Fact]
    public async Task Clone_PrefillsEveryMemberTheJobWasSubmittedWith()
    {
        await using var ctx = await PortalTestContext.CreateAsync();
        await SetUpAsync(ctx);
        var first = await SubmitAsync(ctx, new SubmitJobRequest { JobName = "first", JobQueue = "q1", JobDefinition = "def", ArrayProperties = new() { Size = 3 } });
        var original = new SubmitJobRequest
        {
            JobName = "full",
            JobQueue = "q1",
            JobDefinition = "def:1",
            ArrayProperties = new ArrayProperties { Size = 3 },
            DependsOn = [new JobDependency { JobId = first.Id, Type = "N_TO_N" }],
            Parameters = new() { ["input"] = "s3://bucket/other" },
            ContainerOverrides = new ContainerOverrides
            {
                Command = ["echo", "Ref::input", "two words"],
                Environment = [new EnvironmentVariable { Name = "STAGE", Value = "prod" }],
                ResourceRequirements = [new ResourceRequirement { Type = "VCPU", Value = "2" }, new ResourceRequirement { Type = "MEMORY", Value = "256" }],
            },
            RetryStrategy = new RetryStrategy { Attempts = 3, EvaluateOnExit = [new EvaluateOnExit { OnStatusReason = "Host EC2*", Action = "RETRY" }, new EvaluateOnExit { OnExitCode = "*", Action = "EXIT" }] },
            Timeout = new JobTimeout { AttemptDurationSeconds = 600 },
            SchedulingPriorityOverride = 42,
            PropagateTags = true,
            Tags = new() { ["team"] = "data" },
        };
        var job = await SubmitAsync(ctx, original);
        ctx.Navigation.NavigateTo($"/jobs/new?clone={job.Id}");

        var cut = ctx.RenderPage<SubmitJob>();
        var form = cut.FindComponent<SubmitJob>().Instance;

        // The job stores its command with Ref:: filled in, so the clone's request differs there; the job it submits does not.
        cut.WaitForAssertion(() => Assert.Equal(3, cut.FindComponent<SubmitJob>().Instance.ArraySize));
        var cloned = await SubmitAsync(ctx, form.ToRequest());
        Assert.Equal(AsSubmitted(job), AsSubmitted(cloned));
        Assert.Equal("echo s3://bucket/other \"two words\"", cut.ValueOf("#job-command"));
        Assert.Equal("3", cut.ValueOf("#job-array-size"));
        Assert.Contains(first.Id, cut.ValueOf("#dependency-0"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Form_SubmitsAnArrayJobWithADependencyAndOverrides_AfterReviewingTheRequest()
    {
        await using var ctx = await PortalTestContext.CreateAsync();
        await SetUpAsync(ctx);
        var before = await SubmitAsync(ctx, new SubmitJobRequest { JobName = "prepare", JobQueue = "q1", JobDefinition = "def" });
        ctx.Navigation.NavigateTo($"/jobs/new?dependsOn={before.Id}");
        var cut = ctx.RenderPage<SubmitJob>();
        var form = cut.FindComponent<SubmitJob>().Instance;

        await cut.Find("#job-name").InputAsync(new ChangeEventArgs { Value = "render" });
        await cut.Find("#job-array-size").ChangeAsync(new ChangeEventArgs { Value = "4" });
        await cut.Find("#job-timeout").ChangeAsync(new ChangeEventArgs { Value = "120" });
        await cut.Find("[data-testid=job-tags] button").ClickAsync(new MouseEventArgs());
        cut.WaitForElement("[data-testid=job-tags] input[aria-label='Value 1']");
        await cut.Find("[data-testid=job-tags] input[aria-label='Key 1']").ChangeAsync(new ChangeEventArgs { Value = "team" });
        await cut.Find("[data-testid=job-tags] input[aria-label='Value 1']").ChangeAsync(new ChangeEventArgs { Value = "render" });
        await cut.Find("[data-testid=review-toggle]").ClickAsync(new MouseEventArgs());

        var review = cut.Find("[data-testid=review-json]").TextContent;
        var request = JsonDocument.Parse(review).RootElement;
        Assert.Equal("render", request.GetProperty("jobName").GetString());
        Assert.Equal(4, request.GetProperty("arrayProperties").GetProperty("size").GetInt32());
        Assert.Equal(before.Id, request.GetProperty("dependsOn")[0].GetProperty("jobId").GetString());
        Assert.Equal(120, request.GetProperty("timeout").GetProperty("attemptDurationSeconds").GetInt32());
        Assert.Equal("render", request.GetProperty("tags").GetProperty("team").GetString());
        Assert.False(request.TryGetProperty("containerOverrides", out _), "Nothing was overridden: the definition's container stays.");

        await cut.Find("[data-testid=submit]").ClickAsync(new MouseEventArgs());

        var id = new Uri(ctx.Navigation.Uri).AbsolutePath["/jobs/".Length..];
        var job = (await ctx.Engine.GetRequiredService<JobQueries>().GetAsync(id))!;
        Assert.Equal(("render", 4, 120), (job.Name, job.ArraySize, job.Timeout?.AttemptDurationSeconds));
        Assert.Equal(before.Id, Assert.Single(job.DependsOn).JobId);
        Assert.Equal("render", job.Tags["team"]);
        Assert.Equal(review, JsonSerializer.Serialize(form.ToRequest(), Indented));
    }

    [Fact]
    public async Task FailedSubmit_ShowsASummaryBesideTheButton_AndFocusesTheFirstInvalidField()
    {
        await using var ctx = await PortalTestContext.CreateAsync();
        await SetUpAsync(ctx);
        ctx.Navigation.NavigateTo("/jobs/new");
        var cut = ctx.RenderPage<SubmitJob>();
        await cut.Find("#job-array-size").ChangeAsync(new ChangeEventArgs { Value = "1" });

        await cut.Find("[data-testid=submit]").ClickAsync(new MouseEventArgs());

        var summary = cut.Find("[data-testid=form-summary]").TextContent;
        Assert.Contains("2 fields need attention.", summary, StringComparison.Ordinal);
        Assert.Contains("jobName", summary, StringComparison.Ordinal);
        Assert.Contains("arrayProperties.size: Array size must be from 2 to 10000, not 1.", summary, StringComparison.Ordinal);
        Assert.True(cut.IsInvalid("#job-name"));
        cut.WaitForAssertion(() => Assert.Contains(ctx.Bunit.JSInterop.Invocations, i => i.Identifier == "batchPortal.focusFirstInvalid"));
        Assert.Empty(await ctx.Engine.GetRequiredService<JobQueries>().RecentAsync());

        await cut.Find("#job-name").InputAsync(new ChangeEventArgs { Value = "fixed" });
        await cut.Find("#job-array-size").ChangeAsync(new ChangeEventArgs { Value = "" });

        cut.WaitForAssertion(() => Assert.Empty(cut.FindAll("[data-testid=form-summary]")));
    }

    [Fact]
    public async Task DependencyPicker_FindsRecentJobsByNameOrIdPrefix()
    {
        await using var ctx = await PortalTestContext.CreateAsync();
        await SetUpAsync(ctx);
        var etl = await SubmitAsync(ctx, new SubmitJobRequest { JobName = "etl-nightly", JobQueue = "q1", JobDefinition = "def" });
        await SubmitAsync(ctx, new SubmitJobRequest { JobName = "report", JobQueue = "q1", JobDefinition = "def" });
        var store = ctx.Engine.GetRequiredService<JobQueries>();

        Assert.Equal([etl.Id], (await store.SearchAsync("etl")).Select(h => h.Id));
        Assert.Equal([etl.Id], (await store.SearchAsync(etl.Id[..8])).Select(h => h.Id));
        Assert.Equal([etl.Id], (await store.SearchAsync($"arn:aws:batch:us-east-1:000000000000:job/{etl.Id}")).Select(h => h.Id));
        Assert.Equal(["report", "etl-nightly"], (await store.RecentAsync()).Select(h => h.Name));
        Assert.Empty(await store.SearchAsync("  "));
    }

    /// <summary>What a job was submitted with, as DescribeJobs shows it, without what differs between two jobs.</summary>
    private static string AsSubmitted(Job j) => JsonSerializer.Serialize(new
    {
        j.Name, j.QueueName, j.JobDefinitionName, j.JobDefinitionRevision, j.Container.Command, j.Container.Environment, j.Vcpus, j.MemoryMiB,
        j.ArraySize, j.DependsOn, j.Parameters, j.RetryStrategy, j.Timeout, j.Tags, j.PropagateTags, j.SchedulingPriority,
    });

    private static async Task<Job> SubmitAsync(PortalTestContext ctx, SubmitJobRequest r)
    {
        var result = await ctx.Engine.GetRequiredService<JobService>().SubmitAsync(r);
        Assert.True(result.IsSuccess, result.Error?.Message);
        return result.Value!;
    }

    private static async Task SetUpAsync(PortalTestContext ctx)
    {
        Assert.True((await ctx.ComputeEnvironments.CreateAsync(new CreateComputeEnvironmentRequest
        {
            ComputeEnvironmentName = "ce1",
            Type = "MANAGED",
            ComputeResources = new ComputeResources { Type = "EC2", MaxvCpus = 4 },
        })).IsSuccess);
        Assert.True((await ctx.JobQueues.CreateAsync(new CreateJobQueueRequest
        {
            JobQueueName = "q1",
            Priority = 1,
            ComputeEnvironmentOrder = [new ComputeEnvironmentOrder { Order = 1, ComputeEnvironment = "ce1" }],
        })).IsSuccess);
        var container = new ContainerProperties { Image = "busybox", Command = ["echo", "Ref::input"] };
        container.SetRequirement("VCPU", "1");
        container.SetRequirement("MEMORY", "64");
        Assert.True((await ctx.JobDefinitions.RegisterAsync(new RegisterJobDefinitionRequest
        {
            JobDefinitionName = "def",
            Type = "container",
            ContainerProperties = container,
            Parameters = new() { ["input"] = "s3://bucket/default" },
            Tags = new() { ["owner"] = "platform" },
        })).IsSuccess);
    }
}
