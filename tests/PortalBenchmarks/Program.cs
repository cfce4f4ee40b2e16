using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using BatchPortal.Engine.Domain;
using BatchPortal.PortalBenchmarks;

// BatchPortal's API, console, live-push and memory targets (DESIGN.md), measured on the real portal run as its own process,
// with moto's server driven the same way in the same run where it offers the same operation.
//   dotnet run -c Release --project tests/PortalBenchmarks -- [submit] [dependents] [queries] [push] [memory] [options]
// No scenario named: all five. Options: --submissions=N (5000) --warmup=N (4000 untimed submissions before each timed run: the
//   portal compiles its hot paths, then recompiles them optimized, in its first seconds under load) --clients=N (8) --jobs=N (100000) --changes=N (200)
//   --watchers=N (20) --boards=N (20; 0 = no browser) --no-browser --samples=N (30) --no-moto --keep (keep the temp folder)
//   --portal-setting=Key:Path=Value (repeatable; passed to the portal as configuration, e.g. Logging:LogLevel:Default=Warning)
//   --hold=N (keep the full-store portal, its watchers and boards open N seconds at the end, to inspect it; its pid is printed)
//   --wrk-seconds=N (15; the dependents scenario's timed wrk run, after --wrk-warmup=N seconds, 8, untimed)
string[] all = ["submit", "dependents", "queries", "push", "memory"];
var chosen = new List<string>();
var options = new Dictionary<string, int>(StringComparer.Ordinal)
{
    ["submissions"] = 5_000, ["warmup"] = 4_000, ["clients"] = 8, ["jobs"] = 100_000, ["changes"] = 200, ["watchers"] = 20, ["boards"] = 20, ["samples"] = 30, ["hold"] = 0, ["wrk-seconds"] = 15, ["wrk-warmup"] = 8,
};
bool useMoto = true, keep = false;
foreach (var arg in args)
{
    if (arg == "--no-moto")
    {
        useMoto = false;
    }
    else if (arg == "--no-browser")
    {
        options["boards"] = 0;
    }
    else if (arg == "--keep")
    {
        keep = true;
    }
    else if (arg.StartsWith("--portal-setting=", StringComparison.Ordinal) && arg["--portal-setting=".Length..].Split('=', 2) is [var settingKey, var settingValue])
    {
        PortalProcess.ExtraSettings[settingKey] = settingValue;
    }
    else if (arg.StartsWith("--", StringComparison.Ordinal) && arg.Split('=', 2) is [var key, var value]
        && options.ContainsKey(key[2..]) && int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) && n >= 0)
    {
        options[key[2..]] = n;
    }
    else if (all.Contains(arg))
    {
        chosen.Add(arg);
    }
    else
    {
        await Console.Error.WriteLineAsync($"Unknown argument '{arg}'. Scenarios: {string.Join(", ", all)}. Options: "
            + string.Join(' ', options.Keys.Select(k => $"--{k}=N")) + " --no-browser --no-moto --keep --portal-setting=Key=Value.");
        return 2;
    }
}

if (chosen.Count == 0)
{
    chosen.AddRange(all);
}

int submissions = options["submissions"], warmup = options["warmup"], clients = Math.Max(1, options["clients"]), jobs = Math.Max(1_000, options["jobs"]);
int changes = options["changes"], watchers = options["watchers"], boards = options["boards"], samples = Math.Max(5, options["samples"]);
var boardsWanted = boards > 0 && (chosen.Contains("push") || chosen.Contains("memory"));
if (boardsWanted && !File.Exists(LiveSession.Chromium))
{
    Console.WriteLine($"No Chromium at {LiveSession.Chromium}: the boards are left out (apt-get install -y chromium to include them).");
    boards = 0;
}

var (motoVersion, motoProblem) = useMoto ? await MotoServer.ProbeAsync() : (null, "left out (--no-moto)");
var folder = Directory.CreateTempSubdirectory("batchportal-portalbench-").FullName;

