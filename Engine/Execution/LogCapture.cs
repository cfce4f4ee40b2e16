using System.Buffers;
using System.Collections.Concurrent;
using System.Text;
using System.Threading.Channels;
using BatchPortal.Engine.Storage;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace BatchPortal.Engine.Execution;

/// <summary>
/// Copies an attempt's output from Docker into the log store, exactly: lines that Docker split into 16 KiB messages are
/// put together again, a line longer than <see cref="LogOptions.MaxEventBytes"/> becomes several events (as the awslogs
/// driver does), and the output stops being stored at <see cref="LogOptions.MaxBytesPerAttempt"/> with a line that says
/// so. Every read starts from what is stored (a little before its latest Docker timestamp) and skips what is already
/// there, so a read cut off half-way, or a second read after the container exited, neither loses nor repeats a line.
/// </summary>
public sealed class LogCapture(LogStore logs, IOptions<LogOptions> options, ILogger<LogCapture> logger)
{
    /// <summary>
    /// How far before the latest stored timestamp a read again starts. Docker stamps stdout and stderr messages in two
    /// goroutines and writes them in the order they take its lock, so a message can follow one stamped a little later.
    /// </summary>
    internal static readonly long ReReadMarginNanos = 5_000_000;

    private const int MaxBatch = 500;
    private const int MaxBatchBytes = 1 << 20;
    private const int MaxStoredTail = 50_000;
    private readonly ConcurrentDictionary<string, SemaphoreSlim> _locks = new(StringComparer.Ordinal);

    /// <summary>The line the log ends with when the cap was reached.</summary>
    public static string CutNotice(long cap) =>
        $"[BatchPortal] The output of this attempt reached {FormatBytes(cap)} (Engine:Logs:MaxBytesPerAttempt); what it wrote after this was not stored.";

    /// <summary>
    /// Reads the container's output from where the store ends and stores it. With <paramref name="follow"/> it goes on
    /// until Docker ends the stream (the container exited, or the connection was cut); a line left unfinished then is
    /// not stored, as a read again brings it whole. Without, it reads what Docker has now and stores all of it (the
    /// container has exited). Returns how many events it stored.
    /// </summary>
    public async Task<int> CaptureAsync(IContainerRuntime runtime, string jobId, int attempt, string containerId, bool follow, CancellationToken ct)
    {
        var gate = _locks.GetOrAdd(AttemptKey.Of(jobId, attempt), _ => new SemaphoreSlim(1, 1));
        await gate.WaitAsync(ct);
        try
        {
            return await CaptureOnceAsync(runtime, jobId, attempt, containerId, follow, ct);
        }
        finally
        {
            gate.Release();
        }
    }

    /// <summary>Reads what Docker has until a read adds nothing: Docker may still be writing the last lines when the exit is seen.</summary>
    public async Task CatchUpAsync(IContainerRuntime runtime, string jobId, int attempt, string containerId, CancellationToken ct)
    {
        for (var round = 0; round < 5; round++)
        {
            if (await CaptureAsync(runtime, jobId, attempt, containerId, follow: false, ct) == 0)
            {
                return;
            }
        }
    }

    /// <summary>Forgets an attempt's lock once nothing more is read for it.</summary>
    public void Forget(string jobId, int attempt) => _locks.TryRemove(AttemptKey.Of(jobId, attempt), out _);

    private async Task<int> CaptureOnceAsync(IContainerRuntime runtime, string jobId, int attempt, string containerId, bool follow, CancellationToken ct)
    {
        var state = await logs.StateAsync(jobId, attempt, ct);
        if (state is null || (state.Cut && !follow))
        {
            return 0;
        }

        long? since = null;
        var skip = new Dictionary<(long, string), int>();
        var toSkip = 0;
        if (state.CursorNanos > 0)
        {
            since = Math.Max(1, state.CursorNanos - ReReadMarginNanos);
            foreach (var key in await logs.StoredSinceAsync(jobId, attempt, since.Value, MaxStoredTail, ct))
            {
                skip[key] = skip.GetValueOrDefault(key) + 1;
                toSkip++;
            }
        }

        long read = 0, skipped = 0;

        var writer = new Writer(logs, jobId, attempt, state, options.Value.MaxBytesPerAttempt);
        var events = Channel.CreateBounded<LogEvent>(new BoundedChannelOptions(2_000) { SingleReader = true, SingleWriter = true });

        // A store that fails stops the read (which would otherwise wait on a full channel); its error is the one reported.
        using var reading = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var storing = writer.RunAsync(events.Reader).ContinueWith(
            t =>
            {
                if (!t.IsCompletedSuccessfully)
                {
                    reading.Cancel();
                }

                return t;
            },
            CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously,
            TaskScheduler.Default).Unwrap();
        var maxEvent = options.Value.MaxEventBytes;
        var assemblers = new Dictionary<string, Assembler>(StringComparer.Ordinal);
        try
        {
            await foreach (var record in runtime.ReadLogsAsync(containerId, since, follow, reading.Token))
            {
                if (!assemblers.TryGetValue(record.Stream, out var assembler))
                {
                    assembler = assemblers[record.Stream] = new Assembler(record.Stream, maxEvent);
                }

                foreach (var (nanos, text) in assembler.Add(record))
                {
                    read++;
                    if (skip.TryGetValue((nanos, record.Stream), out var left) && left > 0)
                    {
                        skip[(nanos, record.Stream)] = left - 1;
                        skipped++;
                        continue;
                    }

                    await events.Writer.WriteAsync(Event(jobId, attempt, record.Stream, nanos, text), reading.Token);
                }
            }

            if (!follow)
            {
                // The container has exited: a last line without its line feed is whole as it is.
                foreach (var assembler in assemblers.Values)
                {
                    if (assembler.Flush() is { } last && !(skip.TryGetValue((last.Nanos, assembler.Stream), out var left) && left > 0))
                    {
                        await events.Writer.WriteAsync(Event(jobId, attempt, assembler.Stream, last.Nanos, last.Text), reading.Token);
                    }
                }
            }

            events.Writer.Complete();
        }
        catch (Exception ex)
        {
            events.Writer.Complete(ex);
        }

        // What was read before a failure is stored before the failure is reported; a failed store wins over the
        // cancellation it caused.
        try
        {
            var stored = await storing;
            logger.Captured(jobId, attempt, follow, state.CursorNanos, since, toSkip, read, skipped, stored, "ended");
            return stored;
        }
        catch (Exception ex)
        {
            logger.Captured(jobId, attempt, follow, state.CursorNanos, since, toSkip, read, skipped, -1, ex.GetType().Name + ": " + ex.Message);
            throw;
        }
    }

