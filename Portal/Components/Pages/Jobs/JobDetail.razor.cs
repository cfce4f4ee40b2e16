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
    private IDisposable? _logSubscription;
    private int _logAttempt;
    private long _lastLogId;
    private bool _followLatest = true;

    [Parameter]
    public string JobId { get; set; } = "";

    [Inject]
    private JobStore Jobs { get; set; } = default!;

    [Inject]
    private LogStore Logs { get; set; } = default!;

    [Inject]
    private JobService JobService { get; set; } = default!;

    [Inject]
    private Arns Arns { get; set; } = default!;

    [Inject]
    private ISnackbar Snackbar { get; set; } = default!;

    protected override async Task OnInitializedAsync()
    {
        await base.OnInitializedAsync();
        _logSubscription = Broadcaster.SubscribeToLogs(JobId, OnLogAppendedAsync);
    }

    protected override bool Concerns(JobStatusChanged change) => change.JobId == JobId;

    protected override async Task LoadAsync()
    {
        _job = await Jobs.GetAsync(JobId);
        _history = _job is null ? [] : await Jobs.GetHistoryAsync(JobId);
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

    private Task OnLogAppendedAsync(JobLogAppended appended) =>
        appended.Attempt != _logAttempt ? Task.CompletedTask : InvokeAsync(async () =>
        {
            await ReadNewLinesAsync();
            StateHasChanged();
        });

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
            _logSubscription?.Dispose();
            _logGate.Dispose();
        }

        base.Dispose(disposing);
    }

    private async Task CancelAsync()
    {
        var result = await JobService.CancelAsync(JobId, "Cancelled from the console");
        Snackbar.Add(result.Error?.Message ?? "Job cancelled.", result.IsSuccess ? Severity.Success : Severity.Error);
    }

    private async Task TerminateAsync()
    {
        var result = await JobService.TerminateAsync(JobId, "Terminated from the console");
        Snackbar.Add(result.Error?.Message ?? "Job terminating.", result.IsSuccess ? Severity.Success : Severity.Error);
    }
}