var cpu = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim();
Console.WriteLine($"Machine:  {Environment.ProcessorCount} CPUs ({cpu ?? RuntimeInformation.ProcessArchitecture.ToString()}), {GC.GetGCMemoryInfo().TotalAvailableMemoryBytes >> 30} GiB, {RuntimeInformation.OSDescription}");
Console.WriteLine($"Runtime:  {RuntimeInformation.FrameworkDescription}; benchmark optimized: {IsOptimized()}; portal: {PortalProcess.AssemblyPath} (Production, {PortalProcess.RuntimeSettings()})");
Console.WriteLine($"Peer:     moto {motoVersion ?? $"n/a — {motoProblem}"}; browser: {(boards > 0 && boardsWanted ? await ChromiumVersionAsync() : "not used")}");
Console.WriteLine($"Run:      {string.Join(' ', chosen)}; submissions {submissions} from {clients} clients; {jobs:N0} stored jobs; {changes} changes to {watchers} hub watchers + {(boardsWanted ? boards : 0)} boards; {samples} samples per query");
if (PortalProcess.ExtraSettings.Count > 0)
{
    Console.WriteLine($"Portal:   settings {string.Join(", ", PortalProcess.ExtraSettings.Select(p => $"{p.Key}={p.Value}"))}");
}

Console.WriteLine($"Started:  {TimeProvider.System.GetUtcNow():u}, load average {Report.LoadAverage()}; work folder {folder}");
Console.WriteLine();

var rows = new List<Row>();
var total = Stopwatch.StartNew();
try
{
    if (chosen.Contains("submit"))
    {
        await EmptyStoreAsync();
    }

    if (chosen.Contains("dependents"))
    {
        await DependentsAsync();
    }

    // The other scenarios end on the full store: the reads, SubmitJob again with the history in place, the push, the memory.
    if (chosen.Any(c => c is "submit" or "queries" or "push" or "memory"))
    {
        await FullStoreAsync();
    }
}
finally
{
    if (!keep)
    {
        try
        {
            Directory.Delete(folder, recursive: true);
        }
        catch (IOException)
        {
            // A process may still hold a file for a moment; the OS cleans its temp folder.
        }
    }
}

Console.WriteLine();
Console.Write(Report.Table(rows));
Console.WriteLine();
var missed = rows.Where(r => r.Verdict == "MISS").ToList();
Console.WriteLine($"Total {total.Elapsed.TotalSeconds:0} s; load average now {Report.LoadAverage()}; {missed.Count} target(s) missed{(missed.Count > 0 ? ": " + string.Join("; ", missed.Select(m => m.Figure)) : ".")}");
return 0;

