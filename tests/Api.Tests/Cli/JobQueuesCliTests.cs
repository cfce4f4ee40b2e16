using BatchPortal.Api.Tests.Support;

namespace BatchPortal.Api.Tests.Cli;

/// <summary>CreateJobQueue, UpdateJobQueue, DeleteJobQueue, DescribeJobQueues and GetJobQueueSnapshot through the aws CLI.</summary>
[Collection(CliResourcesCollection.Name)]
[Trait("Category", "Api")]
public sealed class JobQueuesCliTests(ApiFixture portal)
{
    private const string Arns = "arn:aws:batch:us-east-1:000000000000:";

    private AwsCli Cli => portal.Cli;

    [Fact]
    public async Task DescribeJobQueues_ReturnsComputeEnvironmentsAsArns_WhenTheQueueNamedThemByName()
    {
        var first = PortalFixture.Unique("ce-a");
        var second = PortalFixture.Unique("ce-b");
        var queue = PortalFixture.Unique("q-arns");
        await portal.Api.CreateComputeEnvironmentAsync(first);
        await portal.Api.CreateComputeEnvironmentAsync(second);

        var created = await Cli.OkAsync(
            "batch", "create-job-queue", "--job-queue-name", queue, "--priority", "3",
            "--compute-environment-order", $"order=1,computeEnvironment={first}", $"order=2,computeEnvironment={Arns}compute-environment/{second}");

        Assert.Equal($"{Arns}job-queue/{queue}", created.Str("jobQueueArn"));
        foreach (var reference in new[] { queue, $"{Arns}job-queue/{queue}" })
        {
            var detail = Assert.Single((await Cli.OkAsync("batch", "describe-job-queues", "--job-queues", reference)).Items("jobQueues"));
            Assert.Equal(queue, detail.Str("jobQueueName"));
            Assert.Equal("ENABLED", detail.Str("state"));
            Assert.Equal("VALID", detail.Str("status"));
            Assert.Equal(3, detail.Number("priority"));
            Assert.Equal(
                [(1L, $"{Arns}compute-environment/{first}"), (2L, $"{Arns}compute-environment/{second}")],
                detail.Items("computeEnvironmentOrder").Select(o => (o.Number("order"), o.Str("computeEnvironment"))).ToArray());
        }

        var all = (await Cli.OkAsync("batch", "describe-job-queues")).Items("jobQueues").Select(q => q.Str("jobQueueName"));
        Assert.Contains(queue, all);
    }

    [Fact]
    public async Task UpdateJobQueue_ChangesPriorityStateAndOrder_WhenNamedByArn()
    {
        var first = PortalFixture.Unique("ce-u1");
        var second = PortalFixture.Unique("ce-u2");
        var queue = PortalFixture.Unique("q-upd");
        await portal.Api.CreateComputeEnvironmentAsync(first);
        await portal.Api.CreateComputeEnvironmentAsync(second);
        await portal.Api.CreateJobQueueAsync(queue, first);

        var updated = await Cli.OkAsync(
            "batch", "update-job-queue", "--job-queue", $"{Arns}job-queue/{queue}", "--priority", "9", "--state", "DISABLED",
            "--compute-environment-order", $"order=1,computeEnvironment={second}");

        Assert.Equal(queue, updated.Str("jobQueueName"));
        var detail = Assert.Single((await Cli.OkAsync("batch", "describe-job-queues", "--job-queues", queue)).Items("jobQueues"));
        Assert.Equal(9, detail.Number("priority"));
        Assert.Equal("DISABLED", detail.Str("state"));
        Assert.Equal($"{Arns}compute-environment/{second}", Assert.Single(detail.Items("computeEnvironmentOrder")).Str("computeEnvironment"));
    }

    [Fact]
    public async Task DeleteJobQueue_RemovesTheQueue_OnlyOnceItIsDisabled()
    {
        var ce = PortalFixture.Unique("ce-qd");
        var queue = PortalFixture.Unique("q-del");
        await portal.Api.CreateComputeEnvironmentAsync(ce);
        await portal.Api.CreateJobQueueAsync(queue, ce);

        var refused = await Cli.FailsAsync("ClientException", "batch", "delete-job-queue", "--job-queue", queue);
        Assert.Contains(queue, refused, StringComparison.Ordinal);
        Assert.Single(await DescribeAsync(queue));

        await portal.Api.OkAsync("updatejobqueue", new { jobQueue = queue, state = "DISABLED" });
        await Cli.OkAsync("batch", "delete-job-queue", "--job-queue", $"{Arns}job-queue/{queue}");

        Assert.Empty(await DescribeAsync(queue));
    }

    [Fact]
    public async Task CreateJobQueue_FailsWithClientException_WhenTheComputeEnvironmentIsMissing()
    {
        var queue = PortalFixture.Unique("q-orphan");
        var missing = PortalFixture.Unique("ce-missing");

        var error = await Cli.FailsAsync(
            "ClientException",
            "batch", "create-job-queue", "--job-queue-name", queue, "--priority", "1", "--compute-environment-order", $"order=1,computeEnvironment={missing}");

        Assert.Contains(missing, error, StringComparison.Ordinal);
        Assert.Empty(await DescribeAsync(queue));
    }

    [Fact]
    public async Task GetJobQueueSnapshot_ListsRunnableJobsInSubmissionOrder_WhenTheyCannotBePlaced()
    {
        // The only environment allows 1 vCPU and every job asks for 2: they stay RUNNABLE, as AWS keeps them.
        var ce = PortalFixture.Unique("ce-tiny");
        var queue = PortalFixture.Unique("q-snap");
        var definition = PortalFixture.Unique("jd-snap");
        await portal.Api.CreateComputeEnvironmentAsync(ce, maxvCpus: 1);
        await portal.Api.CreateJobQueueAsync(queue, ce);
        await portal.Api.RegisterJobDefinitionAsync(definition, "true");

        var arns = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            var submitted = await portal.Api.OkAsync("submitjob", new
            {
                jobName = $"snap-{i}",
                jobQueue = queue,
                jobDefinition = definition,
                containerOverrides = new { resourceRequirements = new[] { new { type = "VCPU", value = "2" } } },
            });
            arns.Add(submitted.Str("jobArn"));
            await portal.Api.WaitForStatusAsync(submitted.Str("jobId"), "RUNNABLE");
        }

        var snapshot = await Cli.OkAsync("batch", "get-job-queue-snapshot", "--job-queue", queue);

        var front = snapshot.Member("frontOfQueue");
        Assert.Equal(arns, front.Items("jobs").Select(j => j.Str("jobArn")));
        Assert.All(front.Items("jobs"), j => j.Number("earliestTimeAtPosition"));
        front.Number("lastUpdatedAt");
        var waiting = await portal.Api.DescribeJobAsync(arns[0].Split('/')[^1]);
        Assert.StartsWith("MISCONFIGURATION:COMPUTE_ENVIRONMENT_MAX_RESOURCE", waiting!.Value.Str("statusReason"), StringComparison.Ordinal);
    }

    private async Task<System.Text.Json.JsonElement[]> DescribeAsync(string queue) =>
        (await portal.Api.OkAsync("describejobqueues", new { jobQueues = new[] { queue } })).Items("jobQueues");
}
