using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;

namespace BatchPortal.Engine.IntegrationTests.Support;

/// <summary>
/// A TCP proxy in front of the real Docker engine's unix socket that misbehaves on demand, as a network between the
/// engine and Docker does: it refuses connections (nothing listens), hangs (accepts, then relays nothing, in either
/// direction, on new and open connections alike), cuts every open connection at once (a reset), or cuts each
/// connection after a few kilobytes (mid-answer, mid-stream), or lets one request through and cuts the connection
/// instead of its answer (Docker did it; the caller cannot know), or answers one request itself as Docker would in a
/// moment the test cannot time (a container that holds its name but is not made yet). The engine reaches Docker at
/// <see cref="Endpoint"/>.
/// </summary>
public sealed class DockerFaultProxy : IAsyncDisposable
{
    private readonly string _socketPath;
    private readonly ConcurrentDictionary<int, Relay> _relays = new();
    private readonly CancellationTokenSource _stopping = new();
    private readonly Lock _gate = new();
    private TcpListener? _listener;
    private Task _accepting = Task.CompletedTask;
    private TaskCompletionSource _flowing = Flowing();
    private int _nextRelay;
    private int _cutAfterBytes;
    private System.Text.RegularExpressions.Regex? _loseAnswerTo;
    private System.Text.RegularExpressions.Regex? _answerOnceTo;
    private byte[] _answer = [];

    public DockerFaultProxy(string socketPath)
    {
        _socketPath = socketPath;
        var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        Port = ((IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();
        Listen();
    }

    public int Port { get; }

    public string Endpoint => $"tcp://127.0.0.1:{Port}";

    /// <summary>How many connections were cut, and refused or hung phases begun: what the engine lived through.</summary>
    public int Faults { get; private set; }

    /// <summary>Everything works.</summary>
    public void Pass()
    {
        lock (_gate)
        {
            _cutAfterBytes = 0;
            Listen();
            _flowing.TrySetResult();
        }
    }

    /// <summary>Nothing listens: every new connection is refused; open ones go on.</summary>
    public void Refuse()
    {
        lock (_gate)
        {
            Faults++;
            _listener?.Stop();
            _listener = null;
        }
    }

    /// <summary>Connections are accepted and kept, but no byte moves, in either direction, until <see cref="Pass"/>.</summary>
    public void Hang()
    {
        lock (_gate)
        {
            Faults++;
            Listen();
            if (_flowing.Task.IsCompleted)
            {
                _flowing = Flowing();
            }
        }
    }

    /// <summary>Every open connection is reset now.</summary>
    public void CutAll()
    {
        foreach (var relay in _relays.Values)
        {
            Faults++;
            relay.Cut();
        }
    }

    /// <summary>From now on each connection is reset once it has carried about <paramref name="bytes"/> bytes from Docker.</summary>
    public void CutEach(int bytes)
    {
        lock (_gate)
        {
            Faults++;
            _cutAfterBytes = bytes;
            Listen();
            _flowing.TrySetResult();
        }
    }

    /// <summary>
    /// The next request whose request line matches <paramref name="requestLine"/> (a regular expression, e.g.
    /// <c>POST \S*/containers/\S+/start</c>) reaches Docker, and its connection is reset in place of Docker's answer.
    /// </summary>
    public void LoseAnswerTo(string requestLine)
    {
        lock (_gate)
        {
            _loseAnswerTo = new System.Text.RegularExpressions.Regex(requestLine, System.Text.RegularExpressions.RegexOptions.CultureInvariant);
        }
    }

    /// <summary>
    /// The next request whose request line matches <paramref name="requestLine"/> does not reach Docker: the proxy answers
    /// it with <paramref name="status"/> and the JSON <paramref name="body"/>, and closes the connection.
    /// </summary>
    public void AnswerOnce(string requestLine, int status, string body)
    {
        var content = System.Text.Encoding.UTF8.GetBytes(body);
        var head = System.Text.Encoding.ASCII.GetBytes(
            $"HTTP/1.1 {status} {(HttpStatusCode)status}\r\nContent-Type: application/json\r\nContent-Length: {content.Length}\r\nConnection: close\r\n\r\n");
        lock (_gate)
        {
            _answerOnceTo = new System.Text.RegularExpressions.Regex(requestLine, System.Text.RegularExpressions.RegexOptions.CultureInvariant);
            _answer = [.. head, .. content];
        }
    }

    /// <summary>The proxy's own answer to the request in <paramref name="bytes"/>, when it is the one to answer (only once).</summary>
    private byte[]? TakeOwnAnswer(ReadOnlySpan<byte> bytes)
    {
        lock (_gate)
        {
            return TakeOnce(ref _answerOnceTo, bytes) ? _answer : null;
        }
    }

    /// <summary>Whether the request in <paramref name="bytes"/> is the one whose answer is to be lost (only once).</summary>
    private bool TakeLostAnswer(ReadOnlySpan<byte> bytes)
    {
        lock (_gate)
        {
            return TakeOnce(ref _loseAnswerTo, bytes);
        }
    }

    /// <summary>Whether a one-time <paramref name="rule"/> matches the request in <paramref name="bytes"/>; it is used up if so. Under the gate.</summary>
    private bool TakeOnce(ref System.Text.RegularExpressions.Regex? rule, ReadOnlySpan<byte> bytes)
    {
        if (rule is null || !rule.IsMatch(System.Text.Encoding.ASCII.GetString(bytes)))
        {
            return false;
        }

        Faults++;
        rule = null;
        return true;
    }

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync();
        lock (_gate)
        {
            _listener?.Stop();
            _listener = null;
            _flowing.TrySetResult();
        }

        foreach (var relay in _relays.Values)
        {
            relay.Cut();
        }

        await _accepting.ContinueWith(_ => { }, TaskScheduler.Default);
        _stopping.Dispose();
    }

    private static TaskCompletionSource Flowing()
    {
        var tcs = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        return tcs;
    }

    private void Listen()
    {
        if (_listener is not null)
        {
            return;
        }

        var listener = new TcpListener(IPAddress.Loopback, Port);
        listener.Server.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
        listener.Start();
        _listener = listener;
        _flowing.TrySetResult();
        _accepting = AcceptAsync(listener);
    }

    private async Task AcceptAsync(TcpListener listener)
    {
        while (!_stopping.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await listener.AcceptSocketAsync(_stopping.Token);
            }
            catch (Exception ex) when (ex is SocketException or ObjectDisposedException or OperationCanceledException or InvalidOperationException)
            {
                return; // stopped: Refuse, or the end
            }

            var id = Interlocked.Increment(ref _nextRelay);
            var relay = new Relay(this, id, client);
            _relays[id] = relay;
            _ = relay.RunAsync(); // tracked in _relays; cut and forgotten at dispose
        }
    }

