using System.Threading.Channels;

namespace BatchPortal.Engine.Scheduling;

/// <summary>
/// A coalescing wake-up for the dispatcher: any number of <see cref="Notify"/> calls between two passes cause one pass.
/// </summary>
public sealed class DispatchSignal
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
