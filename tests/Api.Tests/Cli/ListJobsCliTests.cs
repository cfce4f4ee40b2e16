using System.Text.Json;
using BatchPortal.Api.Tests.Support;

namespace BatchPortal.Api.Tests.Cli;

/// <summary>
/// ListJobs through the aws CLI over one queue of five finished jobs (three of definition A, two of B), submitted one
/// after another so that their createdAt differ.
/// </summary>
[Collection(CliJobsCollection.Name)]
[Trait("Category", "Api")]
public sealed class ListJobsCliTests(ApiFixture portal)
{
    private const string Arns = "arn:aws:batch:us-east-1:000000000000:";

    private AwsCli Cli => portal.Cli;

    [Fact]
    public async Task ListJobs_ListsOnlyRunningJobs_WhenNoStatusOrFilterIsGiven()
    {
        var listed = await ListAsync();

        Assert.Empty(listed);
    }

    [Fact]
    public async Task ListJobs_ListsJobsOfThatStatusNewestFirst_WhenJobStatusIsGiven()
    {
        var succeeded = await ListAsync("--job-status", "SUCCEEDED");
        var runnable = await ListAsync("--job-status", "RUNNABLE");

        Assert.Equal(await IdsAsync(4, 3, 2, 1, 0), succeeded.Select(j => j.Str("jobId")));
        Assert.Empty(runnable);
        var summary = succeeded[0];
        var stage = await StageAsync();
        Assert.Equal("beta-2", summary.Str("jobName"));
        Assert.Equal("SUCCEEDED", summary.Str("status"));
        Assert.Equal(0, summary.Member("container").Number("exitCode"));
        Assert.Equal($"{Arns}job-definition/{stage.DefinitionB}:1", summary.Str("jobDefinition"));
        summary.Number("createdAt");
        summary.Number("startedAt");
        summary.Number("stoppedAt");
    }

    [Fact]
    public async Task ListJobs_MatchesTheNameIgnoringCase_WhenFilteredByJobName()
    {
        var exact = await ListAsync("--filters", "name=JOB_NAME,values=ALPHA-1");
        var prefix = await ListAsync("--filters", "name=JOB_NAME,values=alpha*");

        Assert.Equal(await IdsAsync(0), exact.Select(j => j.Str("jobId")));
        Assert.Equal(await IdsAsync(2, 1, 0), prefix.Select(j => j.Str("jobId")));
    }

    [Fact]
    public async Task ListJobs_MatchesTheDefinitionRespectingCase_WhenFilteredByJobDefinition()
    {
        var stage = await StageAsync();
        var byName = await ListAsync("--filters", $"name=JOB_DEFINITION,values={stage.DefinitionA}");
        var byArn = await ListAsync("--filters", $"name=JOB_DEFINITION,values={Arns}job-definition/{stage.DefinitionB}:1");
        var byPrefix = await ListAsync("--filters", $"name=JOB_DEFINITION,values={stage.DefinitionB[..^3]}*");

        // Unlike JOB_NAME, AWS matches JOB_DEFINITION case-sensitively.
        var otherCase = await ListAsync("--filters", $"name=JOB_DEFINITION,values={stage.DefinitionB[..^3].ToUpperInvariant()}*");

        Assert.Equal(await IdsAsync(3, 1, 0), byName.Select(j => j.Str("jobId")));
        Assert.Equal(await IdsAsync(4, 2), byArn.Select(j => j.Str("jobId")));
        Assert.Equal(await IdsAsync(4, 2), byPrefix.Select(j => j.Str("jobId")));
        Assert.Empty(otherCase);
    }

    [Fact]
    public async Task ListJobs_MatchesTheCreationTime_WhenFilteredByBeforeOrAfterCreatedAt()
    {
        // Between two submissions, so the result does not hang on whether the bound itself is included.
        var jobs = (await StageAsync()).Jobs;
        var between2And3 = (jobs[1].Number("createdAt") + jobs[2].Number("createdAt")) / 2;
        var between3And4 = (jobs[2].Number("createdAt") + jobs[3].Number("createdAt")) / 2;

        var after = await ListAsync("--filters", $"name=AFTER_CREATED_AT,values={between2And3}");
        var before = await ListAsync("--filters", $"name=BEFORE_CREATED_AT,values={between3And4}");

        Assert.Equal(await IdsAsync(4, 3, 2), after.Select(j => j.Str("jobId")));
        Assert.Equal(await IdsAsync(2, 1, 0), before.Select(j => j.Str("jobId")));
    }

