using System.Text.Json;
using BatchPortal.Api.Tests.Support;

namespace BatchPortal.Api.Tests.Cli;

/// <summary>SubmitJob, DescribeJobs, CancelJob and TerminateJob, and reading a job's log, through the aws CLI.</summary>
[Collection(CliJobsCollection.Name)]
[Trait("Category", "Api")]
public sealed class JobsCliTests(ApiFixture portal)
{
    private const string Arns = "arn:aws:batch:us-east-1:000000000000:";

    private AwsCli Cli => portal.Cli;

    [Fact]
    public async Task SubmitJob_RunsToSucceeded_WhenTheDefinitionIsNamedByNameRevisionOrArn()
    {
        var (queue, _) = await CreateQueueAsync();
        var definition = PortalFixture.Unique("jd-sub");
        const string Command = """["sh","-c","echo Ref::word $GREETING"]""";
        foreach (var word in new[] { "first", "second" })
        {
            await Cli.OkAsync(
                "batch", "register-job-definition", "--job-definition-name", definition, "--type", "container", "--parameters", $"word={word}",
                "--container-properties",
                $$"""{"image":"{{BatchHttp.Image}}","command":{{Command}},"environment":[{"name":"GREETING","value":"hello"}],"resourceRequirements":[{"type":"VCPU","value":"1"},{"type":"MEMORY","value":"64"}]}""");
        }

        var byName = await Cli.OkAsync(
            "batch", "submit-job", "--job-name", "by-name", "--job-queue", queue, "--job-definition", definition,
            "--parameters", "word=overridden",
            "--container-overrides", """{"environment":[{"name":"GREETING","value":"hi"}]}""");
        var byRevision = await Cli.OkAsync(
            "batch", "submit-job", "--job-name", "by-revision", "--job-queue", $"{Arns}job-queue/{queue}", "--job-definition", $"{definition}:1");
        var byArn = await Cli.OkAsync(
            "batch", "submit-job", "--job-name", "by-arn", "--job-queue", $"{Arns}job-queue/{queue}", "--job-definition", $"{Arns}job-definition/{definition}:2",
            "--container-overrides", """{"command":["sh","-c","echo from-override"]}""");

        Assert.Equal("by-name", byName.Str("jobName"));
        Assert.Equal($"{Arns}job/{byName.Str("jobId")}", byName.Str("jobArn"));
        string[] ids = [byName.Str("jobId"), byRevision.Str("jobId"), byArn.Str("jobId")];
        foreach (var id in ids)
        {
            await portal.Api.WaitForFinalAsync(id);
        }

        var jobs = (await Cli.OkAsync(["batch", "describe-jobs", "--jobs", .. ids])).Items("jobs");
        Assert.Equal(ids, jobs.Select(j => j.Str("jobId")));
        foreach (var job in jobs)
        {
            AssertSucceeded(job);
            Assert.Equal($"{Arns}job-queue/{queue}", job.Str("jobQueue"));
        }

        Assert.Equal($"{Arns}job-definition/{definition}:2", jobs[0].Str("jobDefinition"));
        Assert.Equal("overridden", jobs[0].Member("parameters").Str("word"));
        Assert.Equal(["sh", "-c", "echo overridden $GREETING"], jobs[0].Member("container").Items("command").Select(c => c.GetString()));
        Assert.Equal($"{Arns}job-definition/{definition}:1", jobs[1].Str("jobDefinition"));
        Assert.Equal("first", jobs[1].Member("parameters").Str("word"));
        Assert.Equal($"{Arns}job-definition/{definition}:2", jobs[2].Str("jobDefinition"));

        Assert.Equal(["overridden hi"], await LogLinesAsync(jobs[0]));
        Assert.Equal(["first hello"], await LogLinesAsync(jobs[1]));
        Assert.Equal(["from-override"], await LogLinesAsync(jobs[2]));
    }

    [Fact]
    public async Task SubmitJob_EndsFailedWithTheExitCode_WhenTheContainerExitsNonZero()
    {
        var (queue, definition) = await CreateQueueAsync();

        var submitted = await Cli.OkAsync(
            "batch", "submit-job", "--job-name", "exit-3", "--job-queue", queue, "--job-definition", definition,
            "--container-overrides", """{"command":["sh","-c","echo failing; exit 3"]}""");
        await portal.Api.WaitForFinalAsync(submitted.Str("jobId"));

        var job = Assert.Single((await Cli.OkAsync("batch", "describe-jobs", "--jobs", submitted.Str("jobId"))).Items("jobs"));
        Assert.Equal("FAILED", job.Str("status"));
        Assert.Equal(3, job.Member("container").Number("exitCode"));
        Assert.Equal(3, Assert.Single(job.Items("attempts")).Member("container").Number("exitCode"));
        Assert.Equal("Essential container in task exited", job.Str("statusReason"));
    }

