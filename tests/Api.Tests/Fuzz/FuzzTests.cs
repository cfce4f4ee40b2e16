using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using BatchPortal.Api.Tests.Support;
using Xunit.Abstractions;

namespace BatchPortal.Api.Tests.Fuzz;

/// <summary>A portal of its own for the fuzz test, so that counting resources before and after is not disturbed.</summary>
public sealed class FuzzFixture : PortalFixture
{
    // Its queues' only environment is disabled: submitted jobs stay RUNNABLE and no container runs.
    protected override bool NeedsDocker => false;
}

[CollectionDefinition(Name)]
public sealed class FuzzCollection : ICollectionFixture<FuzzFixture>
{
    public const string Name = "Fuzz";
}

/// <summary>
/// Raw JSON mutations of a valid request for every Batch operation (and the Logs API): no answer may be a 5xx, every
/// 4xx must carry the ClientException shape, and a request that was refused must have saved nothing.
/// </summary>
[Collection(FuzzCollection.Name)]
[Trait("Category", "Api")]
public sealed class FuzzTests(FuzzFixture portal, ITestOutputHelper output)
{
    private const int Seed = 20_160_810;

    /// <summary>Each member gets this share of the wrong values (drawn with the seed), to keep the run to a few thousand requests.</summary>
    private const double ReplacementShare = 0.6;
    private const int DefaultLimit = 256 * 1024;
    private const string Placeholder = "__NAME__";
    private const string Arns = "arn:aws:batch:us-east-1:000000000000:";

    private static readonly byte[] PlaceholderBytes = Encoding.ASCII.GetBytes(Placeholder);
    private static readonly string[] Optimal = ["optimal"];
    private static readonly string[] Subnets = ["subnet-1"];
    private static readonly string[] FuzzNames = ["fz*"];
    private static readonly string[] Epoch = ["0"];

    private int _counter;

    private enum Creates
    {
        Nothing,
        ComputeEnvironment,
        JobQueue,
        JobDefinition,
        Job,
        Tag,
    }