    [Fact]
    public async Task ListJobs_ReturnsEveryJobOnce_WhenPagedWithMaxResultsAndNextToken()
    {
        var pages = new List<string[]>();
        string? token = null;
        do
        {
            string[] paging = token is null ? ["--max-results", "2"] : ["--max-results", "2", "--next-token", token];
            var page = await Cli.OkAsync(["batch", "list-jobs", "--job-queue", (await StageAsync()).Queue, "--job-status", "SUCCEEDED", .. paging]);
            pages.Add([.. page.Items("jobSummaryList").Select(j => j.Str("jobId"))]);
            token = page.OptionalStr("nextToken");
        }
        while (token is not null && pages.Count < 10);

        Assert.Equal([2, 2, 1], pages.Select(p => p.Length));
        Assert.Equal(await IdsAsync(4, 3, 2, 1, 0), pages.SelectMany(p => p));

        // The CLI's paginator follows the same tokens.
        var paged = (await Cli.OkAsync("batch", "list-jobs", "--job-queue", $"{Arns}job-queue/{(await StageAsync()).Queue}", "--job-status", "SUCCEEDED", "--page-size", "2")).Items("jobSummaryList");
        Assert.Equal(await IdsAsync(4, 3, 2, 1, 0), paged.Select(j => j.Str("jobId")));
    }

    [Fact]
    public async Task ListJobs_FailsWithClientException_WhenTheStatusIsNotAJobStatus()
    {
        var error = await Cli.FailsAsync("ClientException", "batch", "list-jobs", "--job-queue", (await StageAsync()).Queue, "--job-status", "DONE");

        Assert.Contains("'DONE'", error, StringComparison.Ordinal);
    }

    private async Task<JsonElement[]> ListAsync(params string[] arguments) =>
        (await Cli.OkAsync(["batch", "list-jobs", "--job-queue", (await StageAsync()).Queue, .. arguments])).Items("jobSummaryList");

    /// <summary>The stage is set once for the class (its jobs take a while) and only read by the tests.</summary>
    private Task<Stage> StageAsync() => portal.SharedAsync(nameof(ListJobsCliTests), async () =>
    {
        var stage = new Stage(PortalFixture.Unique("q-list"), PortalFixture.Unique("jd-a"), PortalFixture.Unique("jd-b"));
        var ce = PortalFixture.Unique("ce-list");
        await portal.Api.CreateComputeEnvironmentAsync(ce);
        await portal.Api.CreateJobQueueAsync(stage.Queue, ce);
        await portal.Api.RegisterJobDefinitionAsync(stage.DefinitionA, "true");
        await portal.Api.RegisterJobDefinitionAsync(stage.DefinitionB, "true");

        var ids = new List<string>();
        foreach (var (name, definition) in new[] { ("alpha-1", stage.DefinitionA), ("alpha-2", stage.DefinitionA), ("Alpha-3", stage.DefinitionB), ("beta-1", stage.DefinitionA), ("beta-2", stage.DefinitionB) })
        {
            ids.Add((await Cli.OkAsync("batch", "submit-job", "--job-name", name, "--job-queue", stage.Queue, "--job-definition", definition)).Str("jobId"));
        }

        foreach (var id in ids)
        {
            await portal.Api.WaitForStatusAsync(id, "SUCCEEDED");
        }

        stage.Jobs.AddRange((await portal.Api.OkAsync("describejobs", new { jobs = ids })).Items("jobs"));
        return stage;
    });

    private async Task<string[]> IdsAsync(params int[] positions)
    {
        var jobs = (await StageAsync()).Jobs;
        return [.. positions.Select(i => jobs[i].Str("jobId"))];
    }

    /// <summary>The five jobs, oldest first: alpha-1 (A), alpha-2 (A), Alpha-3 (B), beta-1 (A), beta-2 (B).</summary>
    private sealed record Stage(string Queue, string DefinitionA, string DefinitionB)
    {
        public List<JsonElement> Jobs { get; } = [];
    }
}
