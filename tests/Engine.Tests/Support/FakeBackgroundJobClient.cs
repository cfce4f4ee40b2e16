using System.Collections.Concurrent;
using Hangfire;
using Hangfire.States;
using HangfireJob = Hangfire.Common.Job;

namespace BatchPortal.Engine.Tests.Support;

/// <summary>Records what the engine hands to Hangfire instead of running it. <c>Enqueue</c> is an extension over <see cref="Create"/>.</summary>
internal sealed class FakeBackgroundJobClient : IBackgroundJobClient
{
    private readonly ConcurrentQueue<EnqueuedCall> _calls = new();
    private readonly Lock _gate = new();
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _nextId;

    public IReadOnlyList<EnqueuedCall> Calls => [.. _calls];

    public string Create(HangfireJob job, IState state)
    {
        _calls.Enqueue(new EnqueuedCall(job.Type, job.Method.Name, [.. job.Args], state.Name));
        lock (_gate)
        {
            _changed.TrySetResult();
            _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
        }

        return Interlocked.Increment(ref _nextId).ToString(System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>The first call matching <paramref name="match"/>, waiting for it when the engine enqueues from a background task.</summary>
    public async Task<EnqueuedCall> WaitForAsync(Func<EnqueuedCall, bool> match)
    {
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        while (true)
        {
            Task changed;
            lock (_gate)
            {
                changed = _changed.Task;
            }

            if (_calls.FirstOrDefault(match) is { } call)
            {
                return call;
            }

            await changed.WaitAsync(deadline.Token);
        }
    }

    public bool ChangeState(string jobId, IState state, string expectedState) =>
        throw new NotSupportedException("The engine only enqueues; it never changes a Hangfire job's state.");
}

internal sealed record EnqueuedCall(Type Type, string Method, IReadOnlyList<object?> Args, string State);
