using System.Text;
using BatchPortal.Engine.Execution;
using BatchPortal.Engine.Tests.Support;

namespace BatchPortal.Engine.Tests.Execution;

/// <summary>The seam's retries: a call that blips is tried again; a failure that may have done the work stays marked so.</summary>
public class ResilientContainerRuntimeTests
{
    [Fact]
    public async Task Call_Succeeds_WhenTheEngineAnswersWithinTheRetries()
    {
        var inner = new FakeContainerRuntime("unix:///fake.sock", TimeProvider.System);
        var runtime = new ResilientContainerRuntime(new Flaky(inner, failures: 2, mayHaveReached: false), retries: 4, TimeProvider.System);

        var found = await runtime.FindAttemptContainerAsync("job", 1, CancellationToken.None);

        Assert.Null(found);
    }

    [Fact]
    public async Task Call_StaysMarkedAsMaybeDone_WhenAnEarlierTryMayHaveReachedTheEngine()
    {
        // A create whose answer was lost, then "connection refused" on every try after: the engine may have made it.
        var inner = new FakeContainerRuntime("unix:///fake.sock", TimeProvider.System);
        var flaky = new Flaky(inner, failures: 100, mayHaveReached: true) { MayHaveReachedOnlyFirst = true };
        var runtime = new ResilientContainerRuntime(flaky, retries: 2, TimeProvider.System);

        var ex = await Assert.ThrowsAsync<ContainerRuntimeUnavailableException>(() => runtime.FindAttemptContainerAsync("job", 1, CancellationToken.None));

        Assert.True(ex.MayHaveReachedEngine);
        Assert.Equal(3, flaky.Calls);
    }

    [Fact]
    public async Task Call_IsNotRetried_WhenRetriesAreOff()
    {
        var flaky = new Flaky(new FakeContainerRuntime("unix:///fake.sock", TimeProvider.System), failures: 1, mayHaveReached: false);
        var runtime = new ResilientContainerRuntime(flaky, retries: 0, TimeProvider.System);

        await Assert.ThrowsAsync<ContainerRuntimeUnavailableException>(() => runtime.FindAttemptContainerAsync("job", 1, CancellationToken.None));
        Assert.Equal(1, flaky.Calls);
    }

    [Fact]
    public void Parse_ReadsDockersTimestampToTheNanosecond_AndTellsAPartialLine()
    {
        var whole = DockerLogFrames.Parse("stdout", Encoding.UTF8.GetBytes("2026-12-07T06:05:09.848555925Z hello\n"));
        var partial = DockerLogFrames.Parse("stderr", Encoding.UTF8.GetBytes("2026-12-07T06:05:09.8Z 16 KiB of it"));

        Assert.Equal((DateTimeOffset.Parse("2026-12-07T06:05:09Z", System.Globalization.CultureInfo.InvariantCulture).ToUnixTimeSeconds() * 1_000_000_000) + 848_555_925, whole.TimestampNanos);
        Assert.Equal(("hello", false), (Encoding.UTF8.GetString(whole.Content.Span), whole.Partial));
        Assert.Equal(800_000_000, partial.TimestampNanos % 1_000_000_000);
        Assert.Equal(("16 KiB of it", true, "stderr"), (Encoding.UTF8.GetString(partial.Content.Span), partial.Partial, partial.Stream));
    }

    [Fact]
    public async Task ReadAsync_Throws_WhenTheStreamIsCutInsideAFrame()
    {
        var frame = Encoding.UTF8.GetBytes("2026-12-07T06:05:09.1Z line\n");
        var bytes = new byte[8 + frame.Length];
        bytes[0] = 1;
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(bytes.AsSpan(4), (uint)frame.Length);
        frame.CopyTo(bytes, 8);
        var frames = new DockerLogFrames(new MemoryStream(bytes[..^3]));

        await Assert.ThrowsAsync<IOException>(() => frames.ReadAsync(CancellationToken.None));
        Assert.Null(await new DockerLogFrames(new MemoryStream([])).ReadAsync(CancellationToken.None));
    }

    /// <summary>Fails the first calls as an engine that does not answer would.</summary>
    private sealed class Flaky(IContainerRuntime inner, int failures, bool mayHaveReached) : IContainerRuntime
    {
        public int Calls { get; private set; }

        public bool MayHaveReachedOnlyFirst { get; init; }

        public string Endpoint => inner.Endpoint;

        public Task<HostInfo> GetHostInfoAsync(CancellationToken ct) => inner.GetHostInfoAsync(ct);

        public Task EnsureImageAsync(string image, CancellationToken ct) => inner.EnsureImageAsync(image, ct);

        public Task<bool> HasImageAsync(string image, CancellationToken ct) => inner.HasImageAsync(image, ct);

        public Task<string?> FindAttemptContainerAsync(string jobId, int attempt, CancellationToken ct)
        {
            Calls++;
            if (Calls <= failures)
            {
                throw new ContainerRuntimeUnavailableException(Endpoint, "blip", mayHaveReachedEngine: mayHaveReached && (!MayHaveReachedOnlyFirst || Calls == 1));
            }

            return inner.FindAttemptContainerAsync(jobId, attempt, ct);
        }

        public Task<IReadOnlyList<ManagedContainer>> ListManagedAsync(CancellationToken ct) => inner.ListManagedAsync(ct);

        public Task<string> CreateAndStartAsync(ContainerSpec spec, CancellationToken ct) => inner.CreateAndStartAsync(spec, ct);

        public Task<ContainerExit> WaitAsync(string containerId, CancellationToken ct) => inner.WaitAsync(containerId, ct);

        public Task<ContainerState?> InspectAsync(string containerId, CancellationToken ct) => inner.InspectAsync(containerId, ct);

        public IAsyncEnumerable<LogRecord> ReadLogsAsync(string containerId, long? sinceNanos, bool follow, CancellationToken ct) => inner.ReadLogsAsync(containerId, sinceNanos, follow, ct);

        public Task StopAsync(string containerId, TimeSpan grace, CancellationToken ct) => inner.StopAsync(containerId, grace, ct);

        public Task RemoveAsync(string containerId, CancellationToken ct) => inner.RemoveAsync(containerId, ct);
    }
}
