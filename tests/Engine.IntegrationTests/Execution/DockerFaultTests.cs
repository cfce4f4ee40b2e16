using System.Collections.Concurrent;
using System.Globalization;
using BatchPortal.Engine.Domain;
using BatchPortal.Engine.Execution;
using BatchPortal.Engine.IntegrationTests.Support;
using BatchPortal.Engine.Resources;
using BatchPortal.Engine.Storage;
using Docker.DotNet.Models;
using JobStatus = BatchPortal.Engine.Domain.JobStatus;
using Microsoft.Extensions.DependencyInjection;
using Xunit.Abstractions;

namespace BatchPortal.Engine.IntegrationTests.Execution;

/// <summary>
/// The network between the engine and a real Docker engine misbehaves for a minute while 40 jobs run (issue #11): it
/// refuses, hangs and cuts connections, also in the middle of answers and of log streams. Afterwards every job has
/// SUCCEEDED, once, in one container, with every line it printed stored, and no container is left.
/// </summary>
[Collection(DockerCollection.Name)]
[Trait("Category", "Docker")]
public class DockerFaultTests(EngineHostFixture engine, ITestOutputHelper output)
{
    private const int Jobs = 40;
    private const int Lines = 600;
    private static readonly TimeSpan FaultsFor = TimeSpan.FromMinutes(1);

    [Fact]
    public async Task Jobs_SucceedOnceWithEveryLine_WhenTheConnectionToDockerRefusesHangsAndCutsForAMinute()
    {
        await using var proxy = new DockerFaultProxy("/var/run/docker.sock");
        var ce = $"ce-faults-{Guid.NewGuid():N}"[..20];
        EngineHostFixture.Ok(await engine.Services.GetRequiredService<ComputeEnvironmentService>().CreateAsync(new CreateComputeEnvironmentRequest
        {
            ComputeEnvironmentName = ce,
            Type = "MANAGED",
            ComputeResources = new ComputeResources { MaxvCpus = Jobs },
            DockerEndpoint = proxy.Endpoint,
        }));
        var queue = $"q-{ce}";
        await engine.CreateQueueAsync(queue, ce);
        await engine.RegisterAsync("chatty", ["sh", "-c", $"i=0; while [ $i -lt {Lines} ]; do i=$((i+1)); echo \"line $i of $AWS_BATCH_JOB_ID\"; sleep 0.1; done"], r =>
            r.ContainerProperties!.ResourceRequirements = [new ResourceRequirement { Type = "VCPU", Value = "1" }, new ResourceRequirement { Type = "MEMORY", Value = "32" }]);
        var since = TimeProvider.System.GetUtcNow().AddSeconds(-1);
        var jobs = new List<Job>();
        for (var i = 0; i < Jobs; i++)
        {
            jobs.Add(await engine.SubmitAsync("chatty", r => r.JobQueue = queue));
        }

        try
        {
            await MisbehaveAsync(proxy);
            proxy.Pass();
            output.WriteLine($"{proxy.Faults} faults injected over {FaultsFor.TotalSeconds:0} s.");

            var finished = await WaitForAllAsync(jobs.Select(j => j.Id).ToList(), TimeSpan.FromMinutes(4));
            foreach (var job in finished)
            {
                Assert.True(job.Status == JobStatus.Succeeded, $"Job {job.Id} is {job.Status} ({job.StatusReason}; {job.Attempts.LastOrDefault()?.Reason}).{Environment.NewLine}{engine.RecentLog()}");
                Assert.Single(job.Attempts);
                var stored = (await engine.Logs.ReadAsync(job.Id, 1, 0, 10_000)).Select(l => l.Message).ToList();
                var expected = Enumerable.Range(1, Lines).Select(n => $"line {n.ToString(CultureInfo.InvariantCulture)} of {job.Id}").ToList();
                Assert.True(expected.SequenceEqual(stored), $"Job {job.Id} stored {stored.Count} lines, not the {Lines} it printed, in order.");
            }

            var created = await CreatedContainersAsync(ce, since);
            Assert.All(jobs, j => Assert.True(created.GetValueOrDefault(j.Id) == 1, $"Job {j.Id}: {created.GetValueOrDefault(j.Id)} containers created.{Environment.NewLine}{engine.LogAbout(j.Id)}"));
            await WaitForNoContainersAsync(ce);
        }
        finally
        {
            proxy.Pass();
            await RemoveLeftoversAsync(ce);
        }
    }

