using System.Globalization;
using System.Text.Json.Nodes;
using BatchPortal.Engine.Domain;
using BatchPortal.Engine.Storage;

namespace BatchPortal.Portal.Api;

/// <summary>
/// A CloudWatch-Logs-shaped read API for job logs (JSON 1.1: <c>POST /</c> with <c>X-Amz-Target: Logs_20140328.Op</c>),
/// so <c>logs.get_log_events(logGroupName='/aws/batch/job', logStreamName=...)</c> reads a job's output, also while it runs.
/// </summary>
internal static class LogsApi
{
    public const string LogGroup = "/aws/batch/job";

    /// <summary>CloudWatch's bound on one answer's events: 1 MB, each event's UTF-8 message plus 26 bytes.</summary>
    public const long MaxResponseBytes = 1_048_576;

    /// <summary>How many lines one FilterLogEvents call reads at most before it answers with a nextToken.</summary>
    public const int FilterScanBudget = 50_000;
    private const string TargetPrefix = "Logs_20140328.";

    /// <summary>Handles requests aimed at the Logs API before routing, since <c>POST /</c> is otherwise the console's.</summary>
    public static WebApplication UseLogsApi(this WebApplication app)
    {
        app.Use(async (http, next) =>
        {
            if (!HttpMethods.IsPost(http.Request.Method)
                || http.Request.Headers["X-Amz-Target"].ToString() is not { } target
                || !target.StartsWith(TargetPrefix, StringComparison.Ordinal))
            {
                await next(http);
                return;
            }

            http.Response.Headers["x-amzn-RequestId"] = Guid.NewGuid().ToString();
            IResult result;
            try
            {
                result = await HandleAsync(http, target[TargetPrefix.Length..]);
            }
            catch (Exception ex) when (!http.RequestAborted.IsCancellationRequested)
            {
                http.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger("BatchPortal.LogsApi").LogError(ex, "Logs API {Target} failed", target);
                result = new AwsErrorResult(500, "ServiceUnavailableException", $"The server failed to handle {target}: {ex.GetType().Name}.");
            }

            await result.ExecuteAsync(http);
        });
        return app;
    }

    private static async Task<IResult> HandleAsync(HttpContext http, string operation)
    {
        var read = await AwsRequest.ReadAsync(http.Request, 64 * 1024, operation, http.RequestAborted);
        if (read.Error is { } error)
        {
            return Invalid(error.Message);
        }

        var request = read.Value!;
        return operation switch
        {
            "GetLogEvents" => await GetLogEventsAsync(http, request),
            "DescribeLogStreams" => await DescribeLogStreamsAsync(http, request),
            "FilterLogEvents" => await FilterLogEventsAsync(http, request),
            "DescribeLogGroups" => new AwsOkResult(new { logGroups = new[] { new { logGroupName = LogGroup, arn = $"arn:aws:logs:{http.Service<Arns>().Region}:{http.Service<Arns>().AccountId}:log-group:{LogGroup}:*" } } }),
            _ => new AwsErrorResult(400, "UnknownOperationException", $"Operation {operation} is not supported; this endpoint serves GetLogEvents, DescribeLogStreams, FilterLogEvents and DescribeLogGroups."),
        };
    }

