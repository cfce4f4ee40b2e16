using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Playwright;

namespace BatchPortal.PortalBenchmarks;

/// <summary>What a watcher on <c>/hubs/jobs</c> receives (README: "Live job events for other programs").</summary>
internal sealed record JobStatusMessage(string JobId, string JobName, string JobQueue, string Status, string? PreviousStatus, string? StatusReason, long At);

/// <summary>
/// The open watchers: SignalR connections to <c>/hubs/jobs</c> and, optionally, Blazor boards (headless Chromium pages on
/// the jobs page). Each status change the benchmark causes is timed from the start of its API call to its arrival at
/// each watcher: for the hub, when the client's handler runs; for a board, when the row's <c>data-status</c> changes in
/// the page's DOM (a MutationObserver, stamped with the page's clock and corrected by the page's measured clock offset).
/// </summary>
internal sealed class LiveSession : IAsyncDisposable
{
    public const string Chromium = "/usr/bin/chromium";

    private static readonly string[] ChromiumArgs =
        ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"];

    // Records the first time each (job, status) pair is seen in the page, and reports FAILED rows to the benchmark.
    private const string ObserverScript = """
        () => {
          const seen = window.__bpSeen = window.__bpSeen || {};
          const record = () => {
            const t = performance.timeOrigin + performance.now();
            for (const row of document.querySelectorAll('tr[data-job-id]')) {
              const key = row.getAttribute('data-job-id') + '|' + row.getAttribute('data-status');
              if (!(key in seen)) {
                seen[key] = t;
                if (row.getAttribute('data-status') === 'FAILED') { window.bpReport(key + '|' + t); }
              }
            }
          };
          record();
          new MutationObserver(record).observe(document.body, { subtree: true, childList: true, attributes: true, attributeFilter: ['data-status'] });
        }
        """;

    private readonly List<HubConnection> _hubs = [];
    private readonly List<IPage> _pages = [];
    private readonly List<double> _pageClockOffsets = [];
    private readonly ConcurrentDictionary<string, Change> _changes = new(StringComparer.Ordinal);
    private IPlaywright? _playwright;
    private IBrowser? _browser;

    public int Watchers => _hubs.Count;

    public int Boards => _pages.Count;

    /// <summary>Per delivery to a hub client: API call start → JobStatusChanged(FAILED) handled, in ms.</summary>
    public Samples Hub { get; } = new();

    /// <summary>Per board: API call start → the row shows FAILED in that page's DOM, in ms.</summary>
    public Samples Board { get; } = new();

    /// <summary>The CancelJob calls themselves, in ms.</summary>
    public Samples Api { get; } = new();

    public int HubMissed { get; private set; }

    public int BoardMissed { get; private set; }

    /// <summary>The largest |clock offset| measured between a page and this process, in ms (a sanity figure).</summary>
    public double MaxClockOffset => _pageClockOffsets.Count == 0 ? 0 : _pageClockOffsets.Max(Math.Abs);