    [Fact]
    public async Task Job_RunsOnce_WhenTheAnswerToItsContainerStartIsLost()
    {
        // Regression: #11. The seam tries a launch again after a cut connection, and found the attempt's container by its
        // name; it started it again, and a container that had already run (a short job; a CI run under load) ran a
        // second time into the same log: 400,002 lines stored for 200,001 printed.
        await RunOnceThroughAsync(p => p.LoseAnswerTo(@"^POST \S*/containers/\S+/start[ ?]"), faults: 1);
    }

    [Fact]
    public async Task Job_RunsOnce_WhenItsNameIsTakenByAContainerDockerIsStillMaking()
    {
        // Regression: #11. A create held up on the way (a hung connection) reached Docker together with the launch's
        // second try; Docker reserves a name before it has made the container, so the second try's conflict found no
        // container by that name, and the job FAILED with "CannotCreateContainerError: Conflict. The container name ...
        // is already in use" (a CI run). The proxy plays that moment: the first create is made but its answer lost, and
        // the look-up after the conflict finds nothing yet.
        await RunOnceThroughAsync(
            p =>
            {
                p.LoseAnswerTo(@"^POST \S*/containers/create[ ?]");
                p.AnswerOnce(@"^GET \S*/containers/batchportal-[^/\s]+/json[ ?]", 404, "{\"message\":\"No such container: batchportal\"}");
            },
            faults: 2);
    }

    /// <summary>One short job through a proxy set up to misbehave by <paramref name="misbehave"/>: it runs once, in one container.</summary>
    private async Task RunOnceThroughAsync(Action<DockerFaultProxy> misbehave, int faults)
    {
        await using var proxy = new DockerFaultProxy("/var/run/docker.sock");
        var ce = $"ce-once-{Guid.NewGuid():N}"[..20];
        EngineHostFixture.Ok(await engine.Services.GetRequiredService<ComputeEnvironmentService>().CreateAsync(new CreateComputeEnvironmentRequest
        {
            ComputeEnvironmentName = ce,
            Type = "MANAGED",
            ComputeResources = new ComputeResources { MaxvCpus = 2 },
            DockerEndpoint = proxy.Endpoint,
        }));
        var queue = $"q-{ce}";
        await engine.CreateQueueAsync(queue, ce);
        await engine.RegisterAsync("once", ["sh", "-c", "echo \"ran at $(date +%s)\""]);
        var since = TimeProvider.System.GetUtcNow().AddSeconds(-1);
        misbehave(proxy);
        try
        {
            var job = await engine.WaitForFinalAsync((await engine.SubmitAsync("once", r => r.JobQueue = queue)).Id);

            Assert.True(job.Status == JobStatus.Succeeded, $"Job {job.Id} is {job.Status} ({job.StatusReason}).{Environment.NewLine}{engine.LogAbout(job.Id)}");
            Assert.Equal(faults, proxy.Faults);
            var stored = (await engine.Logs.ReadAsync(job.Id, 1)).Select(l => l.Message).ToList();
            Assert.True(stored.Count == 1, $"Job {job.Id} stored {stored.Count} lines for one run: {string.Join(" | ", stored)}");
            Assert.Equal(1, (await CreatedContainersAsync(ce, since)).GetValueOrDefault(job.Id));
            await WaitForNoContainersAsync(ce);
        }
        finally
        {
            proxy.Pass();
            await RemoveLeftoversAsync(ce);
        }
    }

