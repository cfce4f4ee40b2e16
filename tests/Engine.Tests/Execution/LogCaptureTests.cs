using System.Text;
using BatchPortal.Engine.Domain;
using BatchPortal.Engine.Execution;
using BatchPortal.Engine.Storage;
using BatchPortal.Engine.Tests.Support;

namespace BatchPortal.Engine.Tests.Execution;

/// <summary>
/// An attempt's output reaches the store exactly as Docker holds it: whatever the follow stream does, however long the
/// lines, and bounded in memory and in size (issue #11).
/// </summary>
public class LogCaptureTests
{
    private const long T0 = 1_768_467_600_000_000_000; // 2026-01-15 09:00 UTC, in Unix nanoseconds

    private static async Task<(EngineHarness Engine, Job Job, string ContainerId)> RunningAsync(IReadOnlyDictionary<string, string?>? settings = null)
    {
        var engine = await EngineHarness.CreateAsync(settings);
        await engine.CreateComputeEnvironmentAsync("ce", 4);
        await engine.CreateQueueAsync("q", 1, "ce");
        await engine.RegisterDefinitionAsync("d");
        var job = await engine.SubmitAsync("q", "d");
        await engine.DispatchUntilIdleAsync();
        var containerId = await engine.LaunchAsync(job.Id);
        await engine.Docker.Default.WaitingForExit(containerId).WaitAsync(TimeSpan.FromSeconds(10));
        return (engine, job, containerId);
    }

    private static async Task<IReadOnlyList<string>> StoredAsync(EngineHarness engine, string jobId) =>
        [.. (await engine.Get<LogStore>().ReadAsync(jobId, 1)).Select(l => l.Message)];

    [Fact]
    public async Task Completion_StoresEveryLineDockerHolds_WhenTheFollowStreamEndedBeforeTheLastLines()
    {
        // Regression: #11. Two of four jobs running `seq 20000` stored lines 1-5,375 and 1-8,534 and SUCCEEDED: the
        // engine took the end of Docker's follow stream for the end of the output.
        var (engine, job, containerId) = await RunningAsync();
        await using var _ = engine;
        var docker = engine.Docker.Default;
        docker.Write(containerId, "stdout", T0, "1");
        await WaitForStoredAsync(engine, job.Id, 1);
        docker.CutNextStreams(containerId, 1);
        docker.Write(containerId, "stdout", T0 + 1, "2"); // the stream ends here, the lines go on
        docker.Write(containerId, "stdout", T0 + 2, "3");
        docker.Exit(containerId, 0);

        await engine.CompleteAsync(job.Id, 1, containerId);

        Assert.Equal(["1", "2", "3"], await StoredAsync(engine, job.Id));
        Assert.Equal(JobStatus.Succeeded, (await engine.GetJobAsync(job.Id)).Status);
    }

    [Fact]
    public async Task Capture_PutsALineTogetherAgain_WhenDockerSplitItIntoMessages()
    {
        // Regression: #11. Docker splits a line longer than 16 KiB into 16 KiB messages, each with its own timestamp; a
        // 100,000-character line was stored as 100,186 characters.
        var (engine, job, containerId) = await RunningAsync();
        await using var _ = engine;
        var line = string.Concat(Enumerable.Range(0, 100_000).Select(i => (char)('a' + (i % 26))));
        for (var offset = 0; offset < line.Length; offset += 16_384)
        {
            var chunk = line.Substring(offset, Math.Min(16_384, line.Length - offset));
            engine.Docker.Default.Write(containerId, "stdout", T0, chunk, partial: offset + 16_384 < line.Length);
        }

        engine.Docker.Default.Write(containerId, "stdout", T0 + 1, "after");
        engine.Docker.Default.Exit(containerId, 0);
        await engine.CompleteAsync(job.Id, 1, containerId);

        Assert.Equal([line, "after"], await StoredAsync(engine, job.Id));
    }

    [Fact]
    public async Task Capture_StoresALineLongerThanTheEventLimitAsSeveralEvents_InOrderAndWhole()
    {
        var (engine, job, containerId) = await RunningAsync(new Dictionary<string, string?> { ["Engine:Logs:MaxEventBytes"] = "2048" });
        await using var _ = engine;
        var line = new string('x', 10_000);
        for (var offset = 0; offset < line.Length; offset += 1_000)
        {
            engine.Docker.Default.Write(containerId, "stdout", T0, line.Substring(offset, 1_000), partial: offset + 1_000 < line.Length);
        }

        engine.Docker.Default.Exit(containerId, 0);
        await engine.CompleteAsync(job.Id, 1, containerId);

        var stored = await StoredAsync(engine, job.Id);
        Assert.All(stored, e => Assert.True(Encoding.UTF8.GetByteCount(e) <= 2048));
        Assert.Equal(line, string.Concat(stored));
    }

    [Fact]
    public async Task Capture_StopsStoringAtThePerAttemptCap_AndSaysSoInTheLog()
    {
        var (engine, job, containerId) = await RunningAsync(new Dictionary<string, string?> { ["Engine:Logs:MaxBytesPerAttempt"] = "1024" });
        await using var _ = engine;
        for (var i = 0; i < 100; i++)
        {
            engine.Docker.Default.Write(containerId, "stdout", T0 + i, $"line {i:D3} {new string('.', 40)}");
        }

        engine.Docker.Default.Exit(containerId, 0);
        await engine.CompleteAsync(job.Id, 1, containerId);

        var stored = await StoredAsync(engine, job.Id);
        Assert.Equal(LogCapture.CutNotice(1024), stored[^1]);
        Assert.True(Encoding.UTF8.GetByteCount(string.Concat(stored.Take(stored.Count - 1))) <= 1024);
        Assert.Equal("line 000 " + new string('.', 40), stored[0]);
        Assert.True((await engine.Get<LogStore>().StateAsync(job.Id, 1))!.Cut);
    }

    [Fact]
    public async Task Capture_StoresALineCutMidStreamOnce_AndWhole_WhenTheStreamIsReadAgain()
    {
        var (engine, job, containerId) = await RunningAsync();
        await using var _ = engine;
        var docker = engine.Docker.Default;
        docker.Write(containerId, "stdout", T0, "first");
        docker.Write(containerId, "stdout", T0 + 5, "half of", partial: true);
        await WaitForStoredAsync(engine, job.Id, 1);

        // The stream is cut after half a line; the watch follows again from what is stored.
        docker.CutNextStreams(containerId, 1);
        docker.Write(containerId, "stderr", T0 - 1_000, "earlier on stderr"); // Docker's two copiers race: stamped before the last stored line, written after it
        docker.Write(containerId, "stdout", T0 + 5, " a line");
        docker.Exit(containerId, 0);
        await engine.CompleteAsync(job.Id, 1, containerId);

        Assert.Equal(["first", "earlier on stderr", "half of a line"], await StoredAsync(engine, job.Id));
    }

    private static async Task WaitForStoredAsync(EngineHarness engine, string jobId, int count)
    {
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        while ((await StoredAsync(engine, jobId)).Count < count)
        {
            await Task.Delay(10, deadline.Token);
        }
    }
}
