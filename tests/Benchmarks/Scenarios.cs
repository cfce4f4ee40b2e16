using System.Diagnostics;
using BatchPortal.Engine.Domain;
using BatchPortal.Engine.Execution;
using BatchPortal.Engine.Jobs;
using BatchPortal.Engine.Dispatch;
using BatchPortal.Engine.Storage;
using Microsoft.Extensions.Options;
using static BatchPortal.Benchmarks.Report;

namespace BatchPortal.Benchmarks;

/// <summary>The five measurements of DESIGN.md's performance targets, each against Docker's own figures from the same run.</summary>
internal static class Scenarios
{
    private const string Queue = "q-bench";
    private static readonly TimeSpan JobDeadline = TimeSpan.FromMinutes(2);

    /// <summary>(1) Submit → RUNNING and → SUCCEEDED for <c>true</c>, one job at a time, against Docker.DotNet and the docker CLI.</summary>
    public static async Task<List<Row>> LatencyAsync(DockerBaseline docker, int samples, int warmups = 3)
    {
        const string Ce = "ce-latency";
        await using var host = await BenchHost.StartAsync("latency");
        await host.CreateEnvironmentAsync(Ce, 8);
        await host.CreateQueueAsync(Queue, Ce);
        await host.RegisterAsync("true", "true");
        var hostCpus = await docker.HostCpusAsync();

        List<double> running = [], succeeded = [], dnRunning = [], dnExited = [], dnRemoved = [], cli = [];
        for (var i = -warmups; i < samples; i++)
        {
            // Interleaved, so that a noisy moment hurts both sides alike.
            var started = Stopwatch.GetTimestamp();
            var job = await host.SubmitAsync($"latency-{i + warmups}", Queue, "true");
            var runningAt = await host.Events.RunningAsync(job.Id).WaitAsync(JobDeadline);
            var (finalAt, status) = await host.Events.FinalAsync(job.Id).WaitAsync(JobDeadline);
            Require(status == JobStatus.Succeeded, $"job {job.Id} ended {status}");

            // The engine removes its container after SUCCEEDED; the next sample starts on a quiet engine.
            await WaitUntilAsync(async () => await docker.CountContainersAsync(Ce) == 0);

            var baseline = await docker.CreateStartWaitRemoveAsync(hostCpus);
            var run = await DockerBaseline.DockerRunAsync();
            if (i < 0)
            {
                continue;
            }

            running.Add(Stopwatch.GetElapsedTime(started, runningAt).TotalMilliseconds);
            succeeded.Add(Stopwatch.GetElapsedTime(started, finalAt).TotalMilliseconds);
            dnRunning.Add(baseline.Running);
            dnExited.Add(baseline.Exited);
            dnRemoved.Add(baseline.Removed);
            cli.Add(run);
        }

        var toRunning = Median(running) / Median(dnRunning);
        var toSucceeded = Median(succeeded) / Median(cli);
        const string S = "1 latency";
        return
        [
            new(S, $"submit → RUNNING, median of {samples}", $"{Ms(Median(running))} ({Ratio(toRunning)})", $"Docker.DotNet create+start {Ms(Median(dnRunning))}", "≤ 1.25×", Verdict(toRunning <= 1.25)),
            new(S, $"submit → SUCCEEDED, median of {samples}", $"{Ms(Median(succeeded))} ({Ratio(toSucceeded)})", $"docker run --rm {Ms(Median(cli))}", "≤ 1.25×", Verdict(toSucceeded <= 1.25)),
            new(S, "submit → SUCCEEDED vs create+start+wait", Ratio(Median(succeeded) / Median(dnExited)), $"Docker.DotNet create+start+wait {Ms(Median(dnExited))} (+remove {Ms(Median(dnRemoved))})", "—", "info"),
        ];
    }

