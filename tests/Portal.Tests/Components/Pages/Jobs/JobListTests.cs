using BatchPortal.Engine.Domain;
using BatchPortal.Portal.Components.Pages.Jobs;
using Bunit;
using Microsoft.Extensions.DependencyInjection;

namespace BatchPortal.Portal.Tests.Components.Pages.Jobs;

public sealed class JobListTests
{
    [Fact]
    public async Task Filters_CombineStatusesNamePrefixAndQueue_FromTheUrl()
    {
        await using var ctx = await PortalTestContext.CreateAsync();
        var data = new BoardData(ctx);
        await data.QueueAsync("q1");
        await data.QueueAsync("q2");
        await data.JobAsync("q1", "etl-a", JobStatus.Failed, exitCode: 1);
        await data.JobAsync("q1", "etl-b", JobStatus.Succeeded, exitCode: 0);
        await data.JobAsync("q1", "etl-c", JobStatus.Runnable);
        await data.JobAsync("q1", "report", JobStatus.Failed, exitCode: 2);
        await data.JobAsync("q2", "etl-d", JobStatus.Failed, exitCode: 1);
        ctx.Navigation.NavigateTo("/jobs?queue=q1&status=FAILED,SUCCEEDED&name=etl");

        var cut = ctx.RenderPage<JobList>();

        Assert.Equal(["etl-b", "etl-a"], Names(cut));
        Assert.Contains("2 job(s) match", cut.Find("[data-testid=match-count]").TextContent, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Filters_ByExitCodeAndDefinition_NewestFirst()
    {
        await using var ctx = await PortalTestContext.CreateAsync();
        var data = new BoardData(ctx);
        await data.QueueAsync("q1");
        await data.JobAsync("q1", "one", JobStatus.Failed, exitCode: 3);
        await data.JobAsync("q1", "two", JobStatus.Failed, exitCode: 1);
        await data.JobAsync("q1", "three", JobStatus.Failed, exitCode: 3);
        ctx.Navigation.NavigateTo("/jobs?exit=3&definition=def:1");

        var cut = ctx.RenderPage<JobList>();

        Assert.Equal(["three", "one"], Names(cut));
    }

    [Fact]
    public async Task Filter_ShowsAnError_WhenAStatusIsUnknown()
    {
        await using var ctx = await PortalTestContext.CreateAsync();
        ctx.Navigation.NavigateTo("/jobs?status=DONE");

        var cut = ctx.RenderPage<JobList>();

        Assert.Contains("Status 'DONE' is not a job status.", cut.Markup, StringComparison.Ordinal);
    }

    [Fact]
    public async Task List_LeavesArrayChildrenOut_AndUpdatesLive()
    {
        await using var ctx = await PortalTestContext.CreateAsync();
        var data = new BoardData(ctx);
        await data.QueueAsync("q1");
        var parent = await data.JobAsync("q1", "array", JobStatus.Submitted, arraySize: 3);
        await data.SpawnAsync(parent.Id);
        var cut = ctx.RenderPage<JobList>();
        Assert.Equal(["array"], Names(cut));

        await data.JobAsync("q1", "later", JobStatus.Runnable);

        cut.WaitForAssertion(() => Assert.Equal(["later", "array"], Names(cut)), TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task LiveChange_RendersOnlyTheChangedRowAgain_AndNotTheFilterPanel()
    {
        await using var ctx = await PortalTestContext.CreateAsync();
        var data = new BoardData(ctx);
        await data.QueueAsync("q1");
        var first = await data.JobAsync("q1", "first", JobStatus.Runnable);
        var changing = await data.JobAsync("q1", "changing", JobStatus.Runnable);
        await data.JobAsync("q1", "steady-1", JobStatus.Runnable);
        await data.JobAsync("q1", "steady-2", JobStatus.Succeeded, exitCode: 0);
        var cut = ctx.RenderPage<JobList>();
        var store = ctx.Engine.GetRequiredService<Engine.Storage.JobStateMachine>();

        // One live change first, so that the page has settled (its first loads and renders are done) before counting.
        await store.TryTransitionAsync(first.Id, JobStatus.Runnable, JobStatus.Failed, "Cancelled from the console");
        cut.WaitForAssertion(() => Assert.Equal("FAILED", cut.Find($"[data-job-id='{first.Id}']").GetAttribute("data-status")), TimeSpan.FromSeconds(5));
        var rows = cut.FindComponents<JobRow>().ToDictionary(r => r.Instance.Job.Name);
        var before = rows.ToDictionary(r => r.Key, r => r.Value.RenderCount);
        var queueSelect = cut.FindComponent<MudBlazor.MudSelect<string>>();
        var selectRenders = queueSelect.RenderCount;

        await store.TryTransitionAsync(changing.Id, JobStatus.Runnable, JobStatus.Failed, "Cancelled from the console");

        cut.WaitForAssertion(() => Assert.Equal("FAILED", cut.Find($"[data-job-id='{changing.Id}']").GetAttribute("data-status")), TimeSpan.FromSeconds(5));

        // The page's markup can show the change a moment before the row's own render count is updated: wait for both.
        cut.WaitForAssertion(() => Assert.True(rows["changing"].RenderCount > before["changing"]), TimeSpan.FromSeconds(5));
        Assert.Equal(before["steady-1"], rows["steady-1"].RenderCount);
        Assert.Equal(before["steady-2"], rows["steady-2"].RenderCount);
        Assert.Equal(selectRenders, queueSelect.RenderCount);
    }

    private static List<string> Names(IRenderedComponent<Microsoft.AspNetCore.Components.IComponent> cut) =>
        [.. cut.FindAll("[data-testid=job-row] td:nth-child(2)").Select(td => td.TextContent.Trim())];
}
