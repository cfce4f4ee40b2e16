using System.Data.Common;
using BatchPortal.Engine.Domain;
using BatchPortal.Engine.Execution;
using BatchPortal.Engine.Jobs;
using BatchPortal.Engine.Storage;
using BatchPortal.Engine.Tests.Support;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Microsoft.Extensions.DependencyInjection;

namespace BatchPortal.Engine.Tests.Execution;

/// <summary>
/// The defects of issue #11 around launches, watches and completions: a call that blips, a database that times out or a
/// second launcher is the engine's problem, never the job's; no job is finished while its container may run, none is
/// left STARTING or RUNNING for good, none runs twice, and no container is left behind.
/// </summary>
public class SelfHealingTests
{
    private static async Task<(EngineHarness Engine, Job Job)> PlacedAsync(DatabaseFaults? faults = null, int attempts = 1)
    {
        var engine = await EngineHarness.CreateAsync(services: faults is null ? null : s => s.AddSingleton<IInterceptor>(faults));
        await engine.CreateComputeEnvironmentAsync("ce", 4);
        await engine.CreateQueueAsync("q", 1, "ce");
        await engine.RegisterDefinitionAsync("d");
        var job = await engine.SubmitAsync(new SubmitJobRequest { JobName = "j", JobQueue = "q", JobDefinition = "d", RetryStrategy = new RetryStrategy { Attempts = attempts } });
        await engine.DispatchUntilIdleAsync();
        return (engine, job);
    }

    [Fact]
    public async Task Watch_LeavesTheJobRunning_WhenStoringItsOutputFailsForAReasonThatIsNotDockers()
    {
        // Regression: #11. A watch that failed for another reason than Docker's (here the database) queued completion
        // anyway, and completion never checked that the container had exited: the job SUCCEEDED while it ran.
        var faults = new DatabaseFaults();
        var (engine, job) = await PlacedAsync(faults);
        await using var _ = engine;
        var containerId = await engine.LaunchAsync(job.Id);
        await engine.Docker.Default.WaitingForExit(containerId);

        faults.Fail("\"LogBytes\" = ", times: 3); // the write that stores a batch of lines
        engine.Docker.Default.Write(containerId, "stdout", 1, "hello");
        await faults.Used.WaitAsync(TimeSpan.FromSeconds(10));
        for (var i = 0; i < 20; i++)
        {
            engine.Time.Advance(TimeSpan.FromSeconds(1));
            await Task.Delay(10);
        }

        Assert.Equal(JobStatus.Running, (await engine.GetJobAsync(job.Id)).Status);
        Assert.DoesNotContain(engine.Hangfire.Calls, c => c.Method == nameof(RunJob.CompleteAsync));
        Assert.True(engine.Get<ContainerWatcher>().IsWatching(job.Id, 1));

        var done = await engine.ExitAsync(job.Id, 0);
        Assert.Equal(JobStatus.Succeeded, done.Status);
        Assert.Equal(["hello"], (await engine.Get<LogStore>().ReadAsync(job.Id, 1)).Select(l => l.Message));
    }

    [Fact]
    public async Task CompleteAsync_FollowsTheContainerAgain_WhenItStillRuns()
    {
        var (engine, job) = await PlacedAsync();
        await using var _ = engine;
        var containerId = await engine.LaunchAsync(job.Id);

        await engine.Get<RunJob>().CompleteAsync(job.Id, 1, containerId, CancellationToken.None);

        Assert.Equal(JobStatus.Running, (await engine.GetJobAsync(job.Id)).Status);
        Assert.True(engine.Docker.Default.IsRunning(containerId));
        Assert.True(engine.Get<ContainerWatcher>().IsWatching(job.Id, 1));
    }

    [Fact]
    public async Task Job_IsNotLeftRunning_WhenItsCompletionFailedOnTheDatabase()
    {
        // Regression: #11. Completion ran with Hangfire's retries off: a database timeout left the job RUNNING, holding
        // its vCPUs, for good.
        var faults = new DatabaseFaults();
        var (engine, job) = await PlacedAsync(faults);
        await using var _ = engine;
        var containerId = await engine.LaunchAsync(job.Id);
        engine.Docker.Default.Exit(containerId, 0);
        await engine.Hangfire.WaitForAsync(c => c.Method == nameof(RunJob.CompleteAsync));

        faults.Fail("UPDATE \"Jobs\"", times: 1);
        await Assert.ThrowsAnyAsync<Exception>(() => engine.Get<RunJob>().CompleteAsync(job.Id, 1, containerId, CancellationToken.None));
        Assert.Equal(JobStatus.Running, (await engine.GetJobAsync(job.Id)).Status);

        // Hangfire retries it; should those run out (or be lost with its in-memory queue), the reconciler follows the
        // attempt again, which completes it.
        engine.Time.Advance(Reconciler.CompletionGrace);
        var before = engine.Hangfire.Calls.Count(c => c.Method == nameof(RunJob.CompleteAsync));
        await engine.Reconciler.ReconcileOnceAsync(CancellationToken.None);
        await WaitUntilAsync(() => engine.Hangfire.Calls.Count(c => c.Method == nameof(RunJob.CompleteAsync)) > before);
        await engine.Get<RunJob>().CompleteAsync(job.Id, 1, containerId, CancellationToken.None);

        Assert.Equal(JobStatus.Succeeded, (await engine.GetJobAsync(job.Id)).Status);
    }

