using System.Text.Json;
using BatchPortal.Api.Tests.Support;

namespace BatchPortal.Api.Tests.JsSdk;

/// <summary>Jobs through <c>@aws-sdk/client-batch</c> (the <c>jobs</c> scenario of <c>js/batch-scenario.mjs</c>).</summary>
[Collection(JsSdkCollection.Name)]
[Trait("Category", "Api")]
public sealed class JobsSdkTests(ApiFixture portal)
{
    private const string Arns = "arn:aws:batch:us-east-1:000000000000:";

    [Fact]
    public async Task JobsScenario_SubmitsListsCancelsTerminatesAndTagsAsAwsDoes_WhenDrivenByTheJsSdk()
    {
        var prefix = PortalFixture.Unique("js");

        var r = await NodeScenario.RunAsync(portal.Endpoint, "jobs", new { prefix });

        // Submitted by name (queue by name), by name:revision and by ARN (queue by ARN); the unknown id is left out.
        var submitted = r.Member("submitted");
        var byName = submitted.Member("byName").Str("jobId");
        var byRevision = submitted.Member("byRevision").Str("jobId");
        var byArn = submitted.Member("byArn").Str("jobId");
        var jobs = r.Member("described").Items("jobs");
        Assert.Equal([byName, byRevision, byArn], jobs.Select(j => j.Str("jobId")));

        var named = jobs[0];
        AssertFinished(named, "SUCCEEDED", 0);
        Assert.Equal($"{Arns}job-definition/{prefix}-def:2", named.Str("jobDefinition"));
        Assert.Equal($"{Arns}job-queue/{prefix}-queue", named.Str("jobQueue"));
        Assert.Equal("from-parameters", named.Member("parameters").Str("greeting"));
        Assert.Equal(["sh", "-c", "echo from-parameters $EXTRA"], named.Member("container").Items("command").Select(c => c.GetString()));
        Assert.Contains(named.Member("container").Items("environment"), e => e.Str("name") == "EXTRA" && e.Str("value") == "from-environment");
        AssertFinished(jobs[1], "SUCCEEDED", 0);
        Assert.Equal($"{Arns}job-definition/{prefix}-def:1", jobs[1].Str("jobDefinition"));
        AssertFinished(jobs[2], "FAILED", 3);

        // ListJobs: two per page across the queue's finished jobs, newest first; by status; by definition ARN.
        var pages = r.Items("listPages").Select(p => p.EnumerateArray().Select(id => id.GetString()!).ToArray()).ToList();
        Assert.All(pages, p => Assert.InRange(p.Length, 1, 2));
        Assert.Equal([byArn, byRevision, byName], pages.SelectMany(p => p));
        Assert.Equal([byRevision, byName], r.Member("listSucceeded").Items("jobSummaryList").Select(j => j.Str("jobId")));
        Assert.Equal([byArn, byName], r.Member("listByDefinition").Items("jobSummaryList").Select(j => j.Str("jobId")));

        // TerminateJob on a RUNNING job, which the default ListJobs listed.
        var sleeper = r.Str("sleeperId");
        Assert.Equal(sleeper, Assert.Single(r.Member("listDefault").Items("jobSummaryList")).Str("jobId"));
        Assert.Equal("{}", r.Member("terminate").GetRawText());
        var terminated = r.Member("terminated");
        Assert.Equal("FAILED", terminated.Str("status"));
        Assert.Equal("Terminated by the JS scenario", terminated.Str("statusReason"));
        Assert.True(terminated.Bool("isTerminated"));

        // RUNNABLE jobs of a queue whose environment is disabled: the snapshot in submission order, then a cancel.
        var waiting = r.Items("waiting").Select(id => $"{Arns}job/{id.GetString()}");
        Assert.Equal(waiting, r.Member("snapshot").Member("frontOfQueue").Items("jobs").Select(j => j.Str("jobArn")));
        var cancelled = r.Member("cancelled");
        Assert.Equal("FAILED", cancelled.Str("status"));
        Assert.Equal("Cancelled by the JS scenario", cancelled.Str("statusReason"));
        Assert.True(cancelled.Bool("isCancelled"));

        // Tags: added, one removed, on each kind of resource.
        foreach (var resource in new[] { "jobDefinition", "job", "queue", "computeEnvironment" })
        {
            var tags = r.Member("tags").Member(resource);
            Assert.Equal([("owner", "js")], tags.EnumerateObject().Select(t => (t.Name, t.Value.GetString()!)));
        }

        ResourcesSdkTests.AssertClientError(r.Member("errors").Member("cancelWithoutReason"), "reason");
        ResourcesSdkTests.AssertClientError(r.Member("errors").Member("unknownDefinition"), $"{prefix}-nope");
    }

    private static void AssertFinished(JsonElement job, string status, int exitCode)
    {
        Assert.Equal(status, job.Str("status"));
        Assert.Equal("Essential container in task exited", job.Str("statusReason"));
        Assert.Equal(exitCode, job.Member("container").Number("exitCode"));
        Assert.InRange(job.Number("startedAt"), job.Number("createdAt"), job.Number("stoppedAt"));
        var attempt = Assert.Single(job.Items("attempts"));
        Assert.False(string.IsNullOrEmpty(attempt.Member("container").Str("logStreamName")), job.ToString());
    }
}
