using BatchPortal.Engine.Domain;
using BatchPortal.Engine.Jobs;
using BatchPortal.Engine.Storage;
using BatchPortal.Portal.Components.Pages.Jobs;
using Bunit;
using Microsoft.Extensions.DependencyInjection;
using MudBlazor;

namespace BatchPortal.Portal.Tests.Components.Pages.Jobs;

/// <summary>The job page: following links between jobs, and cancel and terminate asked for and explained.</summary>
public sealed class JobDetailTests
{
    [Fact]
    public async Task JobPage_ShowsTheNewJob_WhenALinkChangesItsJobId()
    {
        await using var ctx = await PortalTestContext.CreateAsync();
        var data = new BoardData(ctx);
        await data.QueueAsync("q1");
        var parent = await data.JobAsync("q1", "array", JobStatus.Submitted, arraySize: 3);
        await data.SpawnAsync(parent.Id);
        var other = await data.JobAsync("q1", "other", JobStatus.Runnable);
        var cut = ctx.Bunit.Render<JobDetail>(p => p.Add(x => x.JobId, parent.Id));
        Assert.Equal(3, cut.FindAll("[data-testid=array-cell]").Count);

        // A child's cell, then its link back to the parent, then another job: the same component each time.
        cut.Render(p => p.Add(x => x.JobId, $"{parent.Id}:2"));
        Assert.Contains($"index 2 of {parent.Id}", cut.Find("[data-testid=array-parent]").TextContent, StringComparison.Ordinal);
        Assert.Empty(cut.FindAll("[data-testid=array-cells]"));
        Assert.Contains($"{parent.Id}:2", cut.Markup, StringComparison.Ordinal);

        cut.Render(p => p.Add(x => x.JobId, parent.Id));
        Assert.Equal(3, cut.FindAll("[data-testid=array-cell]").Count);
        Assert.Empty(cut.FindAll("[data-testid=array-parent]"));

        cut.Render(p => p.Add(x => x.JobId, other.Id));
        Assert.Empty(cut.FindAll("[data-testid=array-cell]"));
        Assert.Contains(other.Id, cut.Markup, StringComparison.Ordinal);
        Assert.DoesNotContain(parent.Id, cut.Markup, StringComparison.Ordinal);
    }

