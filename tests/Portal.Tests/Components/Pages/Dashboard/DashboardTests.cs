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
        Assert.EndsWith($"/jobs/new?queue={SampleSetup.QueueName}&definition={SampleSetup.DefinitionName}", ctx.Navigation.Uri, StringComparison.Ordinal);
    }

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
