using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using BatchPortal.Benchmarks;

// BatchPortal's performance targets (DESIGN.md), each measured beside Docker's own figure in the same run.
//   dotnet run -c Release --project tests/Benchmarks -- [latency] [throughput] [chain] [array] [backlog] [dependencies] [--samples=N]
// No scenario named: all six.
string[] all = ["latency", "throughput", "chain", "array", "backlog", "dependencies"];
var samples = 15;
var chosen = new List<string>();
foreach (var arg in args)
{
    if (arg.StartsWith("--samples=", StringComparison.Ordinal))
    {
        samples = int.Parse(arg["--samples=".Length..], CultureInfo.InvariantCulture);
    }
    else if (all.Contains(arg))
    {
        chosen.Add(arg);
    }
    else
    {
        await Console.Error.WriteLineAsync($"Unknown argument '{arg}'. Scenarios: {string.Join(", ", all)}; option: --samples=N (latency).");
        return 2;
    }
}

if (chosen.Count == 0)
{
    chosen.AddRange(all);
}

using var docker = await DockerBaseline.ConnectAsync();
var cpu = File.Exists("/proc/cpuinfo")
    ? File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim()
    : null;
Console.WriteLine($"Machine: {Environment.ProcessorCount} CPUs ({cpu ?? RuntimeInformation.ProcessArchitecture.ToString()}), {GC.GetGCMemoryInfo().TotalAvailableMemoryBytes >> 30} GiB, {RuntimeInformation.OSDescription}");
Console.WriteLine($"Runtime: {RuntimeInformation.FrameworkDescription}, {(Debugger.IsAttached ? "debugger attached" : "no debugger")}, optimized build: {IsOptimized()}");
Console.WriteLine($"Docker:  {await docker.DescribeAsync()}");
Console.WriteLine($"Run:     {string.Join(' ', chosen)} (latency samples: {samples}), started {TimeProvider.System.GetUtcNow():u}, load average {LoadAverage()}");
Console.WriteLine();

var rows = new List<Row>();
var total = Stopwatch.GetTimestamp();
foreach (var scenario in chosen)
{
    var started = Stopwatch.GetTimestamp();
    Console.Write($"{scenario} … ");
    rows.AddRange(scenario switch
    {
        "latency" => await Scenarios.LatencyAsync(docker, samples),
        "throughput" => await Scenarios.ThroughputAsync(docker),
        "chain" => await Scenarios.ChainAsync(docker),
        "array" => await Scenarios.ArrayAsync(),
        "backlog" => await Scenarios.BacklogAsync(),
        _ => await Scenarios.DependenciesAsync(),
    });
    Console.WriteLine($"{Stopwatch.GetElapsedTime(started).TotalSeconds:0.0} s");
}

Console.WriteLine();
Console.Write(Report.Table(rows));
Console.WriteLine();
Console.WriteLine($"Total {Stopwatch.GetElapsedTime(total).TotalSeconds:0} s; load average now {LoadAverage()}; {rows.Count(r => r.Verdict == "MISS")} target(s) missed.");
return 0;

// Other work on the machine moves every figure; the ratios hold better, since both sides share the moment.
static string LoadAverage() => File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "n/a";

static bool IsOptimized() =>
    typeof(Scenarios).Assembly.GetCustomAttributes(typeof(DebuggableAttribute), false) is not [DebuggableAttribute { IsJITOptimizerDisabled: true }];