// Stage 1: a fresh portal and a fresh moto, the same SubmitJob load on each, then the same reads on the two equal stores.
async Task EmptyStoreAsync()
{
    Step("submit, empty store");
    await using var portal = await PortalProcess.StartAsync(folder, "empty-store");
    using var api = new BatchClient(portal.Address);
    await Setup.CreateAsync(api);
    var ours = await Scenarios.SubmitLoadAsync(portal.Address, Setup.Queues[0], Setup.Definition, "sub", submissions, clients, warmup, portal.CpuTime);
    Done();

    SubmitRun? theirs = null;
    MotoServer? moto = null;
    BatchClient? motoApi = null;
    try
    {
        if (motoVersion is not null)
        {
            Step("moto: submit");
            moto = await MotoServer.StartAsync(motoVersion, folder);
            motoApi = new BatchClient(moto.Address);
            await MotoServer.SetUpAsync(motoApi);
            theirs = await Scenarios.SubmitLoadAsync(moto.Address, MotoServer.Queue, MotoServer.Definition, "sub", submissions, clients, warmup, moto.CpuTime);
            Done();
        }

        var scenario = $"1 SubmitJob ({clients} clients, {submissions:N0} jobs, empty store)";
        rows.Add(new Row(scenario, "throughput", $"{Report.Num(ours.JobsPerSecond)} jobs/s{Errors(ours)}", theirs is null ? motoProblem ?? "n/a" : $"{Report.Num(theirs.JobsPerSecond)} jobs/s{Errors(theirs)}",
            theirs is null ? "n/a" : Report.Faster(ours.JobsPerSecond, theirs.JobsPerSecond, higherIsBetter: true), "≥ 1,000 jobs/s", Report.Verdict(ours.JobsPerSecond >= 1000 && ours.Errors == 0)));
        rows.Add(new Row(scenario, "latency per SubmitJob", ours.Latency.SummaryWithMax, theirs?.Latency.SummaryWithMax ?? "n/a",
            theirs is null ? "n/a" : Report.Faster(ours.Latency.P(50), theirs.Latency.P(50), higherIsBetter: false) + " (p50)", "—", "info"));
        rows.Add(new Row(scenario, "server CPU time per job (user + system)", $"{ours.ServerCpuMsPerJob:0.00} ms", theirs is null ? "n/a" : $"{theirs.ServerCpuMsPerJob:0.00} ms",
            theirs is null ? "n/a" : Report.Faster(ours.ServerCpuMsPerJob, theirs.ServerCpuMsPerJob, higherIsBetter: false), "—", "info"));

        if (moto is not null && motoApi is not null && theirs is not null)
        {
            // The same reads on the two stores of the same size. Our jobs wait RUNNABLE (no Docker); moto's job threads
            // found no Docker either and failed their jobs: each store is listed by the status its jobs are in.
            Step("peer reads on both stores");
            await Setup.WaitForStatusAsync(api, ours.Ids.TakeLast(200).ToList(), "RUNNABLE", TimeSpan.FromSeconds(60));
            await Setup.WaitForStatusAsync(motoApi, theirs.Ids.TakeLast(200).ToList(), "FAILED", TimeSpan.FromSeconds(120));
            var peer = $"1b Reads on {warmup + submissions:N0} stored jobs (same store size both)";
            var reads = new (string Figure, Func<BatchClient, string, string, IReadOnlyList<string>, Func<int, Task>> Op, string Note)[]
            {
                ("DescribeJobs, 100 ids", (c, _, _, ids) => Scenarios.Api(c, "describejobs", i => Scenarios.DescribeBody(ids, i), Scenarios.DescribeReturns(100)), ""),
                ("ListJobs JOB_NAME 'sub-001*' (100 match)", (c, q, _, _) => Scenarios.Api(c, "listjobs", _ => Scenarios.ListBody(q, filter: ("JOB_NAME", "sub-001*")), Scenarios.ListReturns(100)), ""),
                ("ListJobs queue + status, first page", (c, q, s, _) => Scenarios.Api(c, "listjobs", _ => Scenarios.ListBody(q, s), Scenarios.ListReturns(100)),
                    " — not like for like: moto has no paging and returns all matches"),
            };
            foreach (var (figure, op, note) in reads)
            {
                var mine = await Scenarios.MeasureAsync(3, samples, op(api, Setup.Queues[0], "RUNNABLE", ours.Ids));
                var other = await Scenarios.MeasureAsync(3, samples, op(motoApi, MotoServer.Queue, "FAILED", theirs.Ids));
                rows.Add(new Row(peer, figure + note, mine.Summary, other.Summary, Report.Faster(mine.P(50), other.P(50), higherIsBetter: false) + " (p50)", "< 300 ms", Report.Verdict(mine.P(95) < 300)));
            }

            rows.Add(new Row(peer, "resident memory after the run", $"{Report.Num(portal.Memory().RssMiB)} MiB", $"{Report.Num(moto.RssMiB())} MiB", "—", "—", "info"));
            Done();
        }
    }
    finally
    {
        motoApi?.Dispose();
        if (moto is not null)
        {
            await moto.DisposeAsync();
        }
    }
}