    private static async Task<IResult> GetLogEventsAsync(HttpContext http, AwsRequest request)
    {
        var input = request.Bind<GetLogEventsRequest>();
        if (input.Error is { } error)
        {
            return Invalid(error.Message);
        }

        var r = input.Value!;
        if (CheckGroup(r.LogGroupName ?? r.LogGroupIdentifier) is { } groupError)
        {
            return groupError;
        }

        if (string.IsNullOrEmpty(r.LogStreamName))
        {
            return Invalid("logStreamName is required.");
        }

        if (r.Limit is < 1 or > 10_000)
        {
            return Invalid($"limit must be from 1 to 10000, not {r.Limit}.");
        }

        var logs = http.Service<LogStore>();
        var stream = await logs.FindStreamAsync(r.LogStreamName, http.RequestAborted);
        if (stream is null)
        {
            return NotFound("The specified log stream does not exist.");
        }

        // Tokens are positions: f/<id> continues forward after id, b/<id> backward before it. With no new events the
        // forward token comes back unchanged, which is how SDK paginators know to stop.
        long? after = null, before = null;
        var fromHead = r.StartFromHead ?? false;
        if (r.NextToken is { } token)
        {
            if (!TryParseToken(token, out var forward, out var position))
            {
                return Invalid($"nextToken '{token}' is not one this API handed out.");
            }

            if (forward)
            {
                after = position;
                fromHead = true;
            }
            else
            {
                before = position;
                fromHead = false;
            }
        }

        var read = await logs.ReadRangeAsync(stream.JobId, stream.Attempt, FromMillis(r.StartTime), FromMillis(r.EndTime), after, before, r.Limit ?? 10_000, fromHead, http.RequestAborted);
        var events = WithinResponseSize(read, fromHead);
        var forwardToken = events.Count > 0 ? $"f/{events[^1].Id:D20}" : r.NextToken is { } t && t.StartsWith("f/", StringComparison.Ordinal) ? t : $"f/{after ?? before ?? 0:D20}";
        var backwardToken = events.Count > 0 ? $"b/{events[0].Id:D20}" : r.NextToken is { } b && b.StartsWith("b/", StringComparison.Ordinal) ? b : $"b/{before ?? after ?? 0:D20}";
        return new AwsOkResult(new
        {
            events = events.Select(e => new { timestamp = Millis(e.Timestamp), message = e.Message, ingestionTime = Millis(e.Timestamp) }),
            nextForwardToken = forwardToken,
            nextBackwardToken = backwardToken,
        });
    }

    private static async Task<IResult> DescribeLogStreamsAsync(HttpContext http, AwsRequest request)
    {
        var input = request.Bind<DescribeLogStreamsRequest>();
        if (input.Error is { } error)
        {
            return Invalid(error.Message);
        }

        var r = input.Value!;
        if (CheckGroup(r.LogGroupName ?? r.LogGroupIdentifier) is { } groupError)
        {
            return groupError;
        }

        if (r.Limit is < 1 or > 50)
        {
            return Invalid($"limit must be from 1 to 50, not {r.Limit}.");
        }

        if (r.OrderBy is not null and not ("LogStreamName" or "LastEventTime"))
        {
            return Invalid($"orderBy must be LogStreamName or LastEventTime, not '{r.OrderBy}'.");
        }

        if (r.OrderBy == "LastEventTime" && r.LogStreamNamePrefix is not null)
        {
            return Invalid("logStreamNamePrefix cannot be used when orderBy is LastEventTime.");
        }

        var start = PageToken.Decode(r.NextToken);
        if (start.Error is { } tokenError)
        {
            return Invalid(tokenError.Message);
        }

        var offset = (int)(start.Value ?? 0);
        var limit = r.Limit ?? 50;
        var streams = await http.Service<LogStore>().ListStreamsAsync(r.LogStreamNamePrefix, offset, limit + 1, r.Descending ?? false, r.OrderBy == "LastEventTime", http.RequestAborted);
        var arns = http.Service<Arns>();
        return new AwsOkResult(new
        {
            logStreams = streams.Take(limit).Select(s => new
            {
                logStreamName = s.Name,
                creationTime = Millis(s.CreatedAt),
                firstEventTimestamp = Millis(s.FirstEventAt),
                lastEventTimestamp = Millis(s.LastEventAt),
                lastIngestionTime = Millis(s.LastEventAt),
                arn = $"arn:aws:logs:{arns.Region}:{arns.AccountId}:log-group:{LogGroup}:log-stream:{s.Name}",
                storedBytes = s.StoredBytes,
            }),
            nextToken = streams.Count > limit ? PageToken.Encode(offset + limit) : null,
        });
    }

