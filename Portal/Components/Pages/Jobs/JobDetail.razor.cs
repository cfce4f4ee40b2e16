using BatchPortal.Engine.Domain;
using BatchPortal.Engine.Jobs;
using BatchPortal.Engine.Notifications;
using BatchPortal.Engine.Storage;
using Microsoft.AspNetCore.Components;
using MudBlazor;

namespace BatchPortal.Portal.Components.Pages.Jobs;

/// <summary>One job: its state and history, attempts, and the log of the chosen attempt, followed live while it runs.</summary>
public sealed partial class JobDetail
{
    private const int MaxLinesShown = 5_000;
    private readonly List<LogEvent> _lines = [];
    private readonly SemaphoreSlim _logGate = new(1, 1);
    private Job? _job;
    private IReadOnlyList<JobStatusChange> _history = [];
    private int _logAttempt;
    private long _lastLogId;
    private bool _followLatest = true;
    private bool _paused;
    private int _childrenShown = 1000;
    private IReadOnlyList<(string Id, JobStatus Status)> _dependsOn = [];
    private IReadOnlyList<(string Id, JobStatus Status)> _dependents = [];
    private IReadOnlyDictionary<JobStatus, int> _summary = new Dictionary<JobStatus, int>();
    private IReadOnlyList<(int Index, string Id, JobStatus Status)> _children = [];

    [Parameter]
    public string JobId { get; set; } = "";

    [Inject]
    private JobQueries Jobs { get; set; } = default!;

    [Inject]
    private LogStore Logs { get; set; } = default!;

    [Inject]
    private JobService JobService { get; set; } = default!;

    [Inject]
    private Arns Arns { get; set; } = default!;

    [Inject]
    private ISnackbar Snackbar { get; set; } = default!;

    [Inject]
    private IScrollManager Scroll { get; set; } = default!;

    private bool IsLive => _job?.Status is JobStatus.Running or JobStatus.Starting && _logAttempt == _job.AttemptCount;

    protected override string? LogsOfJob => JobId;

    protected override bool Concerns(JobLogAppended appended) => appended.Attempt == _logAttempt && !_paused;

    protected override async Task OnLogsAppendedAsync()
    {
        await ReadNewLinesAsync();
        await ScrollToEndAsync();
    }

    protected override bool Concerns(JobStatusChanged change) =>
        change.JobId == JobId || change.JobId.StartsWith(JobId + ":", StringComparison.Ordinal) || _dependsOn.Any(d => d.Id == change.JobId);

    protected override async Task LoadAsync()
    {
        _job = await Jobs.GetAsync(JobId);
        _history = _job is null ? [] : await Jobs.GetHistoryAsync(JobId);
        if (_job is not null)
        {
            (_dependsOn, _dependents) = await Jobs.DependenciesAsync(JobId);
            if (_job.IsArrayParent)
            {
                _summary = await Jobs.ArraySummaryAsync(JobId);
                _children = await Jobs.ArrayChildrenAsync(JobId, 0, _childrenShown);
            }
        }

        if (_job is not null && _followLatest && _job.AttemptCount != _logAttempt)
        {
            await SwitchAttemptAsync(_job.AttemptCount);
        }
        else
        {
            await ReadNewLinesAsync();
        }
    }

    private async Task ShowAttemptAsync(int attempt)
    {
        _followLatest = attempt == _job?.AttemptCount;
        await SwitchAttemptAsync(attempt);
    }

    private async Task SwitchAttemptAsync(int attempt)
    {
        await _logGate.WaitAsync();
        try
        {
            _logAttempt = attempt;
            _lines.Clear();
            _lastLogId = 0;
        }
        finally
        {
            _logGate.Release();
        }

        await ReadNewLinesAsync();
    }

    private async Task TogglePauseAsync()
    {
        _paused = !_paused;
        if (!_paused)
        {
            await ReadNewLinesAsync();
            await ScrollToEndAsync();
        }
    }

    private async Task ScrollToEndAsync()
    {
        try
        {
            await Scroll.ScrollToBottomAsync("#log-output", ScrollBehavior.Auto);
        }
        catch (Microsoft.JSInterop.JSException)
        {
            // Scrolling is a courtesy; a page without the element (or prerendering) does not need it.
        }
        catch (InvalidOperationException)
        {
        }
    }

    private async Task ShowMoreChildrenAsync()
    {
        _childrenShown += 1000;
        _children = await Jobs.ArrayChildrenAsync(JobId, 0, _childrenShown);
    }

    private async Task ReadNewLinesAsync()
    {
        if (_logAttempt <= 0)
        {
            return;
        }

        await _logGate.WaitAsync();
        try
        {
            var lines = await Logs.ReadAsync(JobId, _logAttempt, _lastLogId, MaxLinesShown);
            if (lines.Count > 0)
            {
                _lines.AddRange(lines);
                _lastLogId = lines[^1].Id;
                if (_lines.Count > MaxLinesShown)
                {
                    _lines.RemoveRange(0, _lines.Count - MaxLinesShown);
                }
            }
        }
        finally
        {
            _logGate.Release();
        }
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _logGate.Dispose();
        }

        base.Dispose(disposing);
    }

    private async Task CancelAsync()
    {
        var result = await JobService.CancelAsync(JobId, "Cancelled from the console", await Access.ActorAsync());
        Snackbar.Add(result.Error?.Message ?? "Job cancelled.", result.IsSuccess ? Severity.Success : Severity.Error);
    }

    private async Task TerminateAsync()
    {
        var result = await JobService.TerminateAsync(JobId, "Terminated from the console", await Access.ActorAsync());
        Snackbar.Add(result.Error?.Message ?? "Job terminating.", result.IsSuccess ? Severity.Success : Severity.Error);
    }
}
