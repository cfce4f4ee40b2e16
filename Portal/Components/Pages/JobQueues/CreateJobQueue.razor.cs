using BatchPortal.Engine.Domain;
using BatchPortal.Engine.Resources;
using BatchPortal.Portal.Components.Shared;
using Microsoft.AspNetCore.Components;
using MudBlazor;

namespace BatchPortal.Portal.Components.Pages.JobQueues;

public partial class CreateJobQueue
{
    private IReadOnlyList<ComputeEnvironment> _environments = [];
    private string? _pick;
    private bool _saving;
    private bool _submitted;

    [Inject]
    private JobQueueService Queues { get; set; } = default!;

    [Inject]
    private ComputeEnvironmentService Environments { get; set; } = default!;

    [Inject]
    private NavigationManager Navigation { get; set; } = default!;

    [Inject]
    private ISnackbar Snackbar { get; set; } = default!;

    internal FormErrors Errors { get; } = new();

    internal string? Name { get; set; }

    internal int? Priority { get; set; } = 1;

    internal bool Enabled { get; set; } = true;

    internal List<string> Connected { get; } = [];

    internal List<JobStateTimeLimitAction> TimeLimitActions { get; } = [];

    internal List<NameValue> Tags { get; } = [];

    private IEnumerable<ComputeEnvironment> Available =>
        _environments.Where(c => c.Status == ResourceStatus.Valid && !Connected.Contains(c.Name));

    protected override async Task OnInitializedAsync() => _environments = await Environments.ListAsync();

    internal CreateJobQueueRequest ToRequest() => new()
    {
        JobQueueName = Name?.Trim(),
        Priority = Priority,
        State = Enabled ? "ENABLED" : "DISABLED",
        ComputeEnvironmentOrder = [.. Connected.Select((n, i) => new ComputeEnvironmentOrder { Order = i + 1, ComputeEnvironment = n })],
        JobStateTimeLimitActions = [.. TimeLimitActions.Select(a => new JobStateTimeLimitAction { Reason = a.Reason, MaxTimeSeconds = a.MaxTimeSeconds, State = "RUNNABLE", Action = "CANCEL" })],
        Tags = Tags.Count > 0 ? NameValue.ToDictionary(Tags) : null,
    };

    private void AddAction() =>
        TimeLimitActions.Add(new JobStateTimeLimitAction { Reason = JobQueueService.TimeLimitReasons[1], MaxTimeSeconds = 3600 });

    private void RemoveAction(int index)
    {
        TimeLimitActions.RemoveAt(index);
        Revalidate();
    }

    private void Add(string name)
    {
        if (!string.IsNullOrEmpty(name) && !Connected.Contains(name))
        {
            Connected.Add(name);
        }

        _pick = null;
        Revalidate();
    }

    private void Move(int index, int delta) => (Connected[index], Connected[index + delta]) = (Connected[index + delta], Connected[index]);

    private void Remove(int index)
    {
        Connected.RemoveAt(index);
        Revalidate();
    }

    private void Revalidate()
    {
        if (_submitted)
        {
            Errors.Set(JobQueueService.Validate(ToRequest()));
        }
    }

    private async Task CreateAsync()
    {
        _submitted = true;
        Revalidate();
        if (Errors.Any)
        {
            return;
        }

        _saving = true;
        try
        {
            var result = await Queues.CreateAsync(ToRequest(), await Access.ActorAsync());
            if (!Errors.Accept(result, Snackbar))
            {
                return;
            }

            Snackbar.Add($"Job queue {result.Value!.Name} created.", Severity.Success);
            Navigation.NavigateTo($"/job-queues/{Uri.EscapeDataString(result.Value.Name)}");
        }
        finally
        {
            _saving = false;
        }
    }
}