    private static async Task<IResult> FilterLogEventsAsync(HttpContext http, AwsRequest request)
    {
        var input = request.Bind<FilterLogEventsRequest>();
        if (input.Error is { } error)
        {
            return Invalid(error.Message);
        }

        var r = input.Value!;
        if (CheckGroup(r.LogGroupName ?? r.LogGroupIdentifier) is { } groupError)
        {
            return groupError;
        }

        if (r.LogStreamNames is { Count: > 0 } && r.LogStreamNamePrefix is not null)
        {
            return Invalid("Give logStreamNames or logStreamNamePrefix, not both.");
        }

        if (r.Limit is < 1 or > 10_000)
        {
            return Invalid($"limit must be from 1 to 10000, not {r.Limit}.");
        }

        var pattern = FilterPattern.Parse(r.FilterPattern);
        if (pattern.Error is { } patternError)
        {
            return Invalid(patternError.Message);
        }

        var start = PageToken.Decode(r.NextToken);
        if (start.Error is { } tokenError)
        {
            return Invalid(tokenError.Message);
        }

        // One bounded read per call, in the order lines were stored: up to the limit, 1 MB of events, or the scan budget,
        // and a nextToken that goes on from the last line read. A page may come back empty with a nextToken, as
        // CloudWatch's do; SDK paginators follow it.
        var names = r.LogStreamNames is { Count: > 0 } given ? given.Distinct(StringComparer.Ordinal).ToList() : null;
        var page = await http.Service<LogStore>().FilterAsync(
            names,
            r.LogStreamNamePrefix,
            start.Value ?? 0,
            FromMillis(r.StartTime),
            FromMillis(r.EndTime),
            pattern.Value!.Matches,
            r.Limit ?? 10_000,
            MaxResponseBytes,
            FilterScanBudget,
            http.RequestAborted);
        return new AwsOkResult(new
        {
            events = page.Events.Select(e => new
            {
                logStreamName = e.Stream,
                timestamp = Millis(e.Timestamp),
                message = e.Message,
                ingestionTime = Millis(e.Timestamp),
                eventId = e.Id.ToString(CultureInfo.InvariantCulture),
            }),
            searchedLogStreams = (names ?? []).Select(n => new { logStreamName = n, searchedCompletely = page.Complete }),
            nextToken = page.Complete ? null : PageToken.Encode(page.LastExaminedId),
        });
    }

    /// <summary>
    /// The events that fit CloudWatch's 1 MB per answer, counted from the end the reader moves away from: the first ones
    /// reading forward, the last ones reading backward. At least one event is always returned.
    /// </summary>
    private static IReadOnlyList<LogEvent> WithinResponseSize(IReadOnlyList<LogEvent> events, bool forward)
    {
        long bytes = 0;
        var count = 0;
        for (; count < events.Count; count++)
        {
            var size = LogStore.EventSize(events[forward ? count : events.Count - 1 - count].Message);
            if (count > 0 && bytes + size > MaxResponseBytes)
            {
                break;
            }

            bytes += size;
        }

        return count == events.Count ? events : forward ? [.. events.Take(count)] : [.. events.Skip(events.Count - count)];
    }

    private static AwsErrorResult? CheckGroup(string? group) =>
        string.IsNullOrEmpty(group) ? Invalid($"logGroupName is required; job logs are in {LogGroup}.")
        : group != LogGroup && !group.EndsWith($":log-group:{LogGroup}", StringComparison.Ordinal) && !group.EndsWith($":log-group:{LogGroup}:*", StringComparison.Ordinal)
            ? NotFound($"The specified log group does not exist: {group}. Job logs are in {LogGroup}.")
            : null;

    private static bool TryParseToken(string token, out bool forward, out long position)
    {
        forward = token.StartsWith("f/", StringComparison.Ordinal);
        position = 0;
        return (forward || token.StartsWith("b/", StringComparison.Ordinal))
            && long.TryParse(token.AsSpan(2), NumberStyles.None, CultureInfo.InvariantCulture, out position);
    }

