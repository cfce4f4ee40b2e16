using System.Buffers.Binary;
using System.Globalization;

namespace BatchPortal.Engine.Execution;

/// <summary>
/// Reads Docker's multiplexed log stream frame by frame (an 8-byte header: the stream, three zero bytes, the length as a
/// big-endian uint32; then the message). With timestamps on, each frame is one message: Docker's RFC 3339 timestamp with
/// nanoseconds, a space, and the text, which ends with a line feed unless the line goes on in the next message.
/// </summary>
internal sealed class DockerLogFrames(Stream stream)
{
    /// <summary>Docker's own messages are at most 16 KiB; anything far above that is not a log frame.</summary>
    private const int MaxFrame = 1 << 20;
    private readonly byte[] _header = new byte[8];

    /// <summary>The next record, or null at the end of the stream. A stream cut inside a frame throws <see cref="IOException"/>.</summary>
    public async Task<LogRecord?> ReadAsync(CancellationToken ct)
    {
        if (!await FillAsync(_header, allowEnd: true, ct))
        {
            return null;
        }

        var length = BinaryPrimitives.ReadUInt32BigEndian(_header.AsSpan(4));
        if (length > MaxFrame || _header[0] > 2)
        {
            throw new IOException($"Docker's log stream is not multiplexed as expected (header {Convert.ToHexString(_header)}).");
        }

        var frame = new byte[length];
        await FillAsync(frame, allowEnd: false, ct);
        return Parse(_header[0] == 2 ? "stderr" : "stdout", frame);
    }

    internal static LogRecord Parse(string streamName, byte[] frame)
    {
        var span = frame.AsSpan();
        var space = span.IndexOf((byte)' ');
        long nanos = 0;
        var contentStart = 0;
        if (space > 0 && TryParseNanos(span[..space], out var parsed))
        {
            nanos = parsed;
            contentStart = space + 1;
        }

        var end = frame.Length;
        var partial = true;
        if (end > contentStart && frame[end - 1] == (byte)'\n')
        {
            end--;
            partial = false;
        }

        return new LogRecord(streamName, nanos, frame.AsMemory(contentStart, end - contentStart), partial);
    }

    /// <summary>RFC 3339 with up to nine fraction digits (Docker's RFC3339Nano), as Unix nanoseconds.</summary>
    internal static bool TryParseNanos(ReadOnlySpan<byte> text, out long nanos)
    {
        nanos = 0;
        Span<char> chars = stackalloc char[Math.Min(text.Length, 64)];
        if (text.Length > 64)
        {
            return false;
        }

        for (var i = 0; i < text.Length; i++)
        {
            chars[i] = (char)text[i];
        }

        // "2026-12-07T06:05:09.848555925Z" or with an offset ("+01:00").
        if (chars.Length < 20 || chars[10] != 'T')
        {
            return false;
        }

        var rest = chars[19..];
        long fraction = 0;
        var digits = 0;
        if (rest.Length > 0 && rest[0] == '.')
        {
            var i = 1;
            while (i < rest.Length && char.IsAsciiDigit(rest[i]))
            {
                if (digits < 9)
                {
                    fraction = (fraction * 10) + (rest[i] - '0');
                    digits++;
                }

                i++;
            }

            rest = rest[i..];
        }

        for (; digits < 9; digits++)
        {
            fraction *= 10;
        }

        var zone = rest.Length == 1 && rest[0] == 'Z' ? "+00:00" : rest.ToString();
        if (!DateTimeOffset.TryParseExact(
                string.Concat(chars[..19], zone),
                "yyyy-MM-dd'T'HH:mm:sszzz",
                CultureInfo.InvariantCulture,
                DateTimeStyles.None,
                out var seconds))
        {
            return false;
        }

        nanos = (seconds.ToUnixTimeSeconds() * 1_000_000_000) + fraction;
        return true;
    }

    private async Task<bool> FillAsync(byte[] buffer, bool allowEnd, CancellationToken ct)
    {
        var read = 0;
        while (read < buffer.Length)
        {
            var n = await stream.ReadAsync(buffer.AsMemory(read), ct);
            if (n == 0)
            {
                if (read == 0 && allowEnd)
                {
                    return false;
                }

                throw new IOException($"Docker's log stream ended inside a frame ({read} of {buffer.Length} bytes).");
            }

            read += n;
        }

        return true;
    }
}
