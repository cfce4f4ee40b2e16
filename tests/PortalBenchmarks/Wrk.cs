using System.Diagnostics;
using System.Globalization;
using System.Text.Json;

namespace BatchPortal.PortalBenchmarks;

/// <summary>What one <c>wrk</c> run measured, as its Lua <c>done</c> hook printed it, and the CPU wrk itself used.</summary>
internal sealed record WrkRun(long Requests, TimeSpan Duration, long Non2xx, long SocketErrors, double P50Ms, double P95Ms, double P99Ms, double MaxMs, TimeSpan? WrkCpu, TimeSpan ServerCpu)
{
    public double PerSecond => (Requests - Non2xx - SocketErrors) / Duration.TotalSeconds;

    public double ServerCpuMsPerRequest => ServerCpu.TotalMilliseconds / Math.Max(1, Requests);

    public string WrkCpuPerRequest => WrkCpu is { } cpu
        ? $"{cpu.TotalMilliseconds / Math.Max(1, Requests):0.000} ms ({cpu.TotalSeconds / Duration.TotalSeconds:P0} of a core)"
        : "n/a (no /usr/bin/time)";

    public string Latency => $"p50 {Report.Ms(P50Ms)} / p95 {Report.Ms(P95Ms)} / p99 {Report.Ms(P99Ms)} / max {Report.Ms(MaxMs)}";

    public string Errors => Non2xx + SocketErrors == 0 ? "" : $" ({Non2xx} non-2xx, {SocketErrors} socket errors)";
}

/// <summary>
/// <c>wrk</c> (Debian's package), the load generator DESIGN.md names for throughput: C, an event loop per thread, a fixed
/// body per request through a Lua script. It sends the same SubmitJob body on every request, as a user trying the API
/// with it would; the body's <c>dependsOn</c> names one job, so every job submitted waits PENDING on it.
/// </summary>
internal static class Wrk
{
    public const string Path = "/usr/bin/wrk";

    /// <summary>GNU time (Debian's <c>time</c>), for wrk's own CPU time; without it that figure reads n/a.</summary>
    private const string Time = "/usr/bin/time";

    public static bool Available => File.Exists(Path);

    /// <summary>Runs wrk against <c>POST /v1/submitjob</c> for <paramref name="duration"/> with <paramref name="connections"/> connections.</summary>
    public static async Task<WrkRun> SubmitAsync(Uri address, string folder, object body, int connections, TimeSpan duration, Func<TimeSpan> serverCpu)
    {
        var script = System.IO.Path.Combine(folder, "submitjob.lua");
        await File.WriteAllTextAsync(script, Script(JsonSerializer.Serialize(body)));
        var threads = Math.Min(Environment.ProcessorCount, connections);
        var cpuFile = System.IO.Path.Combine(folder, "wrk-cpu.txt");

        // wrk's own CPU time (user + system), written by GNU time once wrk has exited: the load generator's share.
        var start = new ProcessStartInfo(File.Exists(Time) ? Time : Path)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        if (File.Exists(Time))
        {
            foreach (var a in new[] { "-f", "%U %S", "-o", cpuFile, Path })
            {
                start.ArgumentList.Add(a);
            }
        }

        foreach (var a in new[]
        {
            "-t", threads.ToString(CultureInfo.InvariantCulture),
            "-c", connections.ToString(CultureInfo.InvariantCulture),
            "-d", $"{(int)duration.TotalSeconds}s",
            "--timeout", "30s",
            "-s", script,
            new Uri(address, "/v1/submitjob").ToString(),
        })
        {
            start.ArgumentList.Add(a);
        }

        var cpuBefore = serverCpu();
        using var wrk = Process.Start(start) ?? throw new InvalidOperationException("wrk did not start.");
        var output = wrk.StandardOutput.ReadToEndAsync();
        var error = wrk.StandardError.ReadToEndAsync();
        await wrk.WaitForExitAsync();
        var server = serverCpu() - cpuBefore;
        var text = await output;
        var line = text.Split('\n').FirstOrDefault(l => l.StartsWith("RESULT ", StringComparison.Ordinal));
        if (wrk.ExitCode != 0 || line is null)
        {
            throw new InvalidOperationException($"wrk exited with {wrk.ExitCode}: {text}{await error}");
        }

        var wrkCpu = File.Exists(cpuFile) && (await File.ReadAllTextAsync(cpuFile)).Split(' ', StringSplitOptions.RemoveEmptyEntries) is [var user, var system]
            ? TimeSpan.FromSeconds(double.Parse(user, CultureInfo.InvariantCulture) + double.Parse(system, CultureInfo.InvariantCulture))
            : (TimeSpan?)null;
        var f = line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1..].Select(v => double.Parse(v, CultureInfo.InvariantCulture)).ToArray();
        return new WrkRun((long)f[0], TimeSpan.FromMicroseconds(f[1]), (long)f[2], (long)f[3], f[4] / 1000, f[5] / 1000, f[6] / 1000, f[7] / 1000, wrkCpu, server);
    }

    // wrk's latency figures are in microseconds; errors.status counts answers that were not 2xx or 3xx.
    private static string Script(string json) => $$"""
        wrk.method = "POST"
        wrk.body = [==[{{json}}]==]
        wrk.headers["Content-Type"] = "application/json"
        wrk.headers["Authorization"] = "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/batch/aws4_request, SignedHeaders=content-type;host, Signature=0000"
        done = function(summary, latency, requests)
          local e = summary.errors
          io.write(string.format("RESULT %d %d %d %d %f %f %f %f\n", summary.requests, summary.duration, e.status,
            e.connect + e.read + e.write + e.timeout, latency:percentile(50), latency:percentile(95), latency:percentile(99), latency.max))
        end
        """;
}
