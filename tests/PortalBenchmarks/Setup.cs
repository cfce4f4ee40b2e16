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
