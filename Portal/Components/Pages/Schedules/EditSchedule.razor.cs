using System.Globalization;
using BatchPortal.Engine.Domain;
using BatchPortal.Engine.Resources;
using BatchPortal.Engine.Schedules;
using BatchPortal.Portal.Components.Shared;
using Microsoft.AspNetCore.Components;
using MudBlazor;

namespace BatchPortal.Portal.Components.Pages.Schedules;

/// <summary>Create or edit a schedule, with the next 10 fire times shown as the expression is typed.</summary>
public sealed partial class EditSchedule
{
    private IReadOnlyList<JobQueue> _queues = [];
    private IReadOnlyList<JobDefinition> _definitions = [];
    private SchedulePreview? _preview;
    private string? _previewError;
    private string? _start;
    private string? _end;
    private string? _command;
    private string? _commandError;
    private int? _vcpus;
    private int? _memory;
    private int? _attempts;
    private int? _timeout;
    private bool _saving;
    private bool _submitted;

    [Parameter]
    public string? EditName { get; set; }

    [Inject]
    private ScheduleService Schedules { get; set; } = default!;

    [Inject]
    private JobQueueService Queues { get; set; } = default!;

    [Inject]
    private JobDefinitionService Definitions { get; set; } = default!;

    [Inject]
    private NavigationManager Navigation { get; set; } = default!;

    [Inject]
    private ISnackbar Snackbar { get; set; } = default!;

    internal ScheduleRequest Form { get; } = new() { Expression = "rate(5 minutes)", TimeZone = "UTC" };

    internal FormErrors Errors { get; } = new();

    protected override async Task OnInitializedAsync()
    {
        _queues = await Queues.ListAsync();
        _definitions = await Definitions.ListAsync();
        Form.JobQueue = _queues.Count > 0 ? _queues[0].Name : null;
        Form.JobDefinition = _definitions.Count > 0 ? _definitions[0].Name : null;
        if (EditName is not null && await Schedules.GetAsync(EditName) is { } s)
        {
            Form.Name = s.Name;
            Form.Description = s.Description;
            Form.Expression = s.Expression;
            Form.TimeZone = s.TimeZone;
            Form.StartDate = s.StartDate;
            Form.EndDate = s.EndDate;
            Form.Enabled = s.Enabled;
            Form.JobQueue = s.JobQueue;
            Form.JobDefinition = s.JobDefinition;
            Form.JobName = s.JobName;
            Form.Parameters = s.Parameters;
            Form.MissedRunPolicy = s.MissedRunPolicy;
            Form.OverlapPolicy = s.OverlapPolicy;
            _start = s.StartDate?.UtcDateTime.ToString("yyyy-MM-ddTHH:mm", CultureInfo.InvariantCulture);
            _end = s.EndDate?.UtcDateTime.ToString("yyyy-MM-ddTHH:mm", CultureInfo.InvariantCulture);
            _command = s.Overrides?.Command is { } c ? CommandLine.ToSpaceDelimited(c) : null;
            _vcpus = s.Overrides?.Vcpus;
            _memory = s.Overrides?.Memory;
            _attempts = s.RetryStrategy?.Attempts;
            _timeout = s.Timeout?.AttemptDurationSeconds;
        }
        else
        {
            Form.JobName = "scheduled-" + ScheduleService.TimePlaceholder;
        }

        UpdatePreview();
    }

    private string FormatIn(DateTimeOffset t)
    {
        var zone = ScheduleService.Zone(Form.TimeZone).Value ?? TimeZoneInfo.Utc;
        var local = TimeZoneInfo.ConvertTime(t, zone);
        return $"{local:ddd yyyy-MM-dd HH:mm} ({zone.Id}, UTC{local:zzz})";
    }

    private static Task<IEnumerable<string>> SearchZones(string? text, CancellationToken ct) =>
        Task.FromResult<IEnumerable<string>>(TimeZoneInfo.GetSystemTimeZones()
            .Select(z => z.Id)
            .Where(id => string.IsNullOrEmpty(text) || id.Contains(text, StringComparison.OrdinalIgnoreCase))
            .Order(StringComparer.Ordinal)
            .ToList());

    private async Task PreviewChanged()
    {
        UpdatePreview();
        await RevalidateAsync();
    }

    private void UpdatePreview()
    {
        var result = Schedules.Preview(Form.Expression, Form.TimeZone, ParseDate(_start));
        _preview = result.Value;
        _previewError = result.Error?.Message;
    }

    private static DateTimeOffset? ParseDate(string? value) =>
        DateTimeOffset.TryParse(value, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var t) ? t : null;

    private ScheduleRequest ToRequest()
    {
        Form.StartDate = ParseDate(_start);
        Form.EndDate = ParseDate(_end);
        var split = CommandLine.SplitSpaceDelimited(_command);
        _commandError = split.Error?.Message;
        Form.Overrides = string.IsNullOrWhiteSpace(_command) && _vcpus is null && _memory is null
            ? null
            : new ScheduleOverrides { Command = split.Value is { Count: > 0 } c ? c : null, Vcpus = _vcpus, Memory = _memory };
        Form.RetryStrategy = _attempts is { } a ? new RetryStrategy { Attempts = a } : null;
        Form.Timeout = _timeout is { } t ? new JobTimeout { AttemptDurationSeconds = t } : null;
        return Form;
    }

    private async Task RevalidateAsync()
    {
        if (_submitted)
        {
            Errors.Set(await Schedules.ValidateAsync(ToRequest(), isNew: EditName is null));
        }
    }

    private async Task SaveAsync()
    {
        _submitted = true;
        await RevalidateAsync();
        if (Errors.Any || _commandError is not null)
        {
            return;
        }

        _saving = true;
        try
        {
            var result = EditName is null ? await Schedules.CreateAsync(ToRequest(), await Access.ActorAsync()) : await Schedules.UpdateAsync(EditName, ToRequest(), await Access.ActorAsync());
            if (!Errors.Accept(result, Snackbar))
            {
                return;
            }

            Snackbar.Add($"Schedule {result.Value!.Name} saved.", Severity.Success);
            Navigation.NavigateTo($"/schedules/{Uri.EscapeDataString(result.Value.Name)}");
        }
        finally
        {
            _saving = false;
        }
    }
}