    private static LogEvent Event(string jobId, int attempt, string stream, long nanos, string text) => new()
    {
        JobId = jobId,
        Attempt = attempt,
        Stream = stream,
        Nanos = nanos,
        Timestamp = DateTimeOffset.FromUnixTimeMilliseconds(nanos / 1_000_000),
        Message = text,
    };

    private static string FormatBytes(long bytes) =>
        bytes >= 1L << 30 && bytes % (1L << 30) == 0 ? $"{bytes >> 30} GiB"
        : bytes >= 1L << 20 && bytes % (1L << 20) == 0 ? $"{bytes >> 20} MiB"
        : bytes >= 1L << 10 && bytes % (1L << 10) == 0 ? $"{bytes >> 10} KiB"
        : $"{bytes} bytes";

    /// <summary>
    /// Puts one stream's messages together into lines. A line's messages share the timestamp of its first; a line
    /// reaching the event limit is cut there, at a message's end, so that a read again cuts it the same way.
    /// </summary>
    private sealed class Assembler(string stream, int maxEventBytes)
    {
        private readonly ArrayBufferWriter<byte> _pending = new();
        private readonly Decoder _decoder = new UTF8Encoding(false, false).GetDecoder();
        private long _nanos = -1;

        public string Stream { get; } = stream;

        public List<(long Nanos, string Text)> Add(LogRecord record)
        {
            var result = new List<(long Nanos, string Text)>(1);
            if (_pending.WrittenCount > 0 && _pending.WrittenCount + record.Content.Length > maxEventBytes)
            {
                result.Add(Take(final: false));
            }

            if (_pending.WrittenCount == 0)
            {
                _nanos = record.TimestampNanos;
            }

            // A single message longer than the limit (not Docker's; its messages are 16 KiB) is cut into pieces.
            var content = record.Content.Span;
            while (content.Length > maxEventBytes)
            {
                _pending.Write<byte>(content[..maxEventBytes]);
                result.Add(Take(final: false));
                _nanos = record.TimestampNanos;
                content = content[maxEventBytes..];
            }

            _pending.Write<byte>(content);
            if (!record.Partial)
            {
                result.Add(Take(final: true));
            }

            return result;
        }

        public (long Nanos, string Text)? Flush() => _pending.WrittenCount > 0 ? Take(final: true) : null;

        private (long, string) Take(bool final)
        {
            var bytes = _pending.WrittenSpan;
            var chars = new char[_decoder.GetCharCount(bytes, flush: final)];
            _decoder.GetChars(bytes, chars, flush: final);
            _pending.ResetWrittenCount();
            return (_nanos, new string(chars));
        }
    }

    /// <summary>Stores events in batches as they come, and stops at the per-attempt cap with a notice.</summary>
    private sealed class Writer(LogStore logs, string jobId, int attempt, AttemptLogState state, long cap)
    {
        private long _bytes = state.Bytes;
        private bool _cut = state.Cut;

        public async Task<int> RunAsync(ChannelReader<LogEvent> events)
        {
            var stored = 0;
            var batch = new List<LogEvent>(MaxBatch);
            long batchBytes = 0;
            var cutNow = false;
            while (await events.WaitToReadAsync())
            {
                while (batch.Count < MaxBatch && batchBytes < MaxBatchBytes && events.TryRead(out var e))
                {
                    if (_cut)
                    {
                        continue;
                    }

                    var size = Encoding.UTF8.GetByteCount(e.Message);
                    if (_bytes + size > cap)
                    {
                        _cut = cutNow = true;
                        batch.Add(new LogEvent { JobId = jobId, Attempt = attempt, Stream = "stderr", Nanos = e.Nanos, Timestamp = e.Timestamp, Message = CutNotice(cap) });
                        continue;
                    }

                    _bytes += size;
                    batchBytes += size;
                    batch.Add(e);
                }

                if (batch.Count > 0 || cutNow)
                {
                    // Not cancelled with the read: what was read is stored even when the portal is stopping.
                    await logs.AppendAsync(jobId, attempt, [.. batch], batchBytes, cutNow, CancellationToken.None);
                    stored += batch.Count;
                    batch.Clear();
                    batchBytes = 0;
                    cutNow = false;
                }
            }

            // The reader's failure (a cut stream, a stopped engine) surfaces here, after the batches before it are stored.
            await events.Completion;
            return stored;
        }
    }
}