    [Fact]
    public async Task EveryOperation_AnswersMutatedBodiesWithClientExceptionsAndSavesNothing_WhenTheyAreRefused()
    {
        var random = new Random(Seed);
        var http = portal.Api;
        var stage = await SetStageAsync();
        var targets = Targets(stage);
        var before = await CountAsync();

        var failures = new List<string>();
        var refusedNames = new Dictionary<Creates, List<string>>();
        var created = new Dictionary<Creates, int>();
        var sent = 0;
        var clock = Stopwatch.StartNew();
        foreach (var target in targets)
        {
            // For updates: the resource as it was after the last request, which a refused request must not change.
            var known = target.Describe is { } first ? await DescribeOneAsync(first) : null;
            foreach (var mutation in Mutator.Mutate(() => (JsonObject)JsonNode.Parse(target.Body)!, random, target.Limit, ReplacementShare))
            {
                var name = $"fz{Seed % 1000:D3}x{++_counter:D5}";
                var body = Replace(mutation.Body, PlaceholderBytes, Encoding.ASCII.GetBytes(name));

                var reply = await SendAsync(target.Method, target.Path, body, target.LogsOperation);
                sent++;
                if (target.Describe is { } describe)
                {
                    var now = await DescribeOneAsync(describe);
                    if (reply.Status != HttpStatusCode.OK && now != known)
                    {
                        failures.Add($"{target.Operation} [{mutation.What}] was refused ({Shorten(reply.Text)}) but changed the resource.");
                    }

                    known = now;
                }

                if (Check(reply, target.IsLogs) is { } problem)
                {
                    failures.Add($"{target.Operation} [{mutation.What}]: {problem}");
                    continue;
                }

                if (mutation.What == "valid" && target.AcceptsValid && reply.Status != HttpStatusCode.OK)
                {
                    failures.Add($"{target.Operation}: the valid body was refused: {Shorten(reply.Text)}");
                }

                if (reply.Status == HttpStatusCode.OK)
                {
                    created[target.Creates] = created.GetValueOrDefault(target.Creates) + 1;
                }
                else
                {
                    refusedNames.TryAdd(target.Creates, []);
                    refusedNames[target.Creates].Add(name);
                }
            }
        }

        failures.AddRange(await FuzzTagPathsAsync(stage));
        var elapsed = clock.Elapsed;
        output.WriteLine($"{sent} requests in {elapsed.TotalSeconds:0.0} s (seed {Seed}); accepted: {string.Join(", ", created.Select(c => $"{c.Key} {c.Value}"))}");

        Assert.True(failures.Count == 0, $"{failures.Count} of {sent} requests misbehaved (seed {Seed}):{Environment.NewLine}{string.Join(Environment.NewLine, failures.Take(100))}");
        Assert.InRange(sent, 2000, 20_000);

        // Every kind of create was accepted now and then, so the refusals below were not all there was.
        Assert.All(Enum.GetValues<Creates>(), kind => Assert.True(created.GetValueOrDefault(kind) > 0, $"No {kind} request was accepted."));

        // Nothing half-saved: the counts grew by the accepted creates only, and no refused name exists.
        var after = await CountAsync();
        Assert.Equal(before.ComputeEnvironments.Count + created.GetValueOrDefault(Creates.ComputeEnvironment), after.ComputeEnvironments.Count);
        Assert.Equal(before.JobQueues.Count + created.GetValueOrDefault(Creates.JobQueue), after.JobQueues.Count);
        Assert.Equal(before.JobDefinitions.Count + created.GetValueOrDefault(Creates.JobDefinition), after.JobDefinitions.Count);
        Assert.Equal(before.Jobs.Count + created.GetValueOrDefault(Creates.Job), after.Jobs.Count);
        Assert.Empty(after.ComputeEnvironments.Intersect(refusedNames.GetValueOrDefault(Creates.ComputeEnvironment) ?? []));
        Assert.Empty(after.JobQueues.Intersect(refusedNames.GetValueOrDefault(Creates.JobQueue) ?? []));
        Assert.Empty(after.JobDefinitions.Select(d => d.Split(':')[0]).Intersect(refusedNames.GetValueOrDefault(Creates.JobDefinition) ?? []));
        Assert.Empty(after.Jobs.Intersect(refusedNames.GetValueOrDefault(Creates.Job) ?? []));
        Assert.Empty(after.QueueTags.Intersect(refusedNames.GetValueOrDefault(Creates.Tag) ?? []));

        // The deletes were all refused (their targets are enabled), so their targets are still there.
        Assert.Contains(stage.KeptEnvironment, after.ComputeEnvironments);
        Assert.Contains(stage.KeptQueue, after.JobQueues);
    }

    /// <summary>GET and DELETE on the tag routes with broken ARNs and tag keys in the path and query.</summary>
    private async Task<List<string>> FuzzTagPathsAsync(Stage stage)
    {
        // Kestrel itself refuses request lines over 8 KiB (414) and %00 in a path (400) before any endpoint runs; those
        // are HTTP-level refusals that no SDK can provoke, so the paths here stay within what reaches the API.
        var failures = new List<string>();
        var arn = Uri.EscapeDataString(stage.KeptQueueArn);
        string[] resources =
        [
            arn, stage.KeptQueueArn, "%ZZ", "%", "%FF%FE", "%C0%AF", Uri.EscapeDataString(arn), new string('a', 2_000), "arn%3Aaws%3Abatch%3Aus-east-1%3A000000000000%3Awidget%2Fx",
            Uri.EscapeDataString($"{Arns}job/{Guid.NewGuid()}"), Uri.EscapeDataString($"{Arns}job-definition/nope:1"), Uri.EscapeDataString($"{Arns}job-definition/x:y"),
            Uri.EscapeDataString($"{Arns}job-queue/"), "arn:aws:batch", "..%2F..%2F", "x?y=%",
        ];
        string[] queries = [string.Empty, "?tagKeys=team", "?tagKeys=", "?tagKeys=%FF", $"?tagKeys={new string('k', 2000)}", "?" + string.Join('&', Enumerable.Range(0, 60).Select(i => $"tagKeys=k{i}")), "?other=1"];
        foreach (var resource in resources)
        {
            foreach (var method in new[] { HttpMethod.Get, HttpMethod.Delete })
            {
                foreach (var query in method == HttpMethod.Get ? [string.Empty] : queries)
                {
                    var reply = await SendAsync(method, $"/v1/tags/{resource}{query}", null);
                    if (Check(reply, isLogs: false) is { } problem)
                    {
                        failures.Add($"{method} /v1/tags/{Shorten(resource)}{Shorten(query)}: {problem}");
                    }
                }
            }
        }

        return failures;
    }