    /// <summary>(2) 200 short jobs of 1 vCPU on an 8-vCPU environment, against <c>xargs -P 8 docker run --rm</c>.</summary>
    public static async Task<List<Row>> ThroughputAsync(DockerBaseline docker, int count = 200, int vcpus = 8)
    {
        const string Ce = "ce-throughput";

        // Docker's figure brackets the engine's run (before and after), so a drift of the machine shows on both sides.
        var xargsBefore = await DockerBaseline.XargsAsync(count, vcpus);

        await using var host = await BenchHost.StartAsync("throughput");
        await host.CreateEnvironmentAsync(Ce, vcpus);
        await host.CreateQueueAsync(Queue, Ce);
        await host.RegisterAsync("true", "true");

        var started = Stopwatch.GetTimestamp();
        var jobs = new List<Job>(count);
        for (var i = 0; i < count; i++)
        {
            jobs.Add(await host.SubmitAsync($"short-{i}", Queue, "true"));
        }

        var submitted = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        var finals = await Task.WhenAll(jobs.Select(j => host.Events.FinalAsync(j.Id).WaitAsync(JobDeadline * 5)));
        Require(finals.All(f => f.Status == JobStatus.Succeeded), $"{finals.Count(f => f.Status != JobStatus.Succeeded)} jobs did not succeed");
        var wall = Stopwatch.GetElapsedTime(started, finals.Max(f => f.At)).TotalMilliseconds;
        await WaitUntilAsync(async () => await docker.CountContainersAsync(Ce) == 0);
        var removed = Stopwatch.GetElapsedTime(started).TotalMilliseconds;

        var xargsAfter = await DockerBaseline.XargsAsync(count, vcpus);
        var xargs = (xargsBefore + xargsAfter) / 2;
        var ratio = wall / xargs;
        var s = $"2 {count} jobs";
        return
        [
            new(s, $"{count} × true, 1 vCPU each, {vcpus}-vCPU CE: wall to last SUCCEEDED", $"{Ms(wall)} ({Ratio(ratio)})", $"xargs -P {vcpus} docker run --rm {Ms(xargs)} (runs: {Ms(xargsBefore)}, {Ms(xargsAfter)})", "≤ 1.3×", Verdict(ratio <= 1.3)),
            new(s, "… until every container was removed", $"{Ms(removed)} ({Ratio(removed / xargs)})", "", "—", "info"),
            new(s, $"… of which submitting all {count}", Ms(submitted), "", "—", "info"),
        ];
    }

