using BatchPortal.Engine.Domain;
using BatchPortal.Engine.Execution;
using BatchPortal.Portal.Components.Shared;
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
    private ITimer? _countdown;
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

    [Inject]
    private IDialogService Dialogs { get; set; } = default!;

    [Inject]
    private TimeProvider Time { get; set; } = default!;

    [Inject]
    private Microsoft.Extensions.Options.IOptions<DockerOptions> DockerOptions { get; set; } = default!;

    private bool IsLive => _job?.Status is JobStatus.Running or JobStatus.Starting && _logAttempt == _job.AttemptCount;

    protected override string? LogsOfJob => JobId;

    protected override string? Key => JobId;

    protected override void OnKeyChanged()
    {
        _job = null;
        _history = [];
        _lines.Clear();
        _lastLogId = 0;
        _logAttempt = 0;
        _followLatest = true;
        _paused = false;
        _childrenShown = 1000;
        _dependsOn = [];
        _dependents = [];
        _summary = new Dictionary<JobStatus, int>();
        _children = [];
    }

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
            _countdown?.Dispose();
        }

        base.Dispose(disposing);
    }

    private async Task CancelAsync()
    {
        var what = _job!.IsArrayParent ? $"The array job and those of its {_job.ArraySize} children that have not started fail" : "The job fails";
        if (await Dialogs.ConfirmAsync(
                $"Cancel job {_job.Name}?",
                $"{what} with your reason. A job already starting or running goes on; terminate it to stop its container.",
                "Cancel job",
                [Arns.Job(JobId)],
                reason: "Cancelled from the console") is not { } reason)
        {
            return;
        }

        var result = await JobService.CancelAsync(JobId, reason, await Access.ActorAsync());
        Snackbar.Add(result.Error?.Message ?? (result.Value ? "Job cancelled." : "The job had already started or finished; nothing was cancelled."), result.IsSuccess ? Severity.Success : Severity.Error);
        await LoadAsync();
    }

    private async Task TerminateAsync()
    {
        var grace = (int)DockerOptions.Value.StopGracePeriod.TotalSeconds;
        if (await Dialogs.ConfirmAsync(
                $"Terminate job {_job!.Name}?",
                $"A job that has not started fails at once. A running container gets SIGTERM, then SIGKILL after {grace} s; the job then fails with your reason, and is not retried.",
                "Terminate job",
                [Arns.Job(JobId)],
                reason: "Terminated from the console") is not { } reason)
        {
            return;
        }

        var result = await JobService.TerminateAsync(JobId, reason, await Access.ActorAsync());
        Snackbar.Add(result.Error?.Message ?? (result.Value ? "Job terminating." : "The job had already finished; nothing was terminated."), result.IsSuccess ? Severity.Success : Severity.Error);
        await LoadAsync();
    }

    /// <summary>A RUNNING job that TerminateJob reached, until its container has stopped.</summary>
    private DateTimeOffset? TerminationPending => _job is { Status: JobStatus.Running, TerminationRequestedAt: { } at } ? at : null;

    private string TerminationText(DateTimeOffset requestedAt)
    {
        var left = requestedAt + DockerOptions.Value.StopGracePeriod - Time.GetUtcNow();
        return left > TimeSpan.Zero
            ? $"SIGTERM sent; SIGKILL in {Math.Ceiling(left.TotalSeconds):0} s if the container has not stopped."
            : "SIGKILL sent; waiting for Docker to report the container stopped.";
    }

    protected override async Task OnAfterRenderAsync(bool firstRender)
    {
        // The countdown moves once a second while a termination is pending, and stops with it.
        if (TerminationPending is not null && _countdown is null)
        {
            _countdown = Time.CreateTimer(_ => _ = InvokeAsync(TickCountdown), null, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1));
        }

        await base.OnAfterRenderAsync(firstRender);
    }

    private void TickCountdown()
    {
        if (TerminationPending is null)
        {
            _countdown?.Dispose();
            _countdown = null;
        }

        StateHasChanged();
    }
}
