using System.Net;
using System.Text;
using System.Text.Json;
using BatchPortal.Api.Tests.Support;

namespace BatchPortal.Api.Tests.Http;

/// <summary>
/// The CloudWatch-Logs-shaped API within CloudWatch's bounds (issue #11): no answer carries more than 1 MB of events or
/// 10,000 of them, a search reads a bounded part of the logs per call and says when it has not read everything, and
/// streams can be listed by their latest event.
/// </summary>
[Collection(CliJobsCollection.Name)]
[Trait("Category", "Api")]
public sealed class LogsLimitsTests(ApiFixture portal)
{
    private const int Lines = 4_000;
    private const int Width = 1_000;

    /// <summary>A job printing 4,000 lines of 1,000 characters (about 4 MB): the stream every test here reads.</summary>
    private static readonly JsonSerializerOptions Json = new() { DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull };

    private async Task<(string JobId, string Stream)> BigLogAsync()
    {
        var log = await portal.SharedAsync("big-log", CreateBigLogAsync);
        return (log.JobId, log.Stream);
    }

    private sealed record BigLog(string JobId, string Stream);

    private async Task<BigLog> CreateBigLogAsync()
    {
        var name = PortalFixture.Unique("logs");
        var ce = await portal.Api.CreateComputeEnvironmentAsync($"{name}-ce");
        await portal.Api.CreateJobQueueAsync($"{name}-q", ce);
        await portal.Api.RegisterJobDefinitionAsync($"{name}-def", "sh", "-c", $"i=0; while [ $i -lt {Lines} ]; do printf '%0{Width}d\\n' $i; i=$((i+1)); done");
        var jobId = await portal.Api.SubmitJobAsync(name, $"{name}-q", $"{name}-def");
        var job = await portal.Api.WaitForFinalAsync(jobId);
        Assert.Equal("SUCCEEDED", job.Str("status"));
        return new BigLog(jobId, job.GetProperty("container").Str("logStreamName"));
    }

    private static string Line(int i) => i.ToString($"D{Width}", System.Globalization.CultureInfo.InvariantCulture);

    [Fact]
    public async Task GetLogEvents_AnswersAtMostOneMegabyte_AndPagesThroughEveryEventOnce()
    {
        // Regression: #11. Pages ignored the 1 MB cap: 3.3 MB pages were seen.
        var (_, stream) = await BigLogAsync();
        var read = new List<string>();
        string? token = null;
        for (var page = 0; page < 100; page++)
        {
            var reply = await LogsAsync("GetLogEvents", new { logGroupName = "/aws/batch/job", logStreamName = stream, startFromHead = true, nextToken = token });
            var events = reply.GetProperty("events").EnumerateArray().Select(e => e.Str("message")).ToList();
            Assert.True(events.Sum(m => Encoding.UTF8.GetByteCount(m) + 26) <= 1_048_576, $"A page of {events.Count} events is over 1 MB.");
            var next = reply.Str("nextForwardToken");
            read.AddRange(events);
            if (events.Count == 0 || next == token)
            {
                break;
            }

            token = next;
        }

        Assert.Equal(Enumerable.Range(0, Lines).Select(Line), read);
    }

    [Fact]
    public async Task FilterLogEvents_ReadsABoundedPagePerCall_AndFindsEveryEventByItsNextToken()
    {
        // Regression: #11. FilterLogEvents read only the first 100,000 events of a stream while answering
        // searchedCompletely: true, and could load 1,000 streams of 100,000 events in one call.
        var (_, stream) = await BigLogAsync();
        var found = new List<string>();
        string? token = null;
        var pages = 0;
        do
        {
            var reply = await LogsAsync("FilterLogEvents", new { logGroupName = "/aws/batch/job", logStreamNames = new[] { stream }, nextToken = token });
            var events = reply.GetProperty("events").EnumerateArray().Select(e => e.Str("message")).ToList();
            Assert.True(events.Sum(m => Encoding.UTF8.GetByteCount(m) + 26) <= 1_048_576, $"A page of {events.Count} events is over 1 MB.");
            token = reply.TryGetProperty("nextToken", out var t) && t.ValueKind == JsonValueKind.String ? t.GetString() : null;
            var searched = reply.GetProperty("searchedLogStreams")[0].GetProperty("searchedCompletely").GetBoolean();
            Assert.Equal(token is null, searched);
            found.AddRange(events);
            pages++;
        }
        while (token is not null && pages < 100);

        Assert.True(pages >= 4, $"4 MB came back in {pages} page(s).");
        Assert.Equal(Enumerable.Range(0, Lines).Select(Line), found);
    }

    [Fact]
    public async Task DescribeLogStreams_OrdersByTheLatestEvent_WhenOrderByIsLastEventTime()
    {
        // Regression: #11. orderBy LastEventTime was accepted and ignored.
        var (_, big) = await BigLogAsync();
        var name = PortalFixture.Unique("later");
        var ce = await portal.Api.CreateComputeEnvironmentAsync($"{name}-ce");
        await portal.Api.CreateJobQueueAsync($"{name}-q", ce);
        await portal.Api.RegisterJobDefinitionAsync($"{name}-def", "sh", "-c", "echo later");
        var job = await portal.Api.WaitForFinalAsync(await portal.Api.SubmitJobAsync(name, $"{name}-q", $"{name}-def"));
        var later = job.GetProperty("container").Str("logStreamName");

        var reply = await LogsAsync("DescribeLogStreams", new { logGroupName = "/aws/batch/job", orderBy = "LastEventTime", descending = true, limit = 50 });
        var names = reply.GetProperty("logStreams").EnumerateArray().Select(s => s.Str("logStreamName")).ToList();
        var times = reply.GetProperty("logStreams").EnumerateArray().Select(s => s.TryGetProperty("lastEventTimestamp", out var t) ? t.GetInt64() : 0).ToList();

        Assert.True(names.IndexOf(later) < names.IndexOf(big), string.Join(", ", names));
        Assert.Equal(times.OrderDescending(), times);
    }

    private async Task<JsonElement> LogsAsync(string operation, object body)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/");
        request.Headers.Add("X-Amz-Target", $"Logs_20140328.{operation}");
        request.Content = new StringContent(JsonSerializer.Serialize(body, Json), Encoding.UTF8, "application/x-amz-json-1.1");
        using var response = await portal.Api.Client.SendAsync(request);
        var reply = await BatchHttp.ReadAsync(response);
        Assert.True(reply.Status == HttpStatusCode.OK, $"{operation} answered {(int)reply.Status}: {reply.Text[..Math.Min(400, reply.Text.Length)]}");
        return reply.Body;
    }
}
