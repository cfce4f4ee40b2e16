using System.Collections.Concurrent;
using System.Diagnostics;
using BatchPortal.Engine.Domain;
using BatchPortal.Engine.Notifications;

namespace BatchPortal.Benchmarks;

/// <summary>
/// When each job reached RUNNING and its final state, stamped with <see cref="Stopwatch"/> as the engine's in-process
/// notifier (what the live board listens to) reports it, after the change is committed.
/// </summary>
internal sealed class JobEvents : IDisposable
{
    private readonly ConcurrentDictionary<string, Entry> _jobs = new(StringComparer.Ordinal);
    private readonly IDisposable _subscription;

    public JobEvents(JobEventBroadcaster broadcaster) =>
        _subscription = broadcaster.Subscribe(null, e =>
        {
            var now = Stopwatch.GetTimestamp();
            var entry = Of(e.JobId);
            if (e.Status == JobStatus.Running)
            {
                entry.Running.TrySetResult(now);
            }
            else if (e.Status == JobStatus.Pending)
            {
                entry.Pending.TrySetResult(now);
            }
            else if (e.Status.IsFinal())
            {
                entry.Final.TrySetResult((now, e.Status));
            }

            return Task.CompletedTask;
        });

    public Task<long> RunningAsync(string jobId) => Of(jobId).Running.Task;

    public Task<long> PendingAsync(string jobId) => Of(jobId).Pending.Task;

    public Task<(long At, JobStatus Status)> FinalAsync(string jobId) => Of(jobId).Final.Task;

    public void Dispose() => _subscription.Dispose();

    private Entry Of(string jobId) => _jobs.GetOrAdd(jobId, _ => new Entry());

    private sealed class Entry
    {
        public TaskCompletionSource<long> Running { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource<long> Pending { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource<(long, JobStatus)> Final { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
