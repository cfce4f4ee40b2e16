using System.Collections.Concurrent;
using BatchPortal.Engine.Notifications;

namespace BatchPortal.Portal.Components.Shared;

/// <summary>
/// Open pages that show the same thing share one read per change. Every open board reloads when a job changes; twenty
/// boards on one filter made twenty identical queries per change, which on a small machine took longer than the push
/// target. A read is shared by the pages that ask for the same key after the same change
/// (<see cref="JobEventBroadcaster.Version"/>): it began after that change was committed, so it shows it. A read is
/// shared for at most <see cref="MaxAge"/>, so that the few writes nobody is told about (the retention purge, an array's
/// children appearing under a waiting parent) show on a page opened later. A read that failed is not shared.
/// </summary>
public sealed class SharedReads(JobEventBroadcaster broadcaster, TimeProvider time)
{
    public static readonly TimeSpan MaxAge = TimeSpan.FromSeconds(2);
    private const int MaxEntries = 128;
    private readonly ConcurrentDictionary<string, Entry> _entries = new(StringComparer.Ordinal);

    /// <summary>
    /// The result of <paramref name="read"/> for <paramref name="key"/>, started by this call or by another page since the
    /// last change. The key names everything the read depends on (filter, page, the minute for time-bucketed figures).
    /// </summary>
    public Task<T> GetAsync<T>(string key, Func<Task<T>> read)
    {
        var version = broadcaster.Version;
        var now = time.GetTimestamp();
        var fullKey = $"{typeof(T).FullName}\n{key}";
        var entry = _entries.AddOrUpdate(
            fullKey,
            static (_, arg) => Entry.For(arg.version, arg.now, arg.read),
            (_, current, arg) => current.Version >= arg.version && !current.Failed && time.GetElapsedTime(current.Started, arg.now) < MaxAge
                ? current
                : Entry.For(arg.version, arg.now, arg.read),
            (version, now, read));

        if (_entries.Count > MaxEntries)
        {
            // Entries of earlier changes are never served again: drop them (an open page asks again after the next change).
            foreach (var (k, e) in _entries)
            {
                if (e.Version < version)
                {
                    _entries.TryRemove(new KeyValuePair<string, Entry>(k, e));
                }
            }
        }

        return (Task<T>)entry.Read.Value;
    }

    private sealed record Entry(long Version, long Started, Lazy<Task> Read)
    {
        public bool Failed => Read.IsValueCreated && (Read.Value.IsFaulted || Read.Value.IsCanceled);

        // Lazy: of the entries AddOrUpdate may build under contention only the stored one runs its read.
        public static Entry For<T>(long version, long started, Func<Task<T>> read) => new(version, started, new Lazy<Task>(() => Start(read)));

        // The read starts without the asking page's synchronization context: the other pages await it too, and a read
        // whose continuations belong to one circuit would wait on that circuit (and never end if it closes). It still
        // starts inline, so a read that completes at once (SQLite's usually do) is there for the first render. A read
        // that throws gives a faulted task, which Failed sees, rather than an exception Lazy would keep.
        private static Task<T> Start<T>(Func<Task<T>> read)
        {
            var context = SynchronizationContext.Current;
            SynchronizationContext.SetSynchronizationContext(null);
            try
            {
                return read();
            }
            catch (Exception ex)
            {
                return Task.FromException<T>(ex);
            }
            finally
            {
                SynchronizationContext.SetSynchronizationContext(context);
            }
        }
    }
}
