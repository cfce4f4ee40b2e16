using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using BatchPortal.Engine.Domain;
using BatchPortal.Engine.Storage;

namespace BatchPortal.PortalBenchmarks;

/// <summary>The result of one SubmitJob load: rate, per-request latency, and the ids handed out.</summary>
internal sealed record SubmitRun(double JobsPerSecond, Samples Latency, List<string> Ids, int Errors, TimeSpan Elapsed, double ServerCpuMsPerJob);

internal static class Scenarios
{
    /// <summary>
    /// SubmitJob from <paramref name="clients"/> concurrent clients (each its own HttpClient, one request in flight), raw
    /// JSON POST /v1/submitjob, until <paramref name="total"/> jobs are in; a short warm-up first is not counted.
    /// </summary>
    public static async Task<SubmitRun> SubmitLoadAsync(Uri address, string queue, string definition, string namePrefix, int total, int clients, int warmup, Func<TimeSpan>? serverCpu = null)
    {
        var http = Enumerable.Range(0, clients).Select(_ => new BatchClient(address, TimeSpan.FromSeconds(120))).ToArray();
        try
        {
            await Task.WhenAll(http.Select(async (client, c) =>
            {
                for (var i = c; i < warmup; i += clients)
                {
                    await client.CallAsync("submitjob", Setup.SubmitBody($"warm-{namePrefix}-{i:D5}", queue, definition));
                }
            }));

            var latency = new Samples();
            var ids = new string[total];
            var errors = 0;
            var next = -1;
            var cpuBefore = serverCpu?.Invoke() ?? TimeSpan.Zero;
            var started = Stopwatch.GetTimestamp();
            await Task.WhenAll(http.Select(client => Task.Run(async () =>
            {
                int i;
                while ((i = Interlocked.Increment(ref next)) < total)
                {
                    var (status, body, ms) = await client.TimedAsync("submitjob", Setup.SubmitBody($"{namePrefix}-{i:D5}", queue, definition));
                    latency.Add(ms);
                    if (status == 200)
                    {
                        using var doc = JsonDocument.Parse(body);
                        ids[i] = doc.RootElement.GetProperty("jobId").GetString()!;
                    }
                    else
                    {
                        Interlocked.Increment(ref errors);
                    }
                }
            })));
            var elapsed = Stopwatch.GetElapsedTime(started);
            var cpu = serverCpu is null ? double.NaN : (serverCpu() - cpuBefore).TotalMilliseconds / total;
            return new SubmitRun((total - errors) / elapsed.TotalSeconds, latency, [.. ids.Where(id => id is not null)], errors, elapsed, cpu);
        }
        finally
        {
            foreach (var client in http)
            {
                client.Dispose();
            }
        }
    }

    /// <summary>Runs <paramref name="once"/> <paramref name="warmup"/> times untimed, then <paramref name="samples"/> times timed.</summary>
    public static async Task<Samples> MeasureAsync(int warmup, int samples, Func<int, Task> once)
    {
        for (var i = 0; i < warmup; i++)
        {
            await once(-1 - i);
        }

        var result = new Samples();
        for (var i = 0; i < samples; i++)
        {
            var started = Stopwatch.GetTimestamp();
            await once(i);
            result.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        }

        return result;
    }

    /// <summary>An API call that must answer 200 (and, when given, pass <paramref name="check"/>).</summary>
    public static Func<int, Task> Api(BatchClient client, string operation, Func<int, string> body, Action<JsonElement>? check = null) => async i =>
    {
        var (status, text, _) = await client.TimedAsync(operation, body(i));
        if (status != 200)
        {
            throw new InvalidOperationException($"{operation} answered {status}: {text[..Math.Min(300, text.Length)]}");
        }

        if (check is not null)
        {
            using var doc = JsonDocument.Parse(text);
            check(doc.RootElement);
        }
    };

    /// <summary>A GET of the jobs page (server-side prerender) that must answer 200 with the list in it.</summary>
    public static Func<int, Task> Page(BatchClient client, string pathAndQuery) => async _ =>
    {
        var (status, body, _) = await client.GetAsync(pathAndQuery);
        if (status != 200 || !body.Contains("job(s) match", StringComparison.Ordinal))
        {
            throw new InvalidOperationException($"GET {pathAndQuery} answered {status} without the job list.");
        }
    };

    /// <summary>The jobs page's two queries, as JobList.LoadAsync runs them: a keyset page of 50, then the match count.</summary>
    public static Func<int, Task> PageQueries(JobQueries store, JobFilter filter) => async _ =>
    {
        var page = await store.FindAsync(filter, new PageRequest(50));
        var total = await store.CountAsync(filter);
        if (page.Items.Count == 0 || total == 0)
        {
            throw new InvalidOperationException($"The page query found nothing for {filter}.");
        }
    };

    public static string ListBody(string queue, string? status = null, string? nextToken = null, (string Name, string Value)? filter = null, int? maxResults = null) =>
        JsonSerializer.Serialize(new Dictionary<string, object?>
        {
            ["jobQueue"] = queue,
            ["jobStatus"] = status,
            ["nextToken"] = nextToken,
            ["maxResults"] = maxResults,
            ["filters"] = filter is { } f ? new[] { new { name = f.Name, values = new[] { f.Value } } } : null,
        }.Where(p => p.Value is not null).ToDictionary(p => p.Key, p => p.Value));

    /// <summary>100 ids for DescribeJobs sample <paramref name="i"/>: a different slice of the pool each time.</summary>
    public static string DescribeBody(IReadOnlyList<string> pool, int i)
    {
        var start = (Math.Abs(i) * 100) % Math.Max(1, pool.Count - 100);
        return JsonSerializer.Serialize(new { jobs = pool.Skip(start).Take(100) });
    }

    public static Action<JsonElement> ListReturns(int atLeast) => root =>
    {
        var n = root.GetProperty("jobSummaryList").GetArrayLength();
        if (n < atLeast)
        {
            throw new InvalidOperationException($"ListJobs returned {n} jobs, expected at least {atLeast}.");
        }
    };

    public static Action<JsonElement> DescribeReturns(int count) => root =>
    {
        var n = root.GetProperty("jobs").GetArrayLength();
        if (n != count)
        {
            throw new InvalidOperationException($"DescribeJobs returned {n} jobs, expected {count}.");
        }
    };

    /// <summary>Follows nextToken <paramref name="pages"/> times and returns the token of the page after them.</summary>
    public static async Task<string> TokenAtDepthAsync(BatchClient api, string queue, string status, int pages)
    {
        string? token = null;
        for (var i = 0; i < pages; i++)
        {
            var page = await api.CallAsync("listjobs", ListBody(queue, status, token));
            token = page.TryGetProperty("nextToken", out var t) ? t.GetString() : null;
            if (token is null)
            {
                throw new InvalidOperationException($"ListJobs {queue}/{status} has fewer than {i + 2} pages.");
            }
        }

        return token!;
    }

    public static string Epoch(DateTimeOffset t) => t.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture);

    public static JobFilter QueueAndStatus(string queue, JobStatus status) => new() { Queue = queue, Statuses = [status], TopLevelOnly = true };
}
