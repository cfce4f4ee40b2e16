using System.Net;
using System.Text;
using System.Text.Json;

namespace BatchPortal.Api.Tests.Support;

public sealed record ApiResponse(HttpStatusCode Status, string? ErrorType, JsonElement Body, string Text);

/// <summary>
/// Plain HTTP to the Batch API, for setting the stage quickly and for polling; the behaviour under test goes through the
/// real clients (<see cref="AwsCli"/>, <see cref="NodeScenario"/>).
/// </summary>
public sealed class BatchHttp(HttpClient http)
{
    public const string Image = "batchportal/busybox:latest";

    /// <summary>Only to avoid hanging on a broken engine; no test asserts on how long a job took.</summary>
    public static readonly TimeSpan JobDeadline = TimeSpan.FromSeconds(60);

    private static readonly TimeSpan PollEvery = TimeSpan.FromMilliseconds(150);

    public HttpClient Client => http;

    public async Task<ApiResponse> PostAsync(string operation, object body)
    {
        var text = body as string ?? JsonSerializer.Serialize(body);
        using var content = new StringContent(text, Encoding.UTF8, "application/json");
        using var response = await http.PostAsync($"/v1/{operation}", content);
        return await ReadAsync(response);
    }

    public static async Task<ApiResponse> ReadAsync(HttpResponseMessage response)
    {
        var text = await response.Content.ReadAsStringAsync();
        JsonElement json;
        try
        {
            using var doc = JsonDocument.Parse(text.Length == 0 ? "{}" : text);
            json = doc.RootElement.Clone();
        }
        catch (JsonException)
        {
            json = default;
        }

        var errorType = response.Headers.TryGetValues("x-amzn-ErrorType", out var values) ? values.FirstOrDefault() : null;
        return new ApiResponse(response.StatusCode, errorType, json, text);
    }

    public async Task<JsonElement> OkAsync(string operation, object body)
    {
        var response = await PostAsync(operation, body);
        Assert.True(response.Status == HttpStatusCode.OK, $"{operation} answered {(int)response.Status}: {response.Text}");
        return response.Body;
    }

    public async Task<string> CreateComputeEnvironmentAsync(string name, int maxvCpus = 64, string state = "ENABLED") =>
        (await OkAsync("createcomputeenvironment", new
        {
            computeEnvironmentName = name,
            type = "MANAGED",
            state,
            computeResources = new { type = "EC2", maxvCpus },
        })).GetProperty("computeEnvironmentArn").GetString()!;

    public async Task<string> CreateJobQueueAsync(string name, params string[] computeEnvironments) =>
        (await OkAsync("createjobqueue", new
        {
            jobQueueName = name,
            priority = 1,
            computeEnvironmentOrder = computeEnvironments.Select((ce, i) => new { order = i + 1, computeEnvironment = ce }),
        })).GetProperty("jobQueueArn").GetString()!;

    public async Task<string> RegisterJobDefinitionAsync(string name, params string[] command) =>
        (await OkAsync("registerjobdefinition", new
        {
            jobDefinitionName = name,
            type = "container",
            containerProperties = new
            {
                image = Image,
                command,
                resourceRequirements = new[] { new { type = "VCPU", value = "1" }, new { type = "MEMORY", value = "64" } },
            },
        })).GetProperty("jobDefinitionArn").GetString()!;

    public async Task<string> SubmitJobAsync(string name, string queue, string definition, params string[] command) =>
        (await OkAsync("submitjob", command.Length == 0
            ? new { jobName = name, jobQueue = queue, jobDefinition = definition }
            : new { jobName = name, jobQueue = queue, jobDefinition = definition, containerOverrides = new { command } }))
            .GetProperty("jobId").GetString()!;

    public async Task<JsonElement?> DescribeJobAsync(string jobId)
    {
        var jobs = (await OkAsync("describejobs", new { jobs = new[] { jobId } })).GetProperty("jobs");
        return jobs.GetArrayLength() == 1 ? jobs[0] : null;
    }

    /// <summary>Polls DescribeJobs until the job is in one of <paramref name="statuses"/>; fails with its last state otherwise.</summary>
    public async Task<JsonElement> WaitForStatusAsync(string jobId, params string[] statuses)
    {
        using var deadline = new CancellationTokenSource(JobDeadline);
        JsonElement? job = null;
        while (!deadline.IsCancellationRequested)
        {
            job = await DescribeJobAsync(jobId);
            if (job is { } j && statuses.Contains(j.GetProperty("status").GetString()))
            {
                return j;
            }

            try
            {
                await Task.Delay(PollEvery, deadline.Token);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }

        Assert.Fail($"Job {jobId} did not become {string.Join(" or ", statuses)} within {JobDeadline.TotalSeconds:0} s; last seen: {job}");
        return default;
    }

    public Task<JsonElement> WaitForFinalAsync(string jobId) => WaitForStatusAsync(jobId, "SUCCEEDED", "FAILED");
}
