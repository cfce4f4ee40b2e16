using System.Diagnostics;
using System.Text.Json;

namespace BatchPortal.PortalBenchmarks;

/// <summary>The resources every scenario uses, created through the API as a user would.</summary>
internal static class Setup
{
    public const string Environment = "bench-ce";
    public const string Definition = "bench-def";

    /// <summary>The two queues the stored jobs are spread over; the live boards watch the first.</summary>
    public static readonly string[] Queues = ["etl", "reports"];

    public static object DefinitionBody(string name) => new
    {
        jobDefinitionName = name,
        type = "container",
        containerProperties = new
        {
            image = "busybox:latest",
            command = new[] { "sh", "-c", "echo processing Ref::input && sleep 1" },
            environment = new[] { new { name = "STAGE", value = "prod" } },
            resourceRequirements = new[] { new { type = "VCPU", value = "1" }, new { type = "MEMORY", value = "256" } },
        },
        parameters = new Dictionary<string, string> { ["input"] = "s3://bucket/input" },
        retryStrategy = new { attempts = 2 },
    };

    public static async Task CreateAsync(BatchClient api)
    {
        await api.CallAsync("createcomputeenvironment", new
        {
            computeEnvironmentName = Environment,
            type = "MANAGED",
            computeResources = new { type = "EC2", minvCpus = 0, maxvCpus = 64 },
        });
        foreach (var queue in Queues)
        {
            await api.CallAsync("createjobqueue", new
            {
                jobQueueName = queue,
                priority = 1,
                computeEnvironmentOrder = new[] { new { order = 1, computeEnvironment = Environment } },
            });
        }

        await api.CallAsync("registerjobdefinition", DefinitionBody(Definition));
    }

    // Exits at once on SIGTERM, so terminating it at the end does not wait out the stop grace period.
    private static readonly string[] SleepCommand = ["sh", "-c", "trap 'exit 143' TERM; sleep 3600 & wait"];

    public static object DependentBody(string queue, string definition, string upstreamJobId) =>
        new { jobName = "dependent", jobQueue = queue, jobDefinition = definition, dependsOn = new[] { new { jobId = upstreamJobId } } };

    /// <summary>
    /// A job that is RUNNING for the dependents to wait on: <c>sleep</c> in the local test image on the real Docker engine
    /// (its own compute environment and queue), when there is one; otherwise it stays RUNNABLE on the engine-less one.
    /// </summary>
    public static async Task<Upstream> UpstreamAsync(BatchClient api)
    {
        var docker = File.Exists("/var/run/docker.sock");
        if (docker)
        {
            await api.CallAsync("createcomputeenvironment", new
            {
                computeEnvironmentName = "bench-docker",
                type = "MANAGED",
                computeResources = new { type = "EC2", minvCpus = 0, maxvCpus = 2 },
                dockerEndpoint = "unix:///var/run/docker.sock",
            });
            await api.CallAsync("createjobqueue", new
            {
                jobQueueName = "upstream",
                priority = 1,
                computeEnvironmentOrder = new[] { new { order = 1, computeEnvironment = "bench-docker" } },
            });
            await api.CallAsync("registerjobdefinition", new
            {
                jobDefinitionName = "bench-sleep",
                type = "container",
                containerProperties = new
                {
                    image = "batchportal/busybox:latest",
                    command = SleepCommand,
                    resourceRequirements = new[] { new { type = "VCPU", value = "1" }, new { type = "MEMORY", value = "64" } },
                },
            });
        }

        var id = (await api.CallAsync("submitjob", docker ? SubmitBody("upstream", "upstream", "bench-sleep") : SubmitBody("upstream", Queues[0], Definition)))
            .GetProperty("jobId").GetString()!;
        await WaitForStatusAsync(api, [id], docker ? "RUNNING" : "RUNNABLE", TimeSpan.FromSeconds(60));
        return new Upstream(api, id);
    }

    public static async Task<string> StatusAsync(BatchClient api, string jobId) =>
        (await api.CallAsync("describejobs", new { jobs = new[] { jobId } })).GetProperty("jobs")[0].GetProperty("status").GetString()!;

    /// <summary>The upstream job; disposing it terminates the job and waits until it is FAILED, so its container is gone.</summary>
    public sealed class Upstream(BatchClient api, string jobId) : IAsyncDisposable
    {
        public string JobId { get; } = jobId;

        public async ValueTask DisposeAsync()
        {
            await api.CallAsync("terminatejob", new { jobId = JobId, reason = "benchmark done" });
            await WaitForStatusAsync(api, [JobId], "FAILED", TimeSpan.FromSeconds(90));
        }
    }

    public static string SubmitBody(string name, string queue, string definition) =>
        JsonSerializer.Serialize(new { jobName = name, jobQueue = queue, jobDefinition = definition });

    /// <summary>Waits until every job named is in <paramref name="status"/> (DescribeJobs, 100 at a time).</summary>
    public static async Task WaitForStatusAsync(BatchClient api, IReadOnlyList<string> ids, string status, TimeSpan timeout, Func<JsonElement, bool>? also = null)
    {
        var waited = Stopwatch.StartNew();
        while (true)
        {
            var pending = 0;
            foreach (var chunk in ids.Chunk(100))
            {
                var jobs = await api.CallAsync("describejobs", new { jobs = chunk });
                pending += chunk.Length - jobs.GetProperty("jobs").EnumerateArray()
                    .Count(j => j.GetProperty("status").GetString() == status && (also is null || also(j)));
            }

            if (pending == 0)
            {
                return;
            }

            if (waited.Elapsed > timeout)
            {
                throw new TimeoutException($"{pending} of {ids.Count} job(s) did not reach {status} within {timeout.TotalSeconds:0} s.");
            }

            await Task.Delay(250);
        }
    }
}