// Stage 1b: SubmitJob of jobs that depend on a RUNNING job, driven by wrk at the clients' count of connections, on a fresh
// portal and on moto. The dependents wait PENDING; the store is checked afterwards to hold every one wrk was answered for.
async Task DependentsAsync()
{
    if (!Wrk.Available)
    {
        Console.WriteLine($"No wrk at {Wrk.Path}: the dependents scenario is left out (apt-get install -y wrk to include it).");
        return;
    }

    Step("submit with dependsOn (wrk)");
    await using var portal = await PortalProcess.StartAsync(folder, "dependents");
    using var api = new BatchClient(portal.Address);
    await Setup.CreateAsync(api);
    var upstream = await Setup.UpstreamAsync(api);
    var body = Setup.DependentBody(Setup.Queues[0], Setup.Definition, upstream.JobId);
    var warm = await Wrk.SubmitAsync(portal.Address, folder, body, clients, TimeSpan.FromSeconds(options["wrk-warmup"]), portal.CpuTime);
    var ours = await Wrk.SubmitAsync(portal.Address, folder, body, clients, TimeSpan.FromSeconds(options["wrk-seconds"]), portal.CpuTime);
    var accepted = warm.Requests - warm.Non2xx - warm.SocketErrors + ours.Requests - ours.Non2xx - ours.SocketErrors;
    // Every job wrk was answered for is stored, and once the dispatcher has moved the last ones on, each waits PENDING.
    var settle = Stopwatch.StartNew();
    while (await Seeder.ScalarAsync(portal.DatabasePath, "SELECT COUNT(*) FROM Jobs WHERE Name = 'dependent' AND Status = 'Submitted'") > 0 && settle.Elapsed < TimeSpan.FromSeconds(60))
    {
        await Task.Delay(250);
    }

    var pending = await Seeder.ScalarAsync(portal.DatabasePath, "SELECT COUNT(*) FROM Jobs WHERE Name = 'dependent' AND Status = 'Pending' AND WaitsFor = 1");
    var stored = await Seeder.ScalarAsync(portal.DatabasePath, "SELECT COUNT(*) FROM Jobs WHERE Name = 'dependent'");
    var upstreamNow = await Setup.StatusAsync(api, upstream.JobId);
    await upstream.DisposeAsync();
    Done();

    WrkRun? theirs = null;
    string? motoUpstream = null;
    if (motoVersion is not null)
    {
        Step("moto: submit with dependsOn (wrk)");
        await using var moto = await MotoServer.StartAsync(motoVersion, folder);
        using var motoApi = new BatchClient(moto.Address);
        await MotoServer.SetUpAsync(motoApi);
        var motoParent = (await motoApi.CallAsync("submitjob", Setup.SubmitBody("upstream", MotoServer.Queue, MotoServer.Definition))).GetProperty("jobId").GetString()!;
        var motoBody = Setup.DependentBody(MotoServer.Queue, MotoServer.Definition, motoParent);
        await Wrk.SubmitAsync(moto.Address, folder, motoBody, clients, TimeSpan.FromSeconds(options["wrk-warmup"]), moto.CpuTime);
        motoUpstream = await Setup.StatusAsync(motoApi, motoParent);
        theirs = await Wrk.SubmitAsync(moto.Address, folder, motoBody, clients, TimeSpan.FromSeconds(options["wrk-seconds"]), moto.CpuTime);
        Done();
    }

    var scenario = $"1c SubmitJob dependsOn a {upstreamNow} job (wrk, {clients} connections, {options["wrk-seconds"]} s)";
    var note = motoUpstream is null ? "" : $" (its upstream job {motoUpstream}: moto has no Docker here)";
    rows.Add(new Row(scenario, "throughput", $"{Report.Num(ours.PerSecond)} jobs/s{ours.Errors}", theirs is null ? motoProblem ?? "n/a" : $"{Report.Num(theirs.PerSecond)} jobs/s{theirs.Errors}{note}",
        theirs is null ? "n/a" : Report.Faster(ours.PerSecond, theirs.PerSecond, higherIsBetter: true), "≥ 1,000 jobs/s", Report.Verdict(ours.PerSecond >= 1000 && ours.Non2xx + ours.SocketErrors == 0 && upstreamNow == "RUNNING")));
    rows.Add(new Row(scenario, "latency per SubmitJob (wrk's)", ours.Latency, theirs?.Latency ?? "n/a",
        theirs is null ? "n/a" : Report.Faster(ours.P50Ms, theirs.P50Ms, higherIsBetter: false) + " (p50)", "—", "info"));
    rows.Add(new Row(scenario, "server CPU time per job (user + system)", $"{ours.ServerCpuMsPerRequest:0.00} ms", theirs is null ? "n/a" : $"{theirs.ServerCpuMsPerRequest:0.00} ms",
        theirs is null ? "n/a" : Report.Faster(ours.ServerCpuMsPerRequest, theirs.ServerCpuMsPerRequest, higherIsBetter: false), "—", "info"));
    rows.Add(new Row(scenario, "wrk's own CPU time per request (the load generator's share)", ours.WrkCpuPerRequest,
        theirs?.WrkCpuPerRequest ?? "n/a", "—", "—", "info"));
    // wrk stops with a request in flight on each connection and counts none of them: those are stored but unanswered.
    rows.Add(new Row(scenario, "PENDING dependents stored vs answered 200 (warm-up + timed; the last request of each connection is cut by wrk)",
        $"{stored:N0} stored ({pending:N0} PENDING), {accepted:N0} answered", "—", "—", "every answered one stored, waiting", Report.Verdict(pending == stored && stored >= accepted && stored <= accepted + (2 * clients))));
}