    private static string? Check(ApiResponse reply, bool isLogs)
    {
        var status = (int)reply.Status;
        if (status >= 500)
        {
            return $"answered {status}: {Shorten(reply.Text)}";
        }

        if (status == 200)
        {
            return reply.Body.ValueKind == JsonValueKind.Object ? null : $"answered 200 with a body that is not a JSON object: {Shorten(reply.Text)}";
        }

        if (status is < 400 or >= 500)
        {
            return $"answered {status}";
        }

        // The Logs API answers in its own service's words (InvalidParameterException, ResourceNotFoundException).
        var expected = isLogs ? reply.ErrorType : "ClientException";
        if (string.IsNullOrEmpty(reply.ErrorType) || reply.ErrorType != expected)
        {
            return $"answered {status} with x-amzn-ErrorType '{reply.ErrorType}': {Shorten(reply.Text)}";
        }

        if (reply.Body.ValueKind != JsonValueKind.Object
            || reply.Body.OptionalStr("__type") != expected
            || string.IsNullOrWhiteSpace(reply.Body.OptionalStr("message")))
        {
            return $"answered {status} without {{\"__type\":\"{expected}\",\"message\":...}}: {Shorten(reply.Text)}";
        }

        return null;
    }

    private async Task<ApiResponse> SendAsync(HttpMethod method, string path, byte[]? body, string? logsOperation = null)
    {
        using var request = new HttpRequestMessage(method, path);
        if (body is not null)
        {
            request.Content = new ByteArrayContent(body);
            request.Content.Headers.ContentType = new MediaTypeHeaderValue(logsOperation is null ? "application/json" : "application/x-amz-json-1.1");
        }

        if (logsOperation is not null)
        {
            // The Logs API is JSON 1.1: POST / with the operation in the target header.
            request.Headers.Add("X-Amz-Target", $"Logs_20140328.{logsOperation}");
        }

        using var response = await portal.Api.Client.SendAsync(request);
        return await BatchHttp.ReadAsync(response);
    }

    private async Task<string?> DescribeOneAsync((string Operation, string Member, object Body) describe)
    {
        var reply = await portal.Api.OkAsync(describe.Operation, describe.Body);
        var items = reply.Items(describe.Member);
        return items.Length == 1 ? items[0].GetRawText() : null;
    }

    private async Task<Stage> SetStageAsync()
    {
        var api = portal.Api;
        var stage = new Stage();
        await api.CreateComputeEnvironmentAsync(stage.ParkedEnvironment, state: "DISABLED");
        await api.CreateComputeEnvironmentAsync(stage.KeptEnvironment);
        await api.CreateComputeEnvironmentAsync(stage.UpdatedEnvironment);
        stage.KeptQueueArn = await api.CreateJobQueueAsync(stage.KeptQueue, stage.ParkedEnvironment);
        await api.CreateJobQueueAsync(stage.UpdatedQueue, stage.ParkedEnvironment);
        await api.RegisterJobDefinitionAsync(stage.Definition, "echo", "Ref::p");
        await api.RegisterJobDefinitionAsync(stage.Victim, "true");
        for (var i = 0; i < 3; i++)
        {
            stage.Jobs.Add(await api.SubmitJobAsync($"setup-{i}", stage.KeptQueue, stage.Definition));
        }

        foreach (var id in stage.Jobs)
        {
            await api.WaitForStatusAsync(id, "RUNNABLE");
        }

        return stage;
    }