    [Fact]
    public async Task Reconcile_LaunchesAStartingJobAgain_WhenItsLaunchWasLost_ButNotOneJustPlaced()
    {
        var (engine, job) = await PlacedAsync();
        await using var _ = engine;
        Assert.Single(engine.Launches());

        await engine.Reconciler.ReconcileOnceAsync(CancellationToken.None);
        Assert.Single(engine.Launches());

        engine.Time.Advance(Reconciler.LaunchGrace);
        await engine.Reconciler.ReconcileOnceAsync(CancellationToken.None);
        Assert.Equal([(job.Id, 1), (job.Id, 1)], engine.Launches());
    }

    [Fact]
    public async Task HealthCheck_ChangesNoJob_WhenTheEngineAnswersAgain()
    {
        // Regression: #11 (41 launches for 40 jobs). The first health check that found the engine reachable ran recovery
        // inline, in the middle of a dispatch pass: a job that pass had just placed was STARTING and not yet watched,
        // so it was launched a second time.
        var (engine, job) = await PlacedAsync();
        await using var _ = engine;
        var health = engine.Get<DockerHealth>();

        engine.Docker.Default.UnreachableError = "connection refused";
        await health.CheckAsync(engine.Docker.DefaultEndpoint);
        engine.Docker.Default.UnreachableError = null;
        await health.CheckAsync(engine.Docker.DefaultEndpoint);

        Assert.Equal([(job.Id, 1)], engine.Launches());
    }

    [Fact]
    public async Task Launch_TwiceAtOnce_FromTwoNodes_RunsOneContainer_AndNeitherStopsIt()
    {
        // Two launchers of the same attempt (another node's, or one queued again): the second finds the container by
        // its name instead of making another, and seeing the job RUNNING on that container leaves it be.
        var (engine, job) = await PlacedAsync();
        await using var _ = engine;
        var first = engine.Get<RunJob>();
        var second = ActivatorUtilities.CreateInstance<RunJob>(engine.Services);
        var bothInside = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var inside = 0;
        engine.Docker.Default.BeforeStart = async _ =>
        {
            if (Interlocked.Increment(ref inside) == 1)
            {
                await bothInside.Task.WaitAsync(TimeSpan.FromSeconds(10));
            }
        };

        var a = Task.Run(() => first.LaunchAsync(job.Id, 1, CancellationToken.None));
        await WaitUntilAsync(() => Volatile.Read(ref inside) == 1);
        var b = Task.Run(() => second.LaunchAsync(job.Id, 1, CancellationToken.None));
        await b;
        bothInside.SetResult();
        await a;

        var running = await engine.GetJobAsync(job.Id);
        Assert.Equal(JobStatus.Running, running.Status);
        var containerId = Assert.Single(running.Attempts).ContainerId!;
        Assert.Single(engine.Docker.Default.Created);
        Assert.True(engine.Docker.Default.IsRunning(containerId));
    }

    [Fact]
    public async Task Launch_KeepsTheAttemptAndFindsItsContainer_WhenTheCreateTimedOutAfterTheEngineMadeIt()
    {
        // Regression: #11. A launch timeout was taken for "Docker never saw it": the job was placed again while the
        // first container might run.
        var (engine, job) = await PlacedAsync();
        await using var _ = engine;
        engine.Docker.Default.CreatesLostAfterDoing = 1;

        await Assert.ThrowsAsync<ContainerRuntimeUnavailableException>(() => engine.Get<RunJob>().LaunchAsync(job.Id, 1, CancellationToken.None));
        var starting = await engine.GetJobAsync(job.Id);
        Assert.Equal((JobStatus.Starting, 1), (starting.Status, starting.AttemptCount));
        Assert.Contains("the launch is tried again", starting.StatusReason, StringComparison.Ordinal);

        // The retry finds the engine refusing: that says nothing of the first try's container, so the place is kept.
        engine.Docker.Default.UnreachableError = "connection refused";
        await Assert.ThrowsAsync<ContainerRuntimeUnavailableException>(() => engine.Get<RunJob>().LaunchAsync(job.Id, 1, CancellationToken.None));
        Assert.Equal(JobStatus.Starting, (await engine.GetJobAsync(job.Id)).Status);
        engine.Docker.Default.UnreachableError = null;

        await engine.Get<RunJob>().LaunchAsync(job.Id, 1, CancellationToken.None); // Hangfire's retry
        var running = await engine.GetJobAsync(job.Id);
        Assert.Equal(JobStatus.Running, running.Status);
        Assert.Single(running.Attempts);
        Assert.Single(engine.Docker.Default.Created);
    }

