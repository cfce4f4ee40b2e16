using BatchPortal.Engine.Domain;
using BatchPortal.Portal.Components.Pages.Dashboard;
using BatchPortal.Portal.Tests.Components.Pages.Jobs;
using Bunit;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

using DashboardPage = BatchPortal.Portal.Components.Pages.Dashboard.Dashboard;

namespace BatchPortal.Portal.Tests.Components.Pages.Dashboard;

public sealed class DashboardTests
{
    [Fact]
    public async Task QueueOverview_CountsJobsPerStatus_AndLinksToTheFilteredList()
    {
        await using var ctx = await CreateAsync();
        var data = new BoardData(ctx);
        await data.QueueAsync("q1");
        await data.JobAsync("q1", "a", JobStatus.Runnable);
        await data.JobAsync("q1", "b", JobStatus.Succeeded, exitCode: 0);
        await data.JobAsync("q1", "c", JobStatus.Succeeded, exitCode: 0);
        await data.JobAsync("q1", "d", JobStatus.Failed, exitCode: 3);

        var cut = ctx.RenderPage<DashboardPage>();

        Assert.Equal("1", Count(cut, "q1", "RUNNABLE"));
        Assert.Equal("2", Count(cut, "q1", "SUCCEEDED"));
        Assert.Equal("1", Count(cut, "q1", "FAILED"));
        Assert.Equal("0", Count(cut, "q1", "RUNNING"));
        var link = cut.Find("[data-testid=queue-counts][data-queue=q1] td[data-status=FAILED] a");
        Assert.Equal("/jobs?queue=q1&status=FAILED", link.GetAttribute("href"));
    }