    private static List<Target> Targets(Stage s)
    {
        const string Image = BatchHttp.Image;
        var jobDefinition = new
        {
            jobDefinitionName = Placeholder,
            type = "container",
            parameters = new { p = "v" },
            containerProperties = new
            {
                image = Image,
                command = new[] { "echo", "Ref::p" },
                environment = new[] { new { name = "A", value = "b" } },
                resourceRequirements = new[] { new { type = "VCPU", value = "1" }, new { type = "MEMORY", value = "64" } },
                ulimits = new[] { new { name = "nofile", softLimit = 1024, hardLimit = 2048 } },
                user = "nobody",
            },
            retryStrategy = new { attempts = 2, evaluateOnExit = new[] { new { onExitCode = "1", action = "RETRY" } } },
            timeout = new { attemptDurationSeconds = 60 },
            tags = new { team = "fuzz" },
            propagateTags = true,
            platformCapabilities = new[] { "EC2" },
        };
        var submit = new
        {
            jobName = Placeholder,
            jobQueue = s.KeptQueue,
            jobDefinition = s.Definition,
            parameters = new { p = "x" },
            containerOverrides = new
            {
                command = new[] { "echo", "hi" },
                environment = new[] { new { name = "A", value = "c" } },
                resourceRequirements = new[] { new { type = "VCPU", value = "1" }, new { type = "MEMORY", value = "64" } },
            },
            retryStrategy = new { attempts = 1 },
            timeout = new { attemptDurationSeconds = 120 },
            tags = new { team = "fuzz" },
            propagateTags = false,
        };

        return
        [
            Batch("createcomputeenvironment", Creates.ComputeEnvironment, new
            {
                computeEnvironmentName = Placeholder,
                type = "MANAGED",
                state = "ENABLED",
                computeResources = new { type = "EC2", minvCpus = 0, maxvCpus = 4, desiredvCpus = 0, instanceTypes = Optimal, subnets = Subnets, tags = new { a = "b" } },
                serviceRole = "arn:aws:iam::000000000000:role/batch",
                tags = new { team = "fuzz" },
            }),
            Batch("createcomputeenvironment", Creates.ComputeEnvironment, new { computeEnvironmentName = Placeholder, type = "UNMANAGED", unmanagedvCpus = 2, state = "DISABLED" }),
            Batch("updatecomputeenvironment", Creates.Nothing, new
            {
                computeEnvironment = s.UpdatedEnvironment,
                state = "ENABLED",
                computeResources = new { minvCpus = 0, maxvCpus = 8, desiredvCpus = 0 },
                serviceRole = "arn:aws:iam::000000000000:role/batch",
            }) with { Describe = ("describecomputeenvironments", "computeEnvironments", new { computeEnvironments = new[] { s.UpdatedEnvironment } }) },
            Batch("deletecomputeenvironment", Creates.Nothing, new { computeEnvironment = s.KeptEnvironment }) with { AcceptsValid = false },
            Batch("describecomputeenvironments", Creates.Nothing, new { computeEnvironments = new[] { s.KeptEnvironment, $"{Arns}compute-environment/{s.ParkedEnvironment}" }, maxResults = 10 }),
            Batch("createjobqueue", Creates.JobQueue, new
            {
                jobQueueName = Placeholder,
                state = "ENABLED",
                priority = 1,
                computeEnvironmentOrder = new[] { new { order = 1, computeEnvironment = s.ParkedEnvironment } },
                jobStateTimeLimitActions = new[] { new { reason = "CAPACITY:INSUFFICIENT_INSTANCE_CAPACITY", state = "RUNNABLE", maxTimeSeconds = 600, action = "CANCEL" } },
                tags = new { team = "fuzz" },
            }),
            Batch("updatejobqueue", Creates.Nothing, new
            {
                jobQueue = s.UpdatedQueue,
                state = "ENABLED",
                priority = 2,
                computeEnvironmentOrder = new[] { new { order = 1, computeEnvironment = $"{Arns}compute-environment/{s.ParkedEnvironment}" } },
            }) with { Describe = ("describejobqueues", "jobQueues", new { jobQueues = new[] { s.UpdatedQueue } }) },
            Batch("deletejobqueue", Creates.Nothing, new { jobQueue = s.KeptQueue }) with { AcceptsValid = false },
            Batch("describejobqueues", Creates.Nothing, new { jobQueues = new[] { s.KeptQueue }, maxResults = 10 }),
            Batch("getjobqueuesnapshot", Creates.Nothing, new { jobQueue = s.KeptQueueArn }),
            Batch("registerjobdefinition", Creates.JobDefinition, jobDefinition) with { Limit = 24 * 1024 },
            Batch("deregisterjobdefinition", Creates.Nothing, new { jobDefinition = $"{s.Victim}:1" }),
            Batch("describejobdefinitions", Creates.Nothing, new { jobDefinitionName = s.Definition, status = "ACTIVE", maxResults = 10 }),
            Batch("describejobdefinitions", Creates.Nothing, new { jobDefinitions = new[] { $"{s.Definition}:1", $"{Arns}job-definition/{s.Definition}:1" } }),
            Batch("submitjob", Creates.Job, submit) with { Limit = 30 * 1024 },
            Batch("describejobs", Creates.Nothing, new { jobs = new[] { s.Jobs[0], $"{Arns}job/{s.Jobs[1]}", "unknown" } }),
            Batch("listjobs", Creates.Nothing, new { jobQueue = s.KeptQueue, jobStatus = "RUNNABLE", maxResults = 10 }),
            Batch("listjobs", Creates.Nothing, new { jobQueue = s.KeptQueueArn, filters = new[] { new { name = "JOB_NAME", values = FuzzNames } }, maxResults = 5 }),
            Batch("canceljob", Creates.Nothing, new { jobId = s.Jobs[1], reason = "fuzz" }),
            Batch("terminatejob", Creates.Nothing, new { jobId = s.Jobs[2], reason = "fuzz" }),
            new("TagResource", HttpMethod.Post, $"/v1/tags/{Uri.EscapeDataString(s.KeptQueueArn)}", Json(new Dictionary<string, object> { ["tags"] = new Dictionary<string, string> { [Placeholder] = "v", ["team"] = "fuzz" } }), 64 * 1024, Creates.Tag),
            Logs("GetLogEvents", new { logGroupName = "/aws/batch/job", logStreamName = "x/default/y", startFromHead = true, limit = 10, startTime = 0, endTime = 1 }) with { AcceptsValid = false },
            Logs("DescribeLogStreams", new { logGroupName = "/aws/batch/job", logStreamNamePrefix = "x", orderBy = "LogStreamName", descending = true, limit = 5 }),
            Logs("FilterLogEvents", new { logGroupName = "/aws/batch/job", logStreamNamePrefix = "x", filterPattern = "?a -b \"c d\"", limit = 5, startTime = 0 }),
        ];
    }