    [Fact]
    public async Task SubmitJob_FailsWithClientException_WhenTheQueueDoesNotExist()
    {
        var (_, definition) = await CreateQueueAsync();
        var missing = PortalFixture.Unique("q-missing");

        var error = await Cli.FailsAsync("ClientException", "batch", "submit-job", "--job-name", "lost", "--job-queue", missing, "--job-definition", definition);

        Assert.Contains(missing, error, StringComparison.Ordinal);
        Assert.Contains("does not exist", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task DescribeJobs_LeavesAJobOut_WhenItsIdIsUnknown()
    {
        var (queue, definition) = await CreateQueueAsync();
        var id = await portal.Api.SubmitJobAsync("known", queue, definition);

        var jobs = (await Cli.OkAsync("batch", "describe-jobs", "--jobs", Guid.NewGuid().ToString(), id, "not-a-job-id")).Items("jobs");

        Assert.Equal(id, Assert.Single(jobs).Str("jobId"));
    }

    [Fact]
    public async Task DescribeJobs_FailsWithClientException_WhenGivenMoreThan100Ids()
    {
        var error = await Cli.FailsAsync("ClientException", ["batch", "describe-jobs", "--jobs", .. Enumerable.Range(0, 101).Select(_ => Guid.NewGuid().ToString())]);

        Assert.Contains("100", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task CancelJob_FailsTheJobWithTheReason_WhenItIsRunnable()
    {
        // The queue's only environment is disabled, so the job waits in RUNNABLE.
        var ce = PortalFixture.Unique("ce-off");
        var queue = PortalFixture.Unique("q-parked");
        var definition = PortalFixture.Unique("jd-parked");
        await portal.Api.CreateComputeEnvironmentAsync(ce, state: "DISABLED");
        await portal.Api.CreateJobQueueAsync(queue, ce);
        await portal.Api.RegisterJobDefinitionAsync(definition, "true");
        var id = await portal.Api.SubmitJobAsync("parked", queue, definition);
        await portal.Api.WaitForStatusAsync(id, "RUNNABLE");

        var cancelled = await Cli.OkAsync("batch", "cancel-job", "--job-id", id, "--reason", "Cancelled from the CLI test");
        await portal.Api.WaitForFinalAsync(id);

        Assert.Equal("{}", cancelled.GetRawText());
        var job = Assert.Single((await Cli.OkAsync("batch", "describe-jobs", "--jobs", id)).Items("jobs"));
        Assert.Equal("FAILED", job.Str("status"));
        Assert.Equal("Cancelled from the CLI test", job.Str("statusReason"));
        Assert.True(job.Bool("isCancelled"));
        Assert.Empty(job.Items("attempts"));
    }

    [Fact]
    public async Task TerminateJob_StopsTheContainerAndFailsTheJobWithTheReason_WhenItIsRunning()
    {
        var (queue, definition) = await CreateQueueAsync();
        var submitted = await Cli.OkAsync(
            "batch", "submit-job", "--job-name", "sleeper", "--job-queue", queue, "--job-definition", definition,
            "--container-overrides", """{"command":["sleep","30"]}""");
        var id = submitted.Str("jobId");
        await portal.Api.WaitForStatusAsync(id, "RUNNING");

        // ListJobs without a status lists RUNNING jobs.
        var running = (await Cli.OkAsync("batch", "list-jobs", "--job-queue", queue)).Items("jobSummaryList");
        Assert.Equal(id, Assert.Single(running).Str("jobId"));

        var terminated = await Cli.OkAsync("batch", "terminate-job", "--job-id", id, "--reason", "Terminated from the CLI test");
        await portal.Api.WaitForFinalAsync(id);

        Assert.Equal("{}", terminated.GetRawText());
        var job = Assert.Single((await Cli.OkAsync("batch", "describe-jobs", "--jobs", id)).Items("jobs"));
        Assert.Equal("FAILED", job.Str("status"));
        Assert.Equal("Terminated from the CLI test", job.Str("statusReason"));
        Assert.True(job.Bool("isTerminated"));
        Assert.Empty((await Cli.OkAsync("batch", "list-jobs", "--job-queue", queue)).Items("jobSummaryList"));
    }

    /// <summary>What AWS shows for a job whose container exited 0.</summary>
    private static void AssertSucceeded(JsonElement job)
    {
        Assert.Equal("SUCCEEDED", job.Str("status"));
        Assert.Equal("Essential container in task exited", job.Str("statusReason"));
        Assert.Equal(0, job.Member("container").Number("exitCode"));
        var createdAt = job.Number("createdAt");
        var startedAt = job.Number("startedAt");
        var stoppedAt = job.Number("stoppedAt");
        Assert.InRange(startedAt, createdAt, stoppedAt);
        var attempt = Assert.Single(job.Items("attempts"));
        Assert.False(string.IsNullOrEmpty(attempt.Member("container").Str("logStreamName")), job.ToString());
        Assert.Equal(0, attempt.Member("container").Number("exitCode"));
        attempt.Number("startedAt");
        attempt.Number("stoppedAt");
    }

    private async Task<string[]> LogLinesAsync(JsonElement job)
    {
        var stream = job.Items("attempts")[0].Member("container").Str("logStreamName");
        var events = await Cli.OkAsync("logs", "get-log-events", "--log-group-name", "/aws/batch/job", "--log-stream-name", stream, "--start-from-head");
        return [.. events.Items("events").Select(e => e.Str("message"))];
    }

    private async Task<(string Queue, string Definition)> CreateQueueAsync()
    {
        var ce = PortalFixture.Unique("ce-run");
        var queue = PortalFixture.Unique("q-run");
        var definition = PortalFixture.Unique("jd-run");
        await portal.Api.CreateComputeEnvironmentAsync(ce);
        await portal.Api.CreateJobQueueAsync(queue, ce);
        await portal.Api.RegisterJobDefinitionAsync(definition, "true");
        return (queue, definition);
    }
}