    public static async Task<LiveSession> OpenAsync(Uri portal, int watchers, int boards, string boardQueue)
    {
        var session = new LiveSession();
        try
        {
            for (var i = 0; i < watchers; i++)
            {
                var hub = new HubConnectionBuilder().WithUrl(new Uri(portal, "/hubs/jobs")).Build();
                hub.On<JobStatusMessage>("JobStatusChanged", session.OnHubMessage);
                await hub.StartAsync();
                session._hubs.Add(hub);
            }

            if (boards > 0)
            {
                session._playwright = await Playwright.CreateAsync();
                session._browser = await session._playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
                {
                    ExecutablePath = Chromium,
                    Headless = true,
                    Args = ChromiumArgs,
                });
                for (var i = 0; i < boards; i++)
                {
                    var board = i;
                    var context = await session._browser.NewContextAsync();
                    var page = await context.NewPageAsync();
                    await page.ExposeFunctionAsync<string>("bpReport", payload => session.OnBoardReport(board, payload));
                    await page.GotoAsync(new Uri(portal, $"/jobs?queue={Uri.EscapeDataString(boardQueue)}").ToString(), new PageGotoOptions { Timeout = 120_000 });
                    await page.WaitForSelectorAsync("[data-interactive='true']", new PageWaitForSelectorOptions { State = WaitForSelectorState.Attached, Timeout = 120_000 });
                    await page.EvaluateAsync(ObserverScript);
                    session._pages.Add(page);
                    session._pageClockOffsets.Add(await ClockOffsetAsync(page));
                }
            }

            return session;
        }
        catch
        {
            await session.DisposeAsync();
            throw;
        }
    }

    /// <summary>Waits until every board lists these jobs with this status.</summary>
    public async Task WaitForBoardsAsync(IReadOnlyCollection<string> jobIds, string status, TimeSpan timeout)
    {
        foreach (var page in _pages)
        {
            await page.WaitForFunctionAsync(
                "([ids, status]) => ids.every(id => document.querySelector(`tr[data-job-id=\"${id}\"][data-status=\"${status}\"]`))",
                new object[] { jobIds.ToArray(), status },
                new PageWaitForFunctionOptions { Timeout = (float)timeout.TotalMilliseconds, PollingInterval = 100 });
        }
    }

    /// <summary>
    /// Cancels one RUNNABLE job through the API and waits until every watcher has seen it FAILED (or
    /// <paramref name="timeout"/> passes; what did not arrive by then is counted as missed).
    /// </summary>
    public async Task CancelAndWaitAsync(BatchClient api, string jobId, TimeSpan timeout)
    {
        var change = new Change(Stopwatch.GetTimestamp(), Report.EpochMs(), _hubs.Count, _pages.Count);
        _changes[jobId] = change;
        var (status, body, ms) = await api.TimedAsync("canceljob", $$"""{"jobId":"{{jobId}}","reason":"benchmark: live push"}""");
        if (status != 200)
        {
            throw new InvalidOperationException($"CancelJob {jobId} answered {status}: {body}");
        }

        Api.Add(ms);
        await Task.WhenAny(Task.WhenAll(change.HubsDone.Task, change.BoardsDone.Task), Task.Delay(timeout));
        lock (change)
        {
            HubMissed += change.HubsLeft;
            BoardMissed += change.BoardsLeft;
            change.Closed = true;
        }

        _changes.TryRemove(jobId, out _);
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var hub in _hubs)
        {
            await hub.DisposeAsync();
        }

        foreach (var page in _pages)
        {
            await page.Context.CloseAsync();
        }

        if (_browser is not null)
        {
            await _browser.CloseAsync();
        }

        _playwright?.Dispose();
    }

    /// <summary>The page's clock minus this process's clock, from the round trip with the smallest delay.</summary>
    private static async Task<double> ClockOffsetAsync(IPage page)
    {
        var best = (Rtt: double.MaxValue, Offset: 0.0);
        for (var i = 0; i < 7; i++)
        {
            var before = Report.EpochMs();
            var inPage = await page.EvaluateAsync<double>("() => performance.timeOrigin + performance.now()");
            var after = Report.EpochMs();
            if (after - before < best.Rtt)
            {
                best = (after - before, inPage - ((before + after) / 2));
            }
        }

        return best.Offset;
    }

    private void OnHubMessage(JobStatusMessage message)
    {
        var now = Stopwatch.GetTimestamp();
        if (message.Status != "FAILED" || !_changes.TryGetValue(message.JobId, out var change))
        {
            return;
        }

        lock (change)
        {
            if (change.Closed)
            {
                return;
            }

            Hub.Add(Stopwatch.GetElapsedTime(change.Started, now).TotalMilliseconds);
            if (--change.HubsLeft == 0)
            {
                change.HubsDone.TrySetResult();
            }
        }
    }

    private void OnBoardReport(int board, string payload)
    {
        var parts = payload.Split('|');
        if (parts.Length != 3 || !_changes.TryGetValue(parts[0], out var change))
        {
            return;
        }

        var seenAt = double.Parse(parts[2], CultureInfo.InvariantCulture) - _pageClockOffsets[board];
        lock (change)
        {
            if (change.Closed)
            {
                return;
            }

            Board.Add(seenAt - change.StartedEpochMs);
            if (--change.BoardsLeft == 0)
            {
                change.BoardsDone.TrySetResult();
            }
        }
    }

    private sealed class Change
    {
        public Change(long started, double startedEpochMs, int hubs, int boards)
        {
            Started = started;
            StartedEpochMs = startedEpochMs;
            HubsLeft = hubs;
            BoardsLeft = boards;
            if (hubs == 0)
            {
                HubsDone.TrySetResult();
            }

            if (boards == 0)
            {
                BoardsDone.TrySetResult();
            }
        }

        public long Started { get; }

        public double StartedEpochMs { get; }

        public int HubsLeft { get; set; }

        public int BoardsLeft { get; set; }

        public bool Closed { get; set; }

        public TaskCompletionSource HubsDone { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource BoardsDone { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