    private static Target Batch(string operation, Creates creates, object body) =>
        new(operation, HttpMethod.Post, $"/v1/{operation}", Json(body), DefaultLimit, creates);

    private static Target Logs(string operation, object body) =>
        new($"Logs {operation}", HttpMethod.Post, "/", Json(body), 64 * 1024, Creates.Nothing) { LogsOperation = operation };

    private static string Json(object body) => JsonSerializer.Serialize(body);

    private async Task<Counts> CountAsync()
    {
        var api = portal.Api;
        var environments = new List<string>();
        var queues = new List<string>();
        var definitions = new List<string>();
        var jobs = new List<string>();
        string? token = null;
        do
        {
            var page = await api.OkAsync("describecomputeenvironments", new { nextToken = token });
            environments.AddRange(page.Items("computeEnvironments").Select(c => c.Str("computeEnvironmentName")));
            token = page.OptionalStr("nextToken");
        }
        while (token is not null);

        do
        {
            var page = await api.OkAsync("describejobqueues", new { nextToken = token });
            queues.AddRange(page.Items("jobQueues").Select(q => q.Str("jobQueueName")));
            token = page.OptionalStr("nextToken");
        }
        while (token is not null);

        do
        {
            var page = await api.OkAsync("describejobdefinitions", new { nextToken = token });
            definitions.AddRange(page.Items("jobDefinitions").Select(d => $"{d.Str("jobDefinitionName")}:{d.Number("revision")}"));
            token = page.OptionalStr("nextToken");
        }
        while (token is not null);

        // Every queue's jobs: a mutated jobQueue may name a queue that another mutation created (such as "12").
        foreach (var queue in queues)
        {
            do
            {
                // With a filter, ListJobs lists jobs in every status.
                var page = await api.OkAsync("listjobs", new { jobQueue = queue, filters = new[] { new { name = "AFTER_CREATED_AT", values = Epoch } }, maxResults = 100, nextToken = token });
                jobs.AddRange(page.Items("jobSummaryList").Select(j => j.Str("jobName")));
                token = page.OptionalStr("nextToken");
            }
            while (token is not null);
        }

        var tags = await BatchHttp.ReadAsync(await api.Client.GetAsync($"/v1/tags/{Uri.EscapeDataString($"{Arns}job-queue/{Stage.KeptQueueName}")}"));
        return new Counts(environments, queues, definitions, jobs, [.. tags.Body.Member("tags").EnumerateObject().Select(t => t.Name)]);
    }