    /// <summary>
    /// (3) A chain of 5 jobs, each depending on the previous: the engine's overhead per link. Run <paramref name="rounds"/>
    /// times, each followed by Docker's own figure for one link's container, and reported as the median round.
    /// </summary>
    public static async Task<List<Row>> ChainAsync(DockerBaseline docker, int links = 5, int rounds = 3)
    {
        const string Ce = "ce-chain";
        await using var host = await BenchHost.StartAsync("chain");
        await host.CreateEnvironmentAsync(Ce, 8);
        await host.CreateQueueAsync(Queue, Ce);
        await host.RegisterAsync("true", "true");
        var hostCpus = await docker.HostCpusAsync();

        // Warm the engine's paths (EF model, Hangfire, Docker client) so the chain measures steady state.
        var warm = await host.SubmitAsync("warm", Queue, "true");
        await host.Events.FinalAsync(warm.Id).WaitAsync(JobDeadline);
        await WaitUntilAsync(async () => await docker.CountContainersAsync(Ce) == 0);

        List<double> literal = [], net = [], walls = [], runs = [], baselines = [];
        TimeSpan dockerStart = TimeSpan.Zero, completing = TimeSpan.Zero, dispatching = TimeSpan.Zero, launching = TimeSpan.Zero;
        List<double> creates = [], checks = [];
        for (var round = 0; round < rounds; round++)
        {
            var startedWall = TimeProvider.System.GetUtcNow();
            var started = Stopwatch.GetTimestamp();
            var chain = new List<Job>(links);
            for (var i = 0; i < links; i++)
            {
                var previous = i == 0 ? null : chain[i - 1];
                chain.Add(await host.SubmitAsync($"link-{round}-{i}", Queue, "true", r => r.DependsOn = previous is null ? null : [new JobDependency { JobId = previous.Id }]));
            }

            var (lastAt, lastStatus) = await host.Events.FinalAsync(chain[^1].Id).WaitAsync(JobDeadline);
            Require(lastStatus == JobStatus.Succeeded, $"the last link ended {lastStatus}");
            var wall = Stopwatch.GetElapsedTime(started, lastAt);
            await WaitUntilAsync(async () => await docker.CountContainersAsync(Ce) == 0);

            // Docker's own timestamps of each link's container (created, started, died), and the engine's history.
            var events = await docker.EventsAsync(Ce, startedWall.AddSeconds(-1), TimeProvider.System.GetUtcNow().AddMilliseconds(200));
            DateTimeOffset At(string jobId, string action) =>
                DateTimeOffset.UnixEpoch.AddTicks(events.Single(e => e.Action == action && e.Actor.Attributes[ContainerLabels.JobId] == jobId).TimeNano / 100);
            var run = TimeSpan.Zero;
            var previousEnd = startedWall;
            DateTimeOffset? previousSucceeded = null;
            foreach (var job in chain)
            {
                var (created, begun, died) = (At(job.Id, "create"), At(job.Id, "start"), At(job.Id, "die"));
                var history = await host.Jobs.GetHistoryAsync(job.Id);
                var starting = history.Single(h => h.To == JobStatus.Starting).At;
                run += died - begun;
                dockerStart += begun - created;
                if (previousSucceeded is { } ok)
                {
                    completing += ok - previousEnd;
                    dispatching += starting - ok;
                }

                launching += created - starting;
                previousEnd = died;
                previousSucceeded = history.Single(h => h.To == JobStatus.Succeeded).At;
            }

            // Docker's own cost of one link's container, measured right after the round: create + start + wait for `true`.
            List<double> exited = [];
            for (var i = 0; i < links; i++)
            {
                var baseline = await docker.CreateStartWaitRemoveAsync(hostCpus);
                creates.Add(baseline.Created);
                exited.Add(baseline.Exited);
                checks.Add(await docker.LaunchChecksAsync());
            }

            walls.Add(wall.TotalMilliseconds);
            runs.Add(run.TotalMilliseconds);
            baselines.Add(Median(exited));
            literal.Add((wall - run).TotalMilliseconds / links);
            net.Add((wall.TotalMilliseconds - (links * Median(exited))) / links);
        }

        var perLink = (double)(links * rounds);
        var perGap = (double)((links - 1) * rounds);
        var launchOwn = Math.Max(0, (launching.TotalMilliseconds / perLink) - Median(creates));
        var own = (completing.TotalMilliseconds / perGap) + (dispatching.TotalMilliseconds / perGap) + launchOwn;
        var s = $"3 chain of {links}";
        return
        [
            new(s, $"overhead per link = (wall − Σ container run) / {links}, median of {rounds}", $"{Ms(Median(literal))} (rounds: {string.Join(", ", literal.Select(Ms))})", $"wall {Ms(Median(walls))}, Σ run {Ms(Median(runs))} (Docker's start → die)", "< 100 ms", Verdict(Median(literal) < 100)),
            new(s, $"overhead per link net of Docker = (wall − {links} × Docker's create+start+wait) / {links}", $"{Ms(Median(net))} (rounds: {string.Join(", ", net.Select(Ms))})", $"Docker.DotNet create+start+wait {Ms(Median(baselines))}", "—", "info"),
            new(s, "engine's own time per link = died → SUCCEEDED + SUCCEEDED → STARTING + launch without Docker's create", Ms(own), $"launch without create {Ms(launchOwn)}", "< 100 ms", Verdict(own < 100)),
            new(s, "   Docker: create event → start event, per link", Ms(dockerStart.TotalMilliseconds / perLink), "Docker's own events", "—", "info"),
            new(s, "   engine: container died → job SUCCEEDED (watcher, Hangfire, completion)", Ms(completing.TotalMilliseconds / perGap), "", "—", "info"),
            new(s, "   engine: SUCCEEDED → next job STARTING (dispatcher)", Ms(dispatching.TotalMilliseconds / perGap), "", "—", "info"),
            new(s, "   engine: launch's Docker checks before create (list by label + image inspect)", Ms(Median(checks)), "measured beside, through Docker.DotNet", "—", "info"),
            new(s, "   engine + Docker's create: STARTING → create event (Hangfire, checks, create)", Ms(launching.TotalMilliseconds / perLink), $"Docker.DotNet create alone {Ms(Median(creates))}", "—", "info"),
        ];
    }

    /// <summary>(4) SubmitJob of an array of 10,000 children: accepted, then every child made.</summary>
    public static async Task<List<Row>> ArrayAsync(int size = 10_000, int samples = 3)
    {
        var noop = new NoopContainerRuntime();
        await using var host = await BenchHost.StartAsync("array", noop);
        await host.CreateEnvironmentAsync("ce-array", 8);
        await host.CreateQueueAsync(Queue, "ce-array");
        await host.RegisterAsync("true", "true");
        var warm = await host.SubmitAsync("warm", Queue, "true", r => r.ArrayProperties = new ArrayProperties { Size = 2 });
        await host.Events.PendingAsync(warm.Id).WaitAsync(JobDeadline);

        List<double> accepted = [], spawned = [];
        for (var i = 0; i < samples; i++)
        {
            var started = Stopwatch.GetTimestamp();
            var parent = await host.SubmitAsync($"array-{i}", Queue, "true", r => r.ArrayProperties = new ArrayProperties { Size = size });
            accepted.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            var pendingAt = await host.Events.PendingAsync(parent.Id).WaitAsync(JobDeadline);
            spawned.Add(Stopwatch.GetElapsedTime(started, pendingAt).TotalMilliseconds);
            var children = await host.Jobs.CountAsync(new JobFilter { ParentJobId = parent.Id });
            Require(children == size, $"array {parent.Id} has {children} children, not {size}");
        }

        const string S = "4 array";
        return
        [
            new(S, $"SubmitJob of an array of {size:N0}: accepted (median of {samples})", $"{Ms(Median(accepted))} (max {Ms(accepted.Max())})", "", "< 1 s", Verdict(accepted.Max() < 1000)),
            new(S, $"… until all {size:N0} children exist (median of {samples})", $"{Ms(Median(spawned))} (max {Ms(spawned.Max())})", "", "—", "info"),
        ];
    }

