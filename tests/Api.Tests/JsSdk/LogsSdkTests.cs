using BatchPortal.Api.Tests.Support;

namespace BatchPortal.Api.Tests.JsSdk;

/// <summary>Job logs through <c>@aws-sdk/client-cloudwatch-logs</c> (log group <c>/aws/batch/job</c>).</summary>
[Collection(JsSdkCollection.Name)]
[Trait("Category", "Api")]
public sealed class LogsSdkTests(ApiFixture portal)
{
    [Fact]
    public async Task LogsScenario_PagesDescribesAndFiltersTheLog_WhenTheJobHasFinished()
    {
        var prefix = PortalFixture.Unique("js");

        var r = await NodeScenario.RunAsync(portal.Endpoint, "logs", new { prefix, lines = 25 });

        Assert.Equal("SUCCEEDED", r.Member("job").Str("status"));
        var stream = r.Str("logStreamName");
        Assert.StartsWith($"{prefix}-def/default/", stream, StringComparison.Ordinal);

        // startFromHead, 10 a page, until nextForwardToken comes back unchanged: the last page is empty.
        var pages = r.Items("pages").Select(p => p.EnumerateArray().Select(m => m.GetString()!).ToArray()).ToList();
        Assert.Equal([10, 10, 5, 0], pages.Select(p => p.Length));
        Assert.Equal(Enumerable.Range(1, 25).Select(i => $"line-{i}"), pages.SelectMany(p => p));
        var first = r.Member("firstEvent");
        Assert.Equal("line-1", first.Str("message"));
        first.Number("timestamp");

        var described = Assert.Single(r.Member("streams").Items("logStreams"));
        Assert.Equal(stream, described.Str("logStreamName"));
        described.Number("creationTime");
        Assert.True(described.Number("storedBytes") > 0, described.ToString());

        var filtered = r.Member("filtered").Items("events");
        Assert.Equal(["line-3", "line-7"], filtered.Select(e => e.Str("message")));
        Assert.All(filtered, e => Assert.Equal(stream, e.Str("logStreamName")));

        var missing = r.Member("missingStream");
        Assert.Equal("ResourceNotFoundException", missing.Str("name"));
        Assert.Equal(400, missing.Number("status"));
    }

    [Fact]
    public async Task GetLogEvents_ReturnsTheFirstLine_WhenTheJobIsStillRunning()
    {
        var prefix = PortalFixture.Unique("js");

        var r = await NodeScenario.RunAsync(portal.Endpoint, "live-log", new { prefix });

        // The job sleeps 5 s between its two lines: "first" was read, and the job was still RUNNING afterwards.
        Assert.Equal("RUNNING", r.Str("statusWhenRunning"));
        Assert.Equal(["first"], r.Items("linesWhileRunning").Select(l => l.GetString()));
        Assert.Equal("RUNNING", r.Str("statusAfterFirstLine"));
        Assert.Equal("SUCCEEDED", r.Member("final").Str("status"));
        Assert.Equal(["first", "second"], r.Items("linesAtEnd").Select(l => l.GetString()));
    }
}