    [Fact]
    public async Task Launch_GivesThePlaceBack_WhenTheRequestCannotHaveReachedTheEngine()
    {
        var (engine, job) = await PlacedAsync();
        await using var _ = engine;
        engine.Docker.Default.UnreachableError = "connection refused";

        await engine.Get<RunJob>().LaunchAsync(job.Id, 1, CancellationToken.None);

        var back = await engine.GetJobAsync(job.Id);
        Assert.Equal((JobStatus.Runnable, 0), (back.Status, back.AttemptCount));
        Assert.Empty(back.Attempts);
        Assert.Empty(engine.Docker.Default.Created);
    }

    [Fact]
    public async Task Reconcile_StoresTheOutputAndRemovesTheContainer_OfAJobThatFinishedWhileItsRemovalWasCutOff()
    {
        // Regression: #11. A container whose removal was cut off (or whose job finished during a crash) stayed for good.
        var (engine, job) = await PlacedAsync();
        await using var _ = engine;
        var docker = engine.Docker.Default;
        var containerId = await engine.LaunchAsync(job.Id);
        docker.Write(containerId, "stdout", 1, "kept");
        docker.Exit(containerId, 0);
        await engine.Hangfire.WaitForAsync(c => c.Method == nameof(RunJob.CompleteAsync));
        await engine.StateMachine.EndAttemptAsync(job.Id, 1, new AttemptOutcome(JobStatus.Running, 0, null, AttemptOutcome.EssentialContainerExited, engine.Time.GetUtcNow()));
        docker.Write(containerId, "stdout", 2, "written last");

        await engine.Reconciler.ReconcileOnceAsync(CancellationToken.None);

        Assert.DoesNotContain(containerId, docker.ContainerIds);
        Assert.Contains("written last", (await engine.Get<LogStore>().ReadAsync(job.Id, 1)).Select(l => l.Message));
    }

    [Fact]
    public async Task Reconcile_RemovesAnOrphanOfThisStore_AndLeavesAnotherPortalsContainers()
    {
        var (engine, _) = await PlacedAsync();
        await using var __ = engine;
        var docker = engine.Docker.Default;
        var store = engine.Get<StoreIdentity>().Id;
        var ours = await docker.CreateAndStartAsync(Spec("batchportal-gone-1", "gone", store), CancellationToken.None);
        var theirs = await docker.CreateAndStartAsync(Spec("batchportal-other-1", "other", "another-store"), CancellationToken.None);

        await engine.Reconciler.ReconcileOnceAsync(CancellationToken.None);

        Assert.DoesNotContain(ours, docker.ContainerIds);
        Assert.Contains(theirs, docker.ContainerIds);
    }

    private static ContainerSpec Spec(string name, string jobId, string store) => new(
        name,
        "busybox",
        [],
        new Dictionary<string, string>(),
        new Dictionary<string, string>
        {
            [ContainerLabels.Managed] = "true",
            [ContainerLabels.JobId] = jobId,
            [ContainerLabels.Attempt] = "1",
            [ContainerLabels.Store] = store,
        },
        1,
        0,
        8);

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        while (!condition())
        {
            await Task.Delay(5, deadline.Token);
        }
    }
}

/// <summary>Makes the database fail on chosen statements, as a timeout or a lost connection would.</summary>
internal sealed class DatabaseFaults : DbCommandInterceptor
{
    private string? _match;
    private int _times;

    /// <summary>Completes once a fault has been thrown.</summary>
    public Task Used => _used.Task;

    private readonly TaskCompletionSource _used = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public void Fail(string sqlContains, int times)
    {
        _match = sqlContains;
        Volatile.Write(ref _times, times);
    }

    public override ValueTask<InterceptionResult<DbDataReader>> ReaderExecutingAsync(DbCommand command, CommandEventData eventData, InterceptionResult<DbDataReader> result, CancellationToken cancellationToken = default)
    {
        Check(command);
        return base.ReaderExecutingAsync(command, eventData, result, cancellationToken);
    }

    public override ValueTask<InterceptionResult<int>> NonQueryExecutingAsync(DbCommand command, CommandEventData eventData, InterceptionResult<int> result, CancellationToken cancellationToken = default)
    {
        Check(command);
        return base.NonQueryExecutingAsync(command, eventData, result, cancellationToken);
    }

    private void Check(DbCommand command)
    {
        if (_match is { } match && command.CommandText.Contains(match, StringComparison.Ordinal) && Interlocked.Decrement(ref _times) >= 0)
        {
            _used.TrySetResult();
            throw new TimeoutException($"Injected database fault on: {match}");
        }
    }
}