    private static AwsErrorResult Invalid(string message) => new(400, "InvalidParameterException", message);

    private static AwsErrorResult NotFound(string message) => new(400, "ResourceNotFoundException", message);

    private static long? Millis(DateTimeOffset? t) => t?.ToUnixTimeMilliseconds();

    private static DateTimeOffset? FromMillis(long? ms) => ms is { } v ? DateTimeOffset.FromUnixTimeMilliseconds(v) : null;

    private sealed class GetLogEventsRequest
    {
        public string? LogGroupName { get; set; }

        public string? LogGroupIdentifier { get; set; }

        public string? LogStreamName { get; set; }

        public long? StartTime { get; set; }

        public long? EndTime { get; set; }

        public string? NextToken { get; set; }

        public int? Limit { get; set; }

        public bool? StartFromHead { get; set; }
    }

    private sealed class DescribeLogStreamsRequest
    {
        public string? LogGroupName { get; set; }

        public string? LogGroupIdentifier { get; set; }

        public string? LogStreamNamePrefix { get; set; }

        public string? OrderBy { get; set; }

        public bool? Descending { get; set; }

        public string? NextToken { get; set; }

        public int? Limit { get; set; }
    }

    private sealed class FilterLogEventsRequest
    {
        public string? LogGroupName { get; set; }

        public string? LogGroupIdentifier { get; set; }

        public List<string>? LogStreamNames { get; set; }

        public string? LogStreamNamePrefix { get; set; }

        public long? StartTime { get; set; }

        public long? EndTime { get; set; }

        public string? FilterPattern { get; set; }

        public string? NextToken { get; set; }

        public int? Limit { get; set; }
    }
}

/// <summary>
/// CloudWatch Logs' term syntax for unstructured lines: every plain term must appear, <c>"quoted phrases"</c> as a whole,
/// <c>?term</c> terms are alternatives (one must appear), <c>-term</c> must not appear. Matching is case-sensitive.
/// </summary>
internal sealed class FilterPattern
{
    private readonly List<string> _all = [];
    private readonly List<string> _any = [];
    private readonly List<string> _none = [];

    public static Result<FilterPattern> Parse(string? text)
    {
        var pattern = new FilterPattern();
        if (string.IsNullOrWhiteSpace(text))
        {
            return pattern;
        }

        if (text.TrimStart().StartsWith('{') || text.TrimStart().StartsWith('['))
        {
            return new ValidationFailed("filterPattern", "JSON and space-delimited filter patterns ({ ... } and [ ... ]) are not supported; use terms, \"phrases\", ?alternatives and -exclusions.");
        }

        var i = 0;
        while (i < text.Length)
        {
            if (char.IsWhiteSpace(text[i]))
            {
                i++;
                continue;
            }

            var kind = text[i] is '?' or '-' ? text[i++] : ' ';
            string term;
            if (i < text.Length && text[i] == '"')
            {
                var end = text.IndexOf('"', i + 1);
                if (end < 0)
                {
                    return new ValidationFailed("filterPattern", $"filterPattern has an unclosed quote: {text}");
                }

                term = text[(i + 1)..end];
                i = end + 1;
            }
            else
            {
                var end = i;
                while (end < text.Length && !char.IsWhiteSpace(text[end]))
                {
                    end++;
                }

                term = text[i..end];
                i = end;
            }

            if (term.Length == 0)
            {
                continue;
            }

            (kind == '?' ? pattern._any : kind == '-' ? pattern._none : pattern._all).Add(term);
        }

        return pattern;
    }

    public bool Matches(string message) =>
        _all.All(t => message.Contains(t, StringComparison.Ordinal))
        && (_any.Count == 0 || _any.Any(t => message.Contains(t, StringComparison.Ordinal)))
        && !_none.Any(t => message.Contains(t, StringComparison.Ordinal));
}
