using System.Threading.Channels;

namespace BatchPortal.Engine.Notifications;

/// <summary>
/// A coalescing wake-up for a loop: any number of <see cref="Notify"/> calls between two rounds cause one round.
/// </summary>
public class WakeSignal
{
    private readonly Channel<byte> _channel = Channel.CreateBounded<byte>(new BoundedChannelOptions(1)
    {
        FullMode = BoundedChannelFullMode.DropWrite,
        SingleReader = true,
    });

    public void Notify() => _channel.Writer.TryWrite(0);

    /// <summary>Waits for a notification, or for <paramref name="timeout"/> to pass, whichever is first.</summary>
    public async Task WaitAsync(TimeSpan timeout, TimeProvider time, CancellationToken ct)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var read = _channel.Reader.WaitToReadAsync(cts.Token).AsTask();
        var delay = Task.Delay(timeout, time, cts.Token);
        await Task.WhenAny(read, delay);
        await cts.CancelAsync();
        ct.ThrowIfCancellationRequested();
        _channel.Reader.TryRead(out _);
    }
}