    /// <summary>
    /// (5) The dispatcher with 100,000 RUNNABLE jobs waiting: capacity is full (a runtime that starts nothing holds it),
    /// so every pass decides, for each job it looks at, that it must wait, as a big backlog does in real use.
    /// </summary>
    public static async Task<List<Row>> BacklogAsync(int arrays = 10, int size = 10_000, int passes = 20)
    {
        var noop = new NoopContainerRuntime();
        await using var host = await BenchHost.StartAsync("backlog", noop, new Dictionary<string, string>
        {
            // Only the passes measured here run while measuring: the loop wakes on events, and none happen then.
            ["Engine:Scheduler:PollInterval"] = "00:10:00",
        });
        await host.CreateEnvironmentAsync("ce-backlog", 8);
        await host.CreateQueueAsync(Queue, "ce-backlog");
        await host.RegisterAsync("true", "true");
        var perPass = host.Get<IOptions<DispatchOptions>>().Value.MaxJobsPerPass;

        // Fill the 8 vCPUs for good, then measure a pass over an empty queue.
        var fill = await host.SubmitAsync("fill", Queue, "true", r => r.ArrayProperties = new ArrayProperties { Size = 8 });
        await host.Events.PendingAsync(fill.Id).WaitAsync(JobDeadline);
        await SettleAsync(host);
        var empty = await TimePassesAsync(host, passes);
        var (heapBefore, setBefore) = Memory();

        var started = Stopwatch.GetTimestamp();
        for (var i = 0; i < arrays; i++)
        {
            var parent = await host.SubmitAsync($"backlog-{i}", Queue, "true", r => r.ArrayProperties = new ArrayProperties { Size = size });
            await host.Events.PendingAsync(parent.Id).WaitAsync(JobDeadline);
        }

        var inserted = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        await SettleAsync(host);
        var queued = await host.Jobs.CountAsync(new JobFilter { Statuses = [JobStatus.Runnable] });
        var full = await TimePassesAsync(host, passes);
        var (heapAfter, setAfter) = Memory();
        Require(queued >= arrays * size, $"only {queued} RUNNABLE jobs");

        var examined = Math.Min(perPass, queued);
        var decisions = examined / (Median(full) / 1000);
        var s = $"5 backlog {queued:N0}";
        return
        [
            new(s, $"dispatcher pass with {queued:N0} RUNNABLE (looks at the first {examined:N0}), median of {passes}", Ms(Median(full)), $"empty queue: {Ms(Median(empty))}", "—", "info"),
            new(s, "decisions per second", $"{decisions:N0}/s", "", "—", "info"),
            new(s, "GC heap per queued job", $"{(heapAfter - heapBefore) / (double)queued:0.0} bytes", $"heap {heapBefore >> 20} → {heapAfter >> 20} MiB", "—", "info"),
            new(s, "working set per queued job", $"{(setAfter - setBefore) / (double)queued:0} bytes", $"working set {setBefore >> 20} → {setAfter >> 20} MiB", "—", "info"),
            new(s, $"engine working set with {queued + 8 + 2:N0} jobs stored", $"{setAfter >> 20} MiB", "(portal target also counts 20 open boards)", "< 500 MB", Verdict(setAfter < 500L * 1000 * 1000)),
            new(s, $"inserting {arrays} arrays of {size:N0} (submit + spawn)", Ms(inserted), "", "—", "info"),
        ];
    }