    [Fact]
    public async Task JobPage_FollowsLiveChanges_OfTheJobItMovedTo()
    {
        await using var ctx = await PortalTestContext.CreateAsync();
        var data = new BoardData(ctx);
        await data.QueueAsync("q1");
        var first = await data.JobAsync("q1", "first", JobStatus.Runnable);
        var second = await data.JobAsync("q1", "second", JobStatus.Runnable);
        var cut = ctx.Bunit.Render<JobDetail>(p => p.Add(x => x.JobId, first.Id));
        cut.Render(p => p.Add(x => x.JobId, second.Id));

        await ctx.Engine.GetRequiredService<JobStateMachine>().TryTransitionAsync(second.Id, JobStatus.Runnable, JobStatus.Failed, "moved while shown");

        cut.WaitForAssertion(() => Assert.Equal("moved while shown", cut.Find("[data-testid=status-reason]").TextContent), TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task DependencyLinks_LeadBothWays_AndThePageFollowsThem()
    {
        await using var ctx = await PortalTestContext.CreateAsync();
        var data = new BoardData(ctx);
        await data.QueueAsync("q1");
        var before = await data.JobAsync("q1", "before", JobStatus.Runnable);
        var after = (await ctx.Engine.GetRequiredService<JobService>().SubmitAsync(new SubmitJobRequest
        {
            JobName = "after",
            JobQueue = "q1",
            JobDefinition = "def",
            DependsOn = [new JobDependency { JobId = before.Id }],
        })).Value!;
        var cut = ctx.Bunit.Render<JobDetail>(p => p.Add(x => x.JobId, after.Id));
        Assert.Equal($"/jobs/{before.Id}", cut.Find("[data-testid=depends-on] a").GetAttribute("href"));

        cut.Render(p => p.Add(x => x.JobId, before.Id));

        Assert.Equal($"/jobs/{after.Id}", cut.Find("[data-testid=needed-by] a").GetAttribute("href"));
        Assert.Empty(cut.FindAll("[data-testid=depends-on]"));
    }

    [Fact]
    public async Task Cancel_AsksForAReason_AndStoresItAsTheStatusReason()
    {
        await using var ctx = await PortalTestContext.CreateAsync();
        var data = new BoardData(ctx);
        await data.QueueAsync("q1");
        var job = await data.JobAsync("q1", "waiting", JobStatus.Runnable);
        var cut = ctx.RenderPage<JobDetail>(("JobId", job.Id));

        var kept = await cut.ConfirmAsync(cut.Find("[data-testid=cancel-job]"), confirm: false);
        Assert.Contains("Cancel job waiting?", kept.TextContent, StringComparison.Ordinal);
        Assert.Contains($"job/{job.Id}", kept.TextContent, StringComparison.Ordinal);
        Assert.Equal(JobStatus.Runnable, (await Jobs(ctx).GetAsync(job.Id))!.Status);

        await cut.ConfirmAsync(cut.Find("[data-testid=cancel-job]"), reason: "wrong input file");

        var cancelled = (await Jobs(ctx).GetAsync(job.Id))!;
        Assert.Equal(JobStatus.Failed, cancelled.Status);
        Assert.Equal("wrong input file", cancelled.StatusReason);
        cut.WaitForAssertion(() => Assert.Equal("wrong input file", cut.Find("[data-testid=status-reason]").TextContent));
    }

    [Fact]
    public async Task Cancel_RefusesAnEmptyReason_NamingIt()
    {
        await using var ctx = await PortalTestContext.CreateAsync();
        var data = new BoardData(ctx);
        await data.QueueAsync("q1");
        var job = await data.JobAsync("q1", "waiting", JobStatus.Runnable);
        var cut = ctx.RenderPage<JobDetail>(("JobId", job.Id));

        var click = cut.Find("[data-testid=cancel-job]").ClickAsync(new());
        cut.WaitForElement("#confirm-reason");
        await cut.Find("#confirm-reason").InputAsync(new() { Value = "  " });

        cut.WaitForAssertion(() => Assert.Contains("A reason is required.", cut.Find(".mud-dialog").TextContent, StringComparison.Ordinal));
        Assert.True(cut.Find("[data-testid=confirm-yes]").HasAttribute("disabled"));
        await cut.Find("[data-testid=confirm-no]").ClickAsync(new());
        await click;
        Assert.Equal(JobStatus.Runnable, (await Jobs(ctx).GetAsync(job.Id))!.Status);
    }

    [Fact]
    public async Task Terminate_OfARunningJob_ShowsTerminationRequested_WithTheTimeLeftBeforeSigkill()
    {
        await using var ctx = await PortalTestContext.CreateAsync();
        var data = new BoardData(ctx);
        await data.QueueAsync("q1");
        var job = await data.JobAsync("q1", "busy", JobStatus.Running);
        var cut = ctx.RenderPage<JobDetail>(("JobId", job.Id));
        Assert.Empty(cut.FindAll("[data-testid=termination-requested]"));

        var dialog = await cut.ConfirmAsync(cut.Find("[data-testid=terminate-job]"), reason: "runaway loop");

        Assert.Contains("SIGKILL after 30 s", dialog.TextContent, StringComparison.Ordinal);
        var terminating = (await Jobs(ctx).GetAsync(job.Id))!;
        Assert.Equal(JobStatus.Running, terminating.Status);
        Assert.NotNull(terminating.TerminationRequestedAt);
        Assert.Equal("runaway loop", terminating.TerminationReason);
        cut.WaitForAssertion(() =>
        {
            Assert.NotEmpty(cut.FindAll("[data-testid=termination-requested]"));
            Assert.Matches(@"SIGKILL in (29|30) s", cut.Find("[data-testid=termination-countdown]").TextContent);
            Assert.Empty(cut.FindAll("[data-testid=terminate-job]"));
        });
        Assert.Contains(ctx.Bunit.Services.GetRequiredService<ISnackbar>().ShownSnackbars, s => s.Message == "Job terminating.");
    }

    private static JobQueries Jobs(PortalTestContext ctx) => ctx.Engine.GetRequiredService<JobQueries>();
}