// Stage 2: a fresh portal with the full history stored, for the reads, the live push and the memory figure.
async Task FullStoreAsync()
{
    Step($"store of {jobs:N0} jobs");
    await using var portal = await PortalProcess.StartAsync(folder, "full-store");
    using var api = new BatchClient(portal.Address);
    await Setup.CreateAsync(api);
    var reference = (await api.CallAsync("submitjob", Setup.SubmitBody("reference", Setup.Queues[0], Setup.Definition))).GetProperty("jobId").GetString()!;
    await Setup.WaitForStatusAsync(api, [reference], "RUNNABLE", TimeSpan.FromSeconds(60), j => j.TryGetProperty("statusReason", out _));
    var seeding = await Seeder.SeedAsync(portal.DatabasePath, reference, jobs, Setup.Environment);

    // The newest SUBMITTED jobs move on at the engine's next pass; the reads start when the store is quiet.
    var settle = Stopwatch.StartNew();
    while (await Seeder.ScalarAsync(portal.DatabasePath, "SELECT COUNT(*) FROM Jobs WHERE Status = 'Submitted'") > 0 && settle.Elapsed < TimeSpan.FromMinutes(2))
    {
        await Task.Delay(500);
    }

    await Task.Delay(TimeSpan.FromSeconds(6));
    var census = await Seeder.CensusAsync(portal.DatabasePath);
    var size = new FileInfo(portal.DatabasePath).Length + (File.Exists(portal.DatabasePath + "-wal") ? new FileInfo(portal.DatabasePath + "-wal").Length : 0);
    Done();
    Console.WriteLine($"  stored in {seeding.TotalSeconds:0.0} s (SQL, batches of 5,000); database {size >> 20} MiB; {census}");
    rows.Add(new Row($"2 Store of {jobs:N0} jobs", "seeded (SQL), 14 days of history", $"{seeding.TotalSeconds:0.0} s, {size >> 20} MiB", "—", "—", "—", "info"));

    if (chosen.Contains("queries"))
    {
        await QueriesAsync(portal, api);
    }

    if (chosen.Contains("submit"))
    {
        Step($"submit, {jobs:N0} stored");
        var n = Math.Max(1_000, submissions / 2);
        var run = await Scenarios.SubmitLoadAsync(portal.Address, Setup.Queues[0], Setup.Definition, "full", n, clients, warmup, portal.CpuTime);
        Done();
        var scenario = $"1 SubmitJob ({clients} clients, {n:N0} jobs, {jobs:N0} stored)";
        rows.Add(new Row(scenario, "throughput", $"{Report.Num(run.JobsPerSecond)} jobs/s{Errors(run)}", "—", "—", "≥ 1,000 jobs/s", Report.Verdict(run.JobsPerSecond >= 1000 && run.Errors == 0)));
        rows.Add(new Row(scenario, "latency per SubmitJob", run.Latency.SummaryWithMax, "—", "—", "—", "info"));
        rows.Add(new Row(scenario, "server CPU time per job (user + system)", $"{run.ServerCpuMsPerJob:0.00} ms", "—", "—", "—", "info"));
    }

    LiveSession? live = null;
    try
    {
        if (chosen.Contains("push") || chosen.Contains("memory"))
        {
            Step($"open {watchers} hub watchers + {boards} boards");
            live = await LiveSession.OpenAsync(portal.Address, watchers, boardsWanted ? boards : 0, Setup.Queues[0]);
            Done();
        }

        if (chosen.Contains("push") && live is not null)
        {
            await PushAsync(api, live);
        }

        if (chosen.Contains("memory"))
        {
            // Let the last reloads and GCs finish; then what the process holds with everything still open.
            await Task.Delay(TimeSpan.FromSeconds(3));
            var (rss, peak) = portal.Memory();
            var stored = await Seeder.ScalarAsync(portal.DatabasePath, "SELECT COUNT(*) FROM Jobs");
            var scenario = $"4 Memory ({stored:N0} stored, {live?.Watchers ?? 0} hub + {live?.Boards ?? 0} boards open)";
            rows.Add(new Row(scenario, "portal resident (VmRSS) after the runs", $"{Report.Num(rss)} MiB ({Report.Num(rss * 1.048576)} MB)", "—", "—", "< 500 MB", Report.Verdict(rss * 1.048576 < 500)));
            rows.Add(new Row(scenario, "of which anonymous / file-mapped / shared", portal.MemorySplit(), "—", "—", "—", "info"));
            rows.Add(new Row(scenario, "portal peak resident (VmHWM)", $"{Report.Num(peak)} MiB", "—", "—", "—", "info"));
        }

        if (options["hold"] > 0)
        {
            Console.WriteLine($"holding for {options["hold"]} s: portal pid {portal.Pid} at {portal.Address}");
            await Task.Delay(TimeSpan.FromSeconds(options["hold"]));
        }
    }
    finally
    {
        if (live is not null)
        {
            await live.DisposeAsync();
        }
    }
}

