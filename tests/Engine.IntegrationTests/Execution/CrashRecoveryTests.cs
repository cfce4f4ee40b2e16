using System.Collections.Concurrent;
using System.Globalization;
using System.Text.Json;
using BatchPortal.Engine.Execution;
using BatchPortal.Engine.IntegrationTests.Support;
using Docker.DotNet.Models;

namespace BatchPortal.Engine.IntegrationTests.Execution;

/// <summary>
/// "Nothing lost on a crash": the real portal, killed hard while containers run and started again on the same database,
/// finishes every job exactly once (DESIGN.md, reliability targets).
/// </summary>
[Collection(DockerCollection.Name)]
[Trait("Category", "Docker")]
public sealed class CrashRecoveryTests(EngineHostFixture engine) : IDisposable
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(60);
    private static readonly string[] TrueCommand = ["true"];

    private readonly string _folder = Directory.CreateTempSubdirectory("batchportal-crash-").FullName;
    private readonly string _computeEnvironment = $"ce-crash-{Guid.NewGuid():N}"[..17];

    public void Dispose()
    {
        try
        {
            Directory.Delete(_folder, recursive: true);
        }
        catch (IOException)
        {
            // The killed portal's SQLite files may still be open for a moment; the OS cleans the temp folder.
        }
    }

    [Fact]
    public async Task Portal_FinishesEveryJobExactlyOnce_WhenKilledWhileContainersRunAndStartedAgain()
    {
        var testStart = TimeProvider.System.GetUtcNow();
        var database = Path.Combine(_folder, "batchportal.db");
        string follow, exited, vanished, after;

        await using (var first = await PortalProcess.StartAsync(database))
        {
            await first.BatchAsync("createcomputeenvironment", new { computeEnvironmentName = _computeEnvironment, type = "MANAGED", computeResources = new { type = "EC2", maxvCpus = 8 } });
            await first.BatchAsync("createjobqueue", new { jobQueueName = "q-crash", priority = 1, computeEnvironmentOrder = new[] { new { order = 1, computeEnvironment = _computeEnvironment } } });
            await first.BatchAsync("registerjobdefinition", new
            {
                jobDefinitionName = "crash",
                type = "container",
                containerProperties = new
                {
                    image = EngineHostFixture.Image,
                    command = TrueCommand,
                    resourceRequirements = new[] { new { type = "VCPU", value = "1" }, new { type = "MEMORY", value = "64" } },
                },
            });

            // Still running when the second portal starts; it must be followed, not started again.
            follow = await SubmitAsync(first, "follow", "echo start; sleep 8; echo end");

            // Exits while no portal is running.
            exited = await SubmitAsync(first, "exited", "echo start; sleep 1; echo end");

            // Its container is removed while no portal is running; attempt 2 succeeds at once.
            vanished = await SubmitAsync(first, "vanished", "echo start $AWS_BATCH_JOB_ATTEMPT; [ \"$AWS_BATCH_JOB_ATTEMPT\" = 2 ] || sleep 60", attempts: 2);

            // Waits in PENDING through the crash.
            after = await SubmitAsync(first, "after", "echo after", dependsOn: follow);

            foreach (var id in new[] { follow, exited, vanished })
            {
                await WaitForStatusAsync(first, id, "RUNNING");
            }

            Assert.Equal("PENDING", (await DescribeAsync(first, after)).GetProperty("status").GetString());
            first.Kill();
        }

        var exitedContainer = await SingleContainerAsync(exited);
        await WaitUntilAsync(async () => !(await engine.Docker.Containers.InspectContainerAsync(exitedContainer.ID)).State.Running, "the exited job's container to exit");
        await engine.Docker.Containers.RemoveContainerAsync((await SingleContainerAsync(vanished)).ID, new ContainerRemoveParameters { Force = true });
        Assert.True(
            (await engine.Docker.Containers.InspectContainerAsync((await SingleContainerAsync(follow)).ID)).State.Running,
            "The follow job's container finished before the portal came back; the test would not show that it is followed.");

        await using var second = await PortalProcess.StartAsync(database);
        var finals = new Dictionary<string, JsonElement>();
        foreach (var id in new[] { follow, exited, vanished, after })
        {
            finals[id] = await WaitForStatusAsync(second, id, "SUCCEEDED", "FAILED");
        }

        foreach (var id in new[] { exited, follow })
        {
            var job = finals[id];
            Assert.Equal("SUCCEEDED", job.GetProperty("status").GetString());
            var attempt = Assert.Single(job.GetProperty("attempts").EnumerateArray());
            Assert.Equal(0, attempt.GetProperty("container").GetProperty("exitCode").GetInt32());
            Assert.Equal(["start", "end"], await LogLinesAsync(second, attempt));
        }

        var retried = finals[vanished];
        Assert.Equal("SUCCEEDED", retried.GetProperty("status").GetString());
        var attempts = retried.GetProperty("attempts").EnumerateArray().ToList();
        Assert.Equal(2, attempts.Count);
        Assert.Contains("was not found", attempts[0].GetProperty("container").GetProperty("reason").GetString(), StringComparison.Ordinal);
        Assert.Equal(0, attempts[1].GetProperty("container").GetProperty("exitCode").GetInt32());
        Assert.Equal(["start 2"], await LogLinesAsync(second, attempts[1]));

        var last = finals[after];
        Assert.Equal("SUCCEEDED", last.GetProperty("status").GetString());
        Assert.True(
            Assert.Single(last.GetProperty("attempts").EnumerateArray()).GetProperty("startedAt").GetInt64() >= finals[follow].GetProperty("stoppedAt").GetInt64(),
            "The dependent job started before the job it waits for had stopped.");

        // Exactly one container per attempt over the whole test, each started once: nothing ran twice.
        var events = await ContainerEventsAsync(testStart.AddSeconds(-2));
        var created = events.Where(e => e.Action == "create").ToList();
        Assert.Equal(
            new Dictionary<string, int> { [follow] = 1, [exited] = 1, [vanished] = 2, [after] = 1 },
            created.GroupBy(e => e.Actor.Attributes[ContainerLabels.JobId]).ToDictionary(g => g.Key, g => g.Count()));
        Assert.Equal(["1", "2"], created.Where(e => e.Actor.Attributes[ContainerLabels.JobId] == vanished).Select(e => e.Actor.Attributes[ContainerLabels.Attempt]).Order());
        Assert.Equal(created.Count, events.Count(e => e.Action == "start"));

        foreach (var id in new[] { follow, exited, vanished, after })
        {
            await engine.WaitForNoContainersAsync(id);
        }
    }

    private static async Task<string> SubmitAsync(PortalProcess portal, string name, string script, int attempts = 1, string? dependsOn = null)
    {
        var body = new Dictionary<string, object>
        {
            ["jobName"] = name,
            ["jobQueue"] = "q-crash",
            ["jobDefinition"] = "crash",
            ["containerOverrides"] = new { command = new[] { "sh", "-c", script } },
            ["retryStrategy"] = new { attempts },
        };
        if (dependsOn is not null)
        {
            body["dependsOn"] = new[] { new { jobId = dependsOn } };
        }

        return (await portal.BatchAsync("submitjob", body)).GetProperty("jobId").GetString()!;
    }

    private static async Task<JsonElement> DescribeAsync(PortalProcess portal, string jobId) =>
        (await portal.BatchAsync("describejobs", new { jobs = new[] { jobId } })).GetProperty("jobs").EnumerateArray().Single();

    private static async Task<JsonElement> WaitForStatusAsync(PortalProcess portal, string jobId, params string[] statuses)
    {
        JsonElement job = default;
        await WaitUntilAsync(
            async () =>
            {
                job = await DescribeAsync(portal, jobId);
                return statuses.Contains(job.GetProperty("status").GetString());
            },
            $"job {jobId} to be {string.Join(" or ", statuses)}",
            () => $"It is {job}.{Environment.NewLine}Portal output:{Environment.NewLine}{portal.Output()}");
        return job;
    }

    private static async Task<IReadOnlyList<string>> LogLinesAsync(PortalProcess portal, JsonElement attempt)
    {
        var stream = attempt.GetProperty("container").GetProperty("logStreamName").GetString();
        var events = await portal.LogsAsync("GetLogEvents", new { logGroupName = "/aws/batch/job", logStreamName = stream, startFromHead = true });
        return [.. events.GetProperty("events").EnumerateArray().Select(e => e.GetProperty("message").GetString()!)];
    }

    private async Task<ContainerListResponse> SingleContainerAsync(string jobId) => Assert.Single(await engine.ContainersOfAsync(jobId));

    /// <summary>What Docker recorded for this test's containers (all carry its compute environment's label).</summary>
    private async Task<IReadOnlyList<Message>> ContainerEventsAsync(DateTimeOffset since)
    {
        var events = new ConcurrentQueue<Message>();
        await engine.Docker.System.MonitorEventsAsync(
            new ContainerEventsParameters
            {
                Since = since.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture),
                Until = (TimeProvider.System.GetUtcNow().ToUnixTimeSeconds() + 1).ToString(CultureInfo.InvariantCulture),
                Filters = new Dictionary<string, IDictionary<string, bool>>
                {
                    ["type"] = new Dictionary<string, bool> { ["container"] = true },
                    ["label"] = new Dictionary<string, bool> { [$"{ContainerLabels.ComputeEnvironment}={_computeEnvironment}"] = true },
                },
            },
            new Collect(events));
        return [.. events];
    }

    private static async Task WaitUntilAsync(Func<Task<bool>> condition, string what, Func<string>? detail = null)
    {
        using var deadline = new CancellationTokenSource(Deadline);
        while (!await condition())
        {
            if (deadline.IsCancellationRequested)
            {
                Assert.Fail($"Gave up waiting for {what} after {Deadline.TotalSeconds:0} s. {detail?.Invoke()}");
            }

            await Task.Delay(TimeSpan.FromMilliseconds(100), CancellationToken.None);
        }
    }

    /// <summary>Collects synchronously: <see cref="Progress{T}"/> would post events after the call has returned.</summary>
    private sealed class Collect(ConcurrentQueue<Message> into) : IProgress<Message>
    {
        public void Report(Message value) => into.Enqueue(value);
    }
}
