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

    [Fact]
    public async Task Columns_ShowTheJobIdWithACopyButton_AndTheDuration()
    {
        await using var ctx = await PortalTestContext.CreateAsync();
        var data = new BoardData(ctx);
        await data.QueueAsync("q1");
        var done = await data.JobAsync("q1", "done", JobStatus.Succeeded, exitCode: 0);
        await data.JobAsync("q1", "waiting", JobStatus.Runnable);

        var cut = ctx.RenderPage<JobList>();

        var row = cut.Find($"[data-job-id='{done.Id}']");
        Assert.Equal(done.Id[..8], row.QuerySelector("[data-testid=job-id] code")!.TextContent);
        Assert.Equal(done.Id, row.QuerySelector("[data-testid=copy]")!.GetAttribute("data-copy"));
        Assert.Matches(@"^(\d+ ms|\d+ s|\d+ min \d\d s)$", row.QuerySelector("[data-testid=duration]")!.TextContent.Trim());
        Assert.Equal("—", cut.Find("[data-job-id] [data-testid=duration]").TextContent.Trim());
        Assert.Equal(["Job name", "Job ID", "Status", "Status reason", "Job queue", "Job definition", "Created", "Duration", "Exit code"],
            cut.FindAll("[data-testid=sort]").Select(b => b.TextContent.Replace("▼", "", StringComparison.Ordinal).Trim()));
    }

    [Fact]
    public async Task Sort_ByAColumn_OrdersThePage_AndAgainTheOtherWay()
    {
        await using var ctx = await PortalTestContext.CreateAsync();
        var data = new BoardData(ctx);
        await data.QueueAsync("q1");
        await data.JobAsync("q1", "bravo", JobStatus.Runnable);
        await data.JobAsync("q1", "alpha", JobStatus.Succeeded, exitCode: 0);
        await data.JobAsync("q1", "charlie", JobStatus.Failed, exitCode: 1);
        var cut = ctx.RenderPage<JobList>();
        Assert.Equal(["charlie", "alpha", "bravo"], Names(cut));

        await cut.Find("[data-testid=sort][data-sort=name]").ClickAsync(new());
        cut.WaitForAssertion(() => Assert.Equal(["alpha", "bravo", "charlie"], Names(cut)));
        Assert.Contains("sort=name", ctx.Navigation.Uri, StringComparison.Ordinal);

        await cut.Find("[data-testid=sort][data-sort=name]").ClickAsync(new());
        cut.WaitForAssertion(() => Assert.Equal(["charlie", "bravo", "alpha"], Names(cut)));
        Assert.Equal("descending", cut.Find("th[aria-sort=descending] [data-sort=name]").ParentElement!.GetAttribute("aria-sort"));
    }

    [Fact]
    public async Task SelectAll_SelectsTheWholePage_AndClearsIt()
    {
        await using var ctx = await PortalTestContext.CreateAsync();
        var data = new BoardData(ctx);
        await data.QueueAsync("q1");
        for (var i = 0; i < 3; i++)
        {
            await data.JobAsync("q1", $"job-{i}", JobStatus.Runnable);
        }

        var cut = ctx.RenderPage<JobList>();

        await cut.Find("input[aria-label='Select all on this page']").ChangeAsync(new() { Value = true });
        cut.WaitForAssertion(() => Assert.Contains("Cancel selected (3)", cut.Find("[data-testid=cancel-selected]").TextContent, StringComparison.Ordinal));
        await cut.Find("input[aria-label='Select all on this page']").ChangeAsync(new() { Value = false });
        cut.WaitForAssertion(() => Assert.Contains("Cancel selected (0)", cut.Find("[data-testid=cancel-selected]").TextContent, StringComparison.Ordinal));
    }

    [Fact]
    public async Task BulkButtons_AppearOnlyForJobsTheyCanStop_WithTheirCounts()
    {
        await using var ctx = await PortalTestContext.CreateAsync();
        var data = new BoardData(ctx);
        await data.QueueAsync("q1");
        await data.JobAsync("q1", "done", JobStatus.Succeeded, exitCode: 0);
        var cut = ctx.RenderPage<JobList>();
        Assert.Empty(cut.FindAll("[data-testid=terminate-all]"));
        Assert.Empty(cut.FindAll("[data-testid=cancel-all]"));

        await data.JobAsync("q1", "waiting", JobStatus.Runnable);
        var running = await data.JobAsync("q1", "busy", JobStatus.Running);

        cut.WaitForAssertion(() =>
        {
            Assert.Equal("Terminate all 1 running", cut.Find("[data-testid=terminate-all]").TextContent.Trim());
            Assert.Equal("Cancel all 1 waiting", cut.Find("[data-testid=cancel-all]").TextContent.Trim());
        }, TimeSpan.FromSeconds(5));

        // A filter that leaves no running job out hides the button.
        await ctx.Bunit.DisposeComponentsAsync();
        ctx.Navigation.NavigateTo("/jobs?status=SUCCEEDED,RUNNABLE");
        cut = ctx.RenderPage<JobList>();
        Assert.Empty(cut.FindAll("[data-testid=terminate-all]"));
        Assert.Equal("Cancel all 1 waiting", cut.Find("[data-testid=cancel-all]").TextContent.Trim());
        Assert.Equal(JobStatus.Running, (await ctx.Engine.GetRequiredService<Engine.Storage.JobQueries>().GetAsync(running.Id))!.Status);
    }

    [Fact]
    public async Task GoToJobId_OpensTheJob_FromItsIdOrArnOrAPrefix_AndSaysWhenNoneHasIt()
    {
        await using var ctx = await PortalTestContext.CreateAsync();
        var data = new BoardData(ctx);
        await data.QueueAsync("q1");
        var job = await data.JobAsync("q1", "target", JobStatus.Runnable);
        var cut = ctx.RenderPage<JobList>();

        await cut.Find("#go-to-job").ChangeAsync(new() { Value = $"arn:aws:batch:us-east-1:000000000000:job/{job.Id}" });
        await cut.Find("[data-testid=go-to-job-button]").ClickAsync(new());
        Assert.Equal($"/jobs/{job.Id}", new Uri(ctx.Navigation.Uri).AbsolutePath);

        await cut.Find("#go-to-job").ChangeAsync(new() { Value = job.Id[..6] });
        ctx.Navigation.NavigateTo("/jobs");
        await cut.Find("[data-testid=go-to-job-button]").ClickAsync(new());
        Assert.Equal($"/jobs/{job.Id}", new Uri(ctx.Navigation.Uri).AbsolutePath);

        await cut.Find("#go-to-job").ChangeAsync(new() { Value = "no-such-job" });
        await cut.Find("[data-testid=go-to-job-button]").ClickAsync(new());
        Assert.Contains(ctx.Bunit.Services.GetRequiredService<MudBlazor.ISnackbar>().ShownSnackbars, s => s.Message == "No job has the ID no-such-job.");
    }

    private static List<string> Names(IRenderedComponent<Microsoft.AspNetCore.Components.IComponent> cut) =>
        [.. cut.FindAll("[data-testid=job-row] td:nth-child(2)").Select(td => td.TextContent.Trim())];
}
