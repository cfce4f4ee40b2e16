using BatchPortal.Engine.Domain;
using BatchPortal.Engine.Storage;
using BatchPortal.Portal.Components.Pages.Jobs;
using Bunit;
using Bunit.Rendering;
using Microsoft.AspNetCore.Components;
using Microsoft.Extensions.DependencyInjection;

namespace BatchPortal.Portal.Tests.Components.Pages.Jobs;

public sealed class ArrayGridTests
{
    [Fact]
    public async Task ArrayParent_ShowsAGridOfItsChildren_ColouredByStatusWithCounts()
    {
        await using var ctx = await PortalTestContext.CreateAsync();
        var data = new BoardData(ctx);
        await data.QueueAsync("q1");
        var parent = await data.JobAsync("q1", "array", JobStatus.Submitted, arraySize: 4);
        await data.SpawnAsync(parent.Id);
        var jobs = ctx.Engine.GetRequiredService<JobStateMachine>();
        await jobs.TryTransitionAsync($"{parent.Id}:2", JobStatus.Runnable, JobStatus.Failed, "cancelled by test");
        ctx.Navigation.NavigateTo($"/jobs/{parent.Id}");

        var cut = Render(ctx, parent.Id);

        var cells = cut.FindAll("[data-testid=array-cell]");
        Assert.Equal(["0", "1", "2", "3"], cells.Select(c => c.TextContent.Trim()));
        Assert.Equal(["RUNNABLE", "RUNNABLE", "FAILED", "RUNNABLE"], cells.Select(c => c.GetAttribute("data-status")));
        Assert.Equal($"/jobs/{parent.Id}:2", cells[2].GetAttribute("href"));
        Assert.Contains("3", cut.Find("[data-testid=array-count][data-status=RUNNABLE]").TextContent, StringComparison.Ordinal);
        Assert.Contains("1", cut.Find("[data-testid=array-count][data-status=FAILED]").TextContent, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ArrayGrid_UpdatesLive_WhenAChildMoves()
    {
        await using var ctx = await PortalTestContext.CreateAsync();
        var data = new BoardData(ctx);
        await data.QueueAsync("q1");
        var parent = await data.JobAsync("q1", "array", JobStatus.Submitted, arraySize: 2);
        await data.SpawnAsync(parent.Id);
        var cut = Render(ctx, parent.Id);

        await ctx.Engine.GetRequiredService<JobStateMachine>().TryTransitionAsync($"{parent.Id}:1", JobStatus.Runnable, JobStatus.Failed, "gone");

        cut.WaitForAssertion(
            () => Assert.Equal("FAILED", cut.FindAll("[data-testid=array-cell]")[1].GetAttribute("data-status")),
            TimeSpan.FromSeconds(5));
    }

    private static IRenderedComponent<ContainerFragment> Render(PortalTestContext ctx, string jobId) =>
        ctx.Bunit.Render(builder =>
        {
            builder.OpenComponent<MudBlazor.MudPopoverProvider>(0);
            builder.CloseComponent();
            builder.OpenComponent<JobDetail>(1);
            builder.AddAttribute(2, nameof(JobDetail.JobId), jobId);
            builder.CloseComponent();
        });
}
