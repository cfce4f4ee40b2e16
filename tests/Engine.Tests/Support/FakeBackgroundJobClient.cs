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

    /// <summary>Makes <see cref="Create"/> fail as Hangfire's client does when its storage fails, for the methods named.</summary>
    public HashSet<string> Failing { get; } = [];

    public string Create(HangfireJob job, IState state)
    {
        if (Failing.Contains(job.Method.Name))
        {
            throw new BackgroundJobClientException("Background job creation failed. See inner exception for details.", new ObjectDisposedException("LoggerFactory"));
        }

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
