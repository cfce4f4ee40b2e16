using System.Globalization;
using BatchPortal.Engine.Domain;
using BatchPortal.Engine.IntegrationTests.Support;
using BatchPortal.Engine.Storage;

namespace BatchPortal.Engine.IntegrationTests.Execution;

/// <summary>
/// What a container prints is what the job's log holds, line for line, on the real Docker engine (issue #11): 200,000
/// short lines and one line of 100,000 characters, which Docker splits into 16 KiB messages, ten times over.
/// </summary>
/// <remarks>
/// The container sleeps a few seconds after it prints. Docker 20.10 itself drops the end of a container's output when its
/// log driver lags behind at the exit: it waits 2 s for the output copy and 10 s for the logger, then closes them
/// ("Logger didn't exit in time: logs may be truncated" in dockerd's log). Under a loaded CI machine the json-file
/// logger of ten such jobs lags that much; what Docker never kept no client of Docker can store (its own attach stream
/// loses it too). See the README, Execution.
/// </remarks>
[Collection(DockerCollection.Name)]
[Trait("Category", "Docker")]
public class LogIntegrityTests(EngineHostFixture engine)
{
    private const int Lines = 200_000;
    private const int LongLine = 100_000;
    private const int Linger = 5;
    private const string DockerdLog = "/tmp/batchportal-dockerd.log";

    [Fact]
    public async Task Output_IsStoredExactly_TenRunsInARow()
    {
        // Regression: #11. Two of four jobs running `seq 20000` stored only lines 1-5,375 and 1-8,534 and still
        // SUCCEEDED; a 100,000-character line was stored as 100,186 characters (the timestamps of Docker's 16 KiB
        // messages inside it).
        await engine.RegisterAsync("seq-and-long", ["sh", "-c", $"seq {Lines}; head -c {LongLine} /dev/zero | tr '\\0' x; echo; echo done >&2; sleep {Linger}"]);
        var dockerdLogAtStart = DockerdTruncations().Count;
        var jobs = new List<Job>();
        for (var run = 0; run < int.Parse(Environment.GetEnvironmentVariable("RUNS") ?? "10", CultureInfo.InvariantCulture); run++)
        {
            jobs.Add(await engine.SubmitAsync("seq-and-long"));
        }

        var expected = Enumerable.Range(1, Lines).Select(i => i.ToString(CultureInfo.InvariantCulture)).Append(new string('x', LongLine)).ToList();
        foreach (var submitted in jobs)
        {
            // Two million lines through Docker's json-file logger and into the store take their time on a loaded machine.
            var job = await engine.WaitForFinalAsync(submitted.Id, TimeSpan.FromMinutes(5));
            Assert.Equal(JobStatus.Succeeded, job.Status);
            var stored = await AllAsync(engine.Logs, job.Id);
            var stdout = stored.Where(l => l.Stream == "stdout").Select(l => l.Message).ToList();
            if (stdout.Count != expected.Count)
            {
                // What the next look needs (a CI run once stored the whole output three times, once lost 31,000 lines):
                // where the stored copy first differs, where it starts again, and what each capture read and stored.
                var lines = stored.Where(l => l.Stream == "stdout").ToList();
                var restart = lines.FindIndex(1, l => l.Message == "1");
                var docker = DockerSaid(dockerdLogAtStart);
                var differs = Enumerable.Range(0, Math.Min(stdout.Count, expected.Count)).FirstOrDefault(i => stdout[i] != expected[i], -1);
                Assert.Fail($"Job {job.Id}: {stdout.Count} stdout events stored, not {expected.Count}; attempts {job.Attempts.Count}; "
                    + $"distinct timestamps {lines.Select(l => l.Nanos).Distinct().Count()}; the output starts again at event {restart + 1}"
                    + (restart > 0 ? $" (ids {lines[restart - 1].Id} → {lines[restart].Id}, nanos {lines[restart - 1].Nanos} → {lines[restart].Nanos}, first line's {lines[0].Nanos})" : "")
                    + (differs >= 0 ? $"; first difference at event {differs + 1}: '{Head(stdout[differs])}' (id {lines[differs].Id}, nanos {lines[differs].Nanos}) where '{Head(expected[differs])}' was expected"
                        + (differs > 0 ? $", after id {lines[differs - 1].Id} nanos {lines[differs - 1].Nanos}" : "") : "")
                    + $"; stderr {stored.Count(l => l.Stream == "stderr")}; {docker}.{Environment.NewLine}{engine.LogAbout(job.Id)}"
                    + $"{Environment.NewLine}(Job {job.Id}: {stdout.Count} stdout events stored, not {expected.Count}; {docker}.)");
            }

            for (var i = 0; i < expected.Count; i++)
            {
                if (expected[i] != stdout[i])
                {
                    Assert.Fail($"Job {job.Id}: line {i + 1} is '{Head(stdout[i])}', not '{Head(expected[i])}'.");
                }
            }

            var stderr = stored.Where(l => l.Stream == "stderr").ToList();
            Assert.True(
                stderr.Count == 1 && stderr[0].Message == "done",
                $"Job {job.Id}: stderr is [{string.Join(" | ", stderr.Select(l => $"{Head(l.Message)} (id {l.Id}, nanos {l.Nanos})"))}], not [done].{Environment.NewLine}{engine.LogAbout(job.Id)}");
        }
    }

    private static async Task<List<LogEvent>> AllAsync(LogStore logs, string jobId)
    {
        var all = new List<LogEvent>();
        long after = 0;
        while (true)
        {
            var page = await logs.ReadAsync(jobId, 1, after, 10_000);
            if (page.Count == 0)
            {
                return all;
            }

            all.AddRange(page);
            after = page[^1].Id;
        }
    }

    /// <summary>Docker's own word that it cut a container's output short, from its daemon log when the test script started it.</summary>
    private static List<string> DockerdTruncations() =>
        File.Exists(DockerdLog) ? [.. File.ReadLines(DockerdLog).Where(l => l.Contains("logs may be truncated", StringComparison.Ordinal))] : [];

    private static string DockerSaid(int before)
    {
        var since = DockerdTruncations().Skip(before).ToList();
        return since.Count == 0
            ? "dockerd logged no truncation"
            : $"dockerd logged {since.Count} truncation(s) during the test, so Docker itself may not hold the whole output: {since[^1]}";
    }

    private static string Head(string s) => s.Length <= 40 ? s : $"{s[..40]}... ({s.Length} characters)";
}