    private static byte[] Replace(byte[] source, byte[] find, byte[] with)
    {
        var at = source.AsSpan().IndexOf(find);
        return at < 0 ? source : [.. source[..at], .. with, .. Replace(source[(at + find.Length)..], find, with)];
    }

    private static string Shorten(string text) => text.Length <= 300 ? text : text[..300] + $"... ({text.Length} chars)";

    private sealed record Target(string Operation, HttpMethod Method, string Path, string Body, int Limit, Creates Creates)
    {
        public (string Operation, string Member, object Body)? Describe { get; init; }

        public string? LogsOperation { get; init; }

        /// <summary>False for the deletes, whose targets are enabled and so always refused, and reads of a missing log stream.</summary>
        public bool AcceptsValid { get; init; } = true;

        public bool IsLogs => LogsOperation is not null;
    }

    private sealed record Counts(List<string> ComputeEnvironments, List<string> JobQueues, List<string> JobDefinitions, List<string> Jobs, List<string> QueueTags);

    private sealed class Stage
    {
        public const string KeptQueueName = "fuzz-q-keep";

        public string ParkedEnvironment { get; } = "fuzz-ce-parked";

        public string KeptEnvironment { get; } = "fuzz-ce-keep";

        public string UpdatedEnvironment { get; } = "fuzz-ce-upd";

        public string KeptQueue { get; } = KeptQueueName;

        public string KeptQueueArn { get; set; } = string.Empty;

        public string UpdatedQueue { get; } = "fuzz-q-upd";

        public string Definition { get; } = "fuzz-jd-keep";

        public string Victim { get; } = "fuzz-jd-victim";

        public List<string> Jobs { get; } = [];
    }
}