async Task QueriesAsync(PortalProcess portal, BatchClient api)
{
    Step($"reads on {jobs:N0} stored jobs");
    var queue = Setup.Queues[0];
    var pool = await Seeder.SampleIdsAsync(portal.DatabasePath, 3_000);
    var runnable = await Seeder.ScalarAsync(portal.DatabasePath, $"SELECT COUNT(*) FROM Jobs WHERE QueueName = '{queue}' AND Status = 'Runnable'");
    var depth = (int)Math.Clamp((runnable / 100) - 1, 1, 50);
    var deepToken = await Scenarios.TokenAtDepthAsync(api, queue, "RUNNABLE", depth);
    var dayAgo = Scenarios.Epoch(TimeProvider.System.GetUtcNow().AddDays(-1));
    await using var probe = new StoreProbe(portal.DatabasePath);
    var several = new[] { JobStatus.Runnable, JobStatus.Running, JobStatus.Failed };

    var scenario = $"2 Reads, {jobs:N0} stored";
    var measured = new (string Figure, Func<int, Task> Op)[]
    {
        ($"API ListJobs {queue} + RUNNABLE, first page (100)", Scenarios.Api(api, "listjobs", _ => Scenarios.ListBody(queue, "RUNNABLE"), Scenarios.ListReturns(100))),
        ($"API ListJobs {queue} + RUNNABLE, page {depth + 1} via nextToken", Scenarios.Api(api, "listjobs", _ => Scenarios.ListBody(queue, "RUNNABLE", deepToken), Scenarios.ListReturns(1))),
        ($"API ListJobs {queue}, JOB_NAME '{Seeder.NamePrefix}*'", Scenarios.Api(api, "listjobs", _ => Scenarios.ListBody(queue, filter: ("JOB_NAME", Seeder.NamePrefix + "*")), Scenarios.ListReturns(100))),
        ($"API ListJobs {queue}, AFTER_CREATED_AT 24 h ago", Scenarios.Api(api, "listjobs", _ => Scenarios.ListBody(queue, filter: ("AFTER_CREATED_AT", dayAgo)), Scenarios.ListReturns(100))),
        ("API DescribeJobs, 100 ids", Scenarios.Api(api, "describejobs", i => Scenarios.DescribeBody(pool, i), Scenarios.DescribeReturns(100))),
        ($"page GET /jobs?queue={queue} (what the boards show)", Scenarios.Page(api, $"/jobs?queue={queue}")),
        ($"page GET /jobs?queue={queue}&status=RUNNABLE", Scenarios.Page(api, $"/jobs?queue={queue}&status=RUNNABLE")),
        ($"page GET /jobs?name={Seeder.NamePrefix}", Scenarios.Page(api, $"/jobs?name={Seeder.NamePrefix}")),
        ("page GET /jobs?status=RUNNABLE,RUNNING,FAILED", Scenarios.Page(api, "/jobs?status=RUNNABLE,RUNNING,FAILED")),
        ("page queries (FindAsync + CountAsync): queue", Scenarios.PageQueries(probe.Jobs, new() { Queue = queue, TopLevelOnly = true })),
        ("page queries (FindAsync + CountAsync): queue + status", Scenarios.PageQueries(probe.Jobs, Scenarios.QueueAndStatus(queue, JobStatus.Runnable))),
        ("page queries (FindAsync + CountAsync): name prefix", Scenarios.PageQueries(probe.Jobs, new() { NamePrefix = Seeder.NamePrefix, TopLevelOnly = true })),
        ("page queries (FindAsync + CountAsync): 3 statuses", Scenarios.PageQueries(probe.Jobs, new() { Statuses = several, TopLevelOnly = true })),
    };
    foreach (var (figure, op) in measured)
    {
        var result = await Scenarios.MeasureAsync(5, samples, op);
        rows.Add(new Row(scenario, figure, result.Summary, "—", "—", "< 300 ms (p95)", Report.Verdict(result.P(95) < 300)));
    }

    Done();
}