    /// <summary>A minute of everything a network does wrong, in turn, with short spells of calm between.</summary>
    private static async Task MisbehaveAsync(DockerFaultProxy proxy)
    {
        var end = TimeProvider.System.GetUtcNow() + FaultsFor;
        var phases = new (string Name, Action<DockerFaultProxy> Start, TimeSpan For)[]
        {
            ("calm", p => p.Pass(), TimeSpan.FromSeconds(3)),
            ("refuse", p => p.Refuse(), TimeSpan.FromSeconds(4)),
            ("calm", p => p.Pass(), TimeSpan.FromSeconds(2)),
            ("cut all", p => p.CutAll(), TimeSpan.FromSeconds(1)),
            ("hang", p => p.Hang(), TimeSpan.FromSeconds(5)),
            ("calm", p => p.Pass(), TimeSpan.FromSeconds(2)),
            ("cut mid-stream", p => p.CutEach(4_096), TimeSpan.FromSeconds(5)),
            ("cut all", p => p.CutAll(), TimeSpan.FromSeconds(1)),
        };
        for (var i = 0; TimeProvider.System.GetUtcNow() < end; i++)
        {
            var phase = phases[i % phases.Length];
            phase.Start(proxy);
            await Task.Delay(phase.For);
        }
    }

    private async Task<IReadOnlyList<Job>> WaitForAllAsync(List<string> ids, TimeSpan within)
    {
        using var deadline = new CancellationTokenSource(within);
        while (true)
        {
            var jobs = await engine.Services.GetRequiredService<JobQueries>().GetManyAsync([.. ids]);
            if (jobs.Count == ids.Count && jobs.All(j => j.Status.IsFinal()))
            {
                return jobs;
            }

            if (deadline.IsCancellationRequested)
            {
                var open = jobs.Where(j => !j.Status.IsFinal()).Select(j => $"{j.Id} {j.Status} ({j.StatusReason})");
                Assert.Fail($"Not finished within {within.TotalMinutes:0} min: {string.Join("; ", open)}{Environment.NewLine}{engine.RecentLog()}");
            }

            await Task.Delay(500, CancellationToken.None);
        }
    }

    /// <summary>Docker's own record of the containers it created for the environment's jobs, per job.</summary>
    private async Task<Dictionary<string, int>> CreatedContainersAsync(string ce, DateTimeOffset since)
    {
        var created = new ConcurrentDictionary<string, int>(StringComparer.Ordinal);
        var progress = new Progress<Message>(m =>
        {
            if (m.Actor?.Attributes?.TryGetValue(ContainerLabels.JobId, out var jobId) == true)
            {
                created.AddOrUpdate(jobId, 1, (_, n) => n + 1);
            }
        });
        await engine.Docker.System.MonitorEventsAsync(
            new ContainerEventsParameters
            {
                Since = since.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture),
                Until = TimeProvider.System.GetUtcNow().AddSeconds(1).ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture),
                Filters = new Dictionary<string, IDictionary<string, bool>>
                {
                    ["type"] = new Dictionary<string, bool> { ["container"] = true },
                    ["event"] = new Dictionary<string, bool> { ["create"] = true },
                    ["label"] = new Dictionary<string, bool> { [$"{ContainerLabels.ComputeEnvironment}={ce}"] = true },
                },
            },
            progress,
            CancellationToken.None);
        await Task.Delay(200); // Progress<T> reports on the thread pool
        return new Dictionary<string, int>(created);
    }

    private async Task WaitForNoContainersAsync(string ce)
    {
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        IList<ContainerListResponse> left = [];
        while (!deadline.IsCancellationRequested)
        {
            left = await ListAsync(ce);
            if (left.Count == 0)
            {
                return;
            }

            await Task.Delay(250, CancellationToken.None);
        }

        Assert.Fail($"Containers left behind: {string.Join(", ", left.Select(c => $"{c.ID[..12]} ({c.State})"))}");
    }

    private Task<IList<ContainerListResponse>> ListAsync(string ce) =>
        engine.Docker.Containers.ListContainersAsync(new ContainersListParameters
        {
            All = true,
            Filters = new Dictionary<string, IDictionary<string, bool>> { ["label"] = new Dictionary<string, bool> { [$"{ContainerLabels.ComputeEnvironment}={ce}"] = true } },
        });

    private async Task RemoveLeftoversAsync(string ce)
    {
        foreach (var container in await ListAsync(ce))
        {
            await engine.Docker.Containers.RemoveContainerAsync(container.ID, new ContainerRemoveParameters { Force = true });
        }
    }
}