    private Task WaitForFlowAsync()
    {
        lock (_gate)
        {
            return _flowing.Task;
        }
    }

    private sealed class Relay(DockerFaultProxy proxy, int id, Socket client) : IDisposable
    {
        private readonly Socket _docker = new(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        private readonly int _cutAfter = proxy._cutAfterBytes;
        private long _fromDocker;
        private volatile bool _loseAnswer;

        public void Dispose() => Cut();

        public void Cut()
        {
            try
            {
                client.LingerState = new LingerOption(true, 0); // a reset, as a dropped connection looks
                client.Close();
                _docker.Close();
            }
            catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
            {
            }
        }

        public async Task RunAsync()
        {
            try
            {
                await proxy.WaitForFlowAsync();
                await _docker.ConnectAsync(new UnixDomainSocketEndPoint(proxy._socketPath));
                await Task.WhenAny(PumpAsync(client, _docker, toClient: false), PumpAsync(_docker, client, toClient: true));
            }
            catch (Exception ex) when (ex is SocketException or ObjectDisposedException or IOException)
            {
            }
            finally
            {
                Cut();
                proxy._relays.TryRemove(id, out _);
            }
        }

        private async Task PumpAsync(Socket from, Socket to, bool toClient)
        {
            var buffer = new byte[16 * 1024];
            while (true)
            {
                var read = await from.ReceiveAsync(buffer, SocketFlags.None);
                if (read == 0)
                {
                    to.Shutdown(SocketShutdown.Send);
                    return;
                }

                await proxy.WaitForFlowAsync();
                if (!toClient && proxy.TakeOwnAnswer(buffer.AsSpan(0, read)) is { } answer)
                {
                    // Docker never sees it; the client reads the answer and closes, which ends this relay.
                    await from.SendAsync(answer, SocketFlags.None);
                    from.Shutdown(SocketShutdown.Send);
                    continue;
                }

                if (!toClient && proxy.TakeLostAnswer(buffer.AsSpan(0, read)))
                {
                    _loseAnswer = true;
                }

                if (toClient && _loseAnswer)
                {
                    // The request reached Docker and was done; its answer never arrives.
                    Cut();
                    return;
                }

                if (toClient && _cutAfter > 0 && (_fromDocker += read) > _cutAfter)
                {
                    // Half of this piece, then the reset: the answer ends in the middle.
                    await to.SendAsync(buffer.AsMemory(0, read / 2), SocketFlags.None);
                    Cut();
                    return;
                }

                await to.SendAsync(buffer.AsMemory(0, read), SocketFlags.None);
            }
        }
    }
}