async Task PushAsync(BatchClient api, LiveSession live)
{
    Step($"live push: {changes} changes");
    var queue = Setup.Queues[0];
    const int perRound = 50;
    for (var done = 0; done < changes; done += perRound)
    {
        // Fresh RUNNABLE jobs at the top of the boards' list (the page shows the newest 50), then one cancel at a time.
        var batch = Math.Min(perRound, changes - done);
        var ids = new List<string>();
        for (var i = 0; i < batch; i++)
        {
            ids.Add((await api.CallAsync("submitjob", Setup.SubmitBody($"push-{done + i:D4}", queue, Setup.Definition))).GetProperty("jobId").GetString()!);
        }

        await Setup.WaitForStatusAsync(api, ids, "RUNNABLE", TimeSpan.FromSeconds(60));
        await live.WaitForBoardsAsync(ids, "RUNNABLE", TimeSpan.FromSeconds(60));
        await Task.Delay(TimeSpan.FromSeconds(1));
        foreach (var id in ids)
        {
            await live.CancelAndWaitAsync(api, id, TimeSpan.FromSeconds(10));
            await Task.Delay(20);
        }
    }

    Done();
    var scenario = $"3 Live push ({changes} changes, {jobs:N0}+ stored)";
    rows.Add(new Row(scenario, $"API call start → {live.Watchers} hub clients (each)", live.Hub.SummaryWithMax + Missed(live.HubMissed), "no push in moto", "—", "p95 < 250 ms", Report.Verdict(live.Hub.P(95) < 250 && live.HubMissed == 0)));
    if (live.Boards > 0)
    {
        rows.Add(new Row(scenario, $"API call start → row updated on {live.Boards} boards (each)", live.Board.SummaryWithMax + Missed(live.BoardMissed), "no console in moto", "—", "p95 < 250 ms", Report.Verdict(live.Board.P(95) < 250 && live.BoardMissed == 0)));
        Console.WriteLine($"  largest page clock offset corrected: {live.MaxClockOffset:0.0} ms");
    }

    rows.Add(new Row(scenario, "CancelJob call itself", live.Api.Summary, "—", "—", "—", "info"));
}

static string Errors(SubmitRun run) => run.Errors > 0 ? $" ({run.Errors} errors)" : "";

static string Missed(int missed) => missed > 0 ? $" ({missed} not delivered within 10 s)" : "";

void Step(string name) => Console.Write($"{name} … ");

void Done() => Console.WriteLine($"done at {total.Elapsed.TotalSeconds:0} s (load {Report.LoadAverage()})");

static async Task<string> ChromiumVersionAsync()
{
    try
    {
        using var p = Process.Start(new ProcessStartInfo(LiveSession.Chromium, "--version") { RedirectStandardOutput = true, RedirectStandardError = true })!;
        var text = await p.StandardOutput.ReadToEndAsync();
        await p.WaitForExitAsync();
        return text.Trim();
    }
    catch (System.ComponentModel.Win32Exception)
    {
        return "unknown";
    }
}

static bool IsOptimized() =>
    typeof(Scenarios).Assembly.GetCustomAttributes(typeof(DebuggableAttribute), false) is not [DebuggableAttribute { IsJITOptimizerDisabled: true }];