    /// <summary>
    /// (6) A dependency-heavy backlog: <paramref name="waiting"/> PENDING jobs, each depending on one job that is RUNNING.
    /// A pass's cost beside a pass with none waiting (the dispatcher reads only jobs whose wait is over), then the release
    /// when that job succeeds: every dependent counted down in the finishing transaction, then made RUNNABLE.
    /// </summary>
    public static async Task<List<Row>> DependenciesAsync(int waiting = 20_000, int passes = 20, int clients = 8)
    {
        var noop = new NoopContainerRuntime();
        await using var host = await BenchHost.StartAsync("dependencies", noop, new Dictionary<string, string>
        {
            ["Engine:Scheduler:PollInterval"] = "00:10:00",
        });
        await host.CreateEnvironmentAsync("ce-dependencies", 8);
        await host.CreateQueueAsync(Queue, "ce-dependencies");
        await host.RegisterAsync("true", "true");

        var upstream = await host.SubmitAsync("upstream", Queue, "true");
        await host.Events.RunningAsync(upstream.Id).WaitAsync(JobDeadline);
        await SettleAsync(host);
        var none = await TimePassesAsync(host, passes);

        // Submitted the way an API's clients do it: several at a time, each its own SubmitJob.
        var started = Stopwatch.GetTimestamp();
        var next = -1;
        await Task.WhenAll(Enumerable.Range(0, clients).Select(async _ =>
        {
            for (var i = Interlocked.Increment(ref next); i < waiting; i = Interlocked.Increment(ref next))
            {
                await host.SubmitAsync($"downstream-{i:D5}", Queue, "true", r => r.DependsOn = [new JobDependency { JobId = upstream.Id }]);
            }
        }));
        var submitted = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        await SettleAsync(host);
        var pending = await host.Jobs.CountAsync(new JobFilter { Statuses = [JobStatus.Pending] });
        Require(pending == waiting, $"{pending} PENDING jobs, not {waiting}");
        var full = await TimePassesAsync(host, passes);

        // The release: the container exits, the job SUCCEEDS with its dependents counted down in the same transaction,
        // and the loop's passes (woken by the change) move the released ones to RUNNABLE, the first 7 on to STARTING.
        var exited = Stopwatch.GetTimestamp();
        noop.Exit(upstream.Id);
        var (succeededAt, status) = await host.Events.FinalAsync(upstream.Id).WaitAsync(JobDeadline);
        Require(status == JobStatus.Succeeded, $"upstream ended {status}");
        await WaitUntilAsync(async () => await host.Jobs.CountAsync(new JobFilter { Statuses = [JobStatus.Pending] }) == 0, TimeSpan.FromMinutes(5));
        var released = Stopwatch.GetElapsedTime(exited).TotalMilliseconds;

        var s = $"6 dependencies {waiting:N0}";
        var ratio = Median(full) / Median(none);
        return
        [
            new(s, $"dispatcher pass with {waiting:N0} PENDING on a RUNNING job, median of {passes}", $"{Ms(Median(full))} ({Ratio(ratio)})", $"none waiting: {Ms(Median(none))}", "—", "info"),
            new(s, $"submitting the {waiting:N0} dependents ({clients} at a time)", $"{Ms(submitted)} ({waiting / (submitted / 1000):N0} jobs/s)", "", "—", "info"),
            new(s, "upstream's container exit → SUCCEEDED (dependents counted down in the same transaction)", Ms(Stopwatch.GetElapsedTime(exited, succeededAt).TotalMilliseconds), "", "—", "info"),
            new(s, $"… → all {waiting:N0} dependents out of PENDING", Ms(released), "", "—", "info"),
        ];
    }

    /// <summary>Runs passes until one moves nothing: wait reasons written, capacity filled.</summary>
    private static async Task SettleAsync(BenchHost host)
    {
        for (var i = 0; i < 1_000 && await host.DispatchOnceAsync(); i++)
        {
        }

        // Let the loop's own pass, woken by those moves, finish too.
        await Task.Delay(500);
        while (await host.DispatchOnceAsync())
        {
        }
    }

    private static async Task<List<double>> TimePassesAsync(BenchHost host, int passes)
    {
        var times = new List<double>(passes);
        for (var i = 0; i < passes; i++)
        {
            var started = Stopwatch.GetTimestamp();
            var moved = await host.DispatchOnceAsync();
            times.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            Require(!moved, "a measured pass moved a job; the backlog was not settled");
        }

        return times;
    }

    private static (long Heap, long WorkingSet) Memory()
    {
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
        GC.WaitForPendingFinalizers();
        var heap = GC.GetTotalMemory(forceFullCollection: true);
        using var self = Process.GetCurrentProcess();
        return (heap, self.WorkingSet64);
    }

    private static async Task WaitUntilAsync(Func<Task<bool>> condition, TimeSpan? within = null)
    {
        using var deadline = new CancellationTokenSource(within ?? JobDeadline);
        while (!await condition())
        {
            await Task.Delay(10, deadline.Token);
        }
    }

    private static void Require(bool condition, string what)
    {
        if (!condition)
        {
            throw new InvalidOperationException($"Benchmark run is invalid: {what}.");
        }
    }
}
