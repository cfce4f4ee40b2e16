using System.Diagnostics;
using Microsoft.Extensions.Time.Testing;

namespace BatchPortal.Engine.IntegrationTests.Support;

/// <summary>
/// The engine's clock in the Docker tests: a <see cref="FakeTimeProvider"/> kept in step with real time (advanced every
/// 10 ms), so the engine runs as it would on <see cref="TimeProvider.System"/>, which a test can move ahead at once, e.g.
/// past a job's attempt timeout (AWS's minimum is 60 s) without waiting for it. It never moves back.
/// </summary>
public sealed class JumpableClock : IAsyncDisposable
{
    private static readonly TimeSpan Step = TimeSpan.FromMilliseconds(10);

    private readonly Lock _gate = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly long _startTimestamp = Stopwatch.GetTimestamp();
    private readonly DateTimeOffset _start;
    private readonly Task _pump;
    private TimeSpan _jumped;

    private JumpableClock()
    {
        _start = TimeProvider.System.GetUtcNow();
        Provider = new FakeTimeProvider(_start);
        _pump = PumpAsync();
    }

    public FakeTimeProvider Provider { get; }

    /// <summary>A clock at the current real time, following it from now on.</summary>
    public static JumpableClock Start() => new();

    /// <summary>
    /// Moves the engine's clock <paramref name="by"/> ahead of real time for the rest of the run; timers that come due fire
    /// now. Jump by whole minutes: schedules take their fire times from this clock while Hangfire triggers them on real
    /// minute boundaries, and a whole-minute offset keeps the two aligned for the tests that run later.
    /// </summary>
    public void Jump(TimeSpan by)
    {
        lock (_gate)
        {
            _jumped += by;
            CatchUp();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _pump;
        _stop.Dispose();
    }

    private void CatchUp()
    {
        var target = _start + Stopwatch.GetElapsedTime(_startTimestamp) + _jumped;
        var now = Provider.GetUtcNow();
        if (target > now)
        {
            // Timer callbacks run on this thread; Task.Delay's continue asynchronously, so none of them runs under the lock.
            Provider.Advance(target - now);
        }
    }

    private async Task PumpAsync()
    {
        using var timer = new PeriodicTimer(Step);
        try
        {
            while (await timer.WaitForNextTickAsync(_stop.Token))
            {
                lock (_gate)
                {
                    CatchUp();
                }
            }
        }
        catch (OperationCanceledException)
        {
            // Disposed.
        }
    }
}