    [Fact]
    public async Task QueueOverview_UpdatesLive_WhenAJobChangesStatus()
    {
        await using var ctx = await CreateAsync();
        var data = new BoardData(ctx);
        await data.QueueAsync("q1");
        var cut = ctx.RenderPage<DashboardPage>();
        Assert.Equal("0", Count(cut, "q1", "FAILED"));

        await data.JobAsync("q1", "late", JobStatus.Failed, exitCode: 2);

        cut.WaitForAssertion(() => Assert.Equal("1", Count(cut, "q1", "FAILED")), TimeSpan.FromSeconds(5));
        cut.WaitForAssertion(() => Assert.Contains("exit 2", cut.Find("[data-testid=recent-failure]").TextContent, StringComparison.Ordinal), TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task EmptyPortal_ShowsTheStepsToAFirstJob_AndTheSampleButton()
    {
        await using var ctx = await CreateAsync();

        var cut = ctx.RenderPage<DashboardPage>();

        Assert.Contains("Create a compute environment", cut.Find("[data-testid=getting-started]").TextContent, StringComparison.Ordinal);
        Assert.NotNull(cut.Find("[data-testid=create-sample]"));
    }

    [Fact]
    public async Task CreateSample_MakesEnvironmentQueueAndDefinition_AndOpensTheSubmitForm()
    {
        await using var ctx = await CreateAsync();
        var cut = ctx.RenderPage<DashboardPage>();

        await cut.Find("[data-testid=create-sample]").ClickAsync(new());

        Assert.NotNull(await ctx.ComputeEnvironments.GetAsync(SampleSetup.EnvironmentName));
        Assert.NotNull(await ctx.JobQueues.GetAsync(SampleSetup.QueueName));
        Assert.Single(await ctx.JobDefinitions.RevisionsAsync(SampleSetup.DefinitionName));
        Assert.EndsWith($"/jobs/new?queue={SampleSetup.QueueName}&definition={SampleSetup.DefinitionName}&name={SampleSetup.JobName}", ctx.Navigation.Uri, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Sample_UsesAnImageTheDockerHostHas_AndSaysSoBeforeItIsClicked()
    {
        await using var ctx = await CreateAsync();
        ctx.Runtime.Images.Add("alpine:latest");
        var cut = ctx.RenderPage<DashboardPage>();

        Assert.Contains("image alpine:latest, already on the Docker host", Squeeze(cut.Find("[data-testid=sample-note]").TextContent), StringComparison.Ordinal);
        Assert.Contains("(4 vCPUs)", cut.Find("[data-testid=sample-note]").TextContent, StringComparison.Ordinal);
        await cut.Find("[data-testid=create-sample]").ClickAsync(new());

        var definition = Assert.Single(await ctx.JobDefinitions.RevisionsAsync(SampleSetup.DefinitionName));
        Assert.Equal("alpine:latest", definition.ContainerProperties.Image);
    }

    [Fact]
    public async Task Sample_SaysTheImageWillBePulled_WhenTheDockerHostHasNone()
    {
        await using var ctx = await CreateAsync();

        var cut = ctx.RenderPage<DashboardPage>();

        Assert.Contains("image busybox:latest, not on the Docker host yet: the first job pulls it", Squeeze(cut.Find("[data-testid=sample-note]").TextContent), StringComparison.Ordinal);
    }

    [Fact]
    public async Task RecentFailures_LeaveCancellationsByAUserApart_AndNameArrayChildrenParentColonIndex()
    {
        await using var ctx = await CreateAsync();
        var data = new BoardData(ctx);
        await data.QueueAsync("q1");
        var real = await data.JobAsync("q1", "real", JobStatus.Failed, exitCode: 1);
        var parent = await data.JobAsync("q1", "render", JobStatus.Submitted, arraySize: 3);
        await data.SpawnAsync(parent.Id);
        await ctx.Engine.GetRequiredService<BatchPortal.Engine.Storage.JobStateMachine>().TryTransitionAsync($"{parent.Id}:2", JobStatus.Runnable, JobStatus.Failed, "Essential container in task exited");
        var jobs = ctx.Engine.GetRequiredService<BatchPortal.Engine.Jobs.JobService>();
        for (var i = 0; i < 12; i++)
        {
            var waiting = await data.JobAsync("q1", $"cancel-{i}", JobStatus.Runnable);
            Assert.True((await jobs.CancelAsync(waiting.Id, "not needed")).Value);
        }

        var cut = ctx.RenderPage<DashboardPage>();

        var failures = cut.FindAll("[data-testid=recent-failure]");
        Assert.Equal([$"{parent.Id}:2", real.Id], failures.Select(f => f.GetAttribute("data-job-id")));
        Assert.StartsWith("render:2", failures[0].TextContent.Trim(), StringComparison.Ordinal);
        var stopped = cut.FindAll("[data-testid=recent-stopped]");
        Assert.Equal(3, stopped.Count);
        Assert.All(stopped, s => Assert.Contains("not needed", s.TextContent, StringComparison.Ordinal));
    }

    [Fact]
    public async Task JobsThatCanNeverRun_AreFlagged_WithTheirReason()
    {
        await using var ctx = await CreateAsync();
        var data = new BoardData(ctx);
        await data.QueueAsync("q1");
        var stuck = await data.JobAsync("q1", "too-big", JobStatus.Runnable);
        await data.JobAsync("q1", "waiting", JobStatus.Runnable);
        var cut = ctx.RenderPage<DashboardPage>();
        Assert.Empty(cut.FindAll("[data-testid=blocked-jobs]"));

        await ctx.Engine.GetRequiredService<BatchPortal.Engine.Storage.JobStateMachine>().SetReasonsAsync(
            JobStatus.Runnable, [(stuck.Id, "MISCONFIGURATION:JOB_RESOURCE_REQUIREMENT - The job needs 999999 MiB of memory; the Docker host of ce-q1 has 8192 MiB.")]);

        cut.WaitForAssertion(() =>
        {
            var blocked = cut.Find("[data-testid=blocked-jobs]");
            Assert.Contains("1 job(s) can never run", blocked.TextContent, StringComparison.Ordinal);
            Assert.Equal(stuck.Id, Assert.Single(cut.FindAll("[data-testid=blocked-job]")).GetAttribute("data-job-id"));
            Assert.Contains("999999 MiB", blocked.TextContent, StringComparison.Ordinal);
        }, TimeSpan.FromSeconds(5));
    }

    private static string Squeeze(string text) => System.Text.RegularExpressions.Regex.Replace(text, @"\s+", " ");

    private static string Count(IRenderedComponent<Microsoft.AspNetCore.Components.IComponent> cut, string queue, string status) =>
        cut.Find($"[data-testid=queue-counts][data-queue={queue}] td[data-status={status}]").TextContent.Trim();

    private static async Task<PortalTestContext> CreateAsync()
    {
        var ctx = await PortalTestContext.CreateAsync();
        ctx.Bunit.Services.AddSingleton<IConfiguration>(new ConfigurationBuilder().Build());
        ctx.Bunit.Services.AddSingleton<SampleSetup>();
        return ctx;
    }
}
