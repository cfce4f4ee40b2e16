using BatchPortal.Engine.Domain;
using BatchPortal.Engine.Jobs;
using BatchPortal.Engine.Resources;
using BatchPortal.Portal.Components.Shared;
using Microsoft.AspNetCore.Components;
using MudBlazor;

namespace BatchPortal.Portal.Components.Pages.Jobs;

public partial class SubmitJob
{
    private IReadOnlyList<JobDefinition> _definitions = [];
    private IReadOnlyList<JobQueue> _queues = [];
    private bool _saving;
    private bool _submitted;

    [Inject]
    private JobService Jobs { get; set; } = default!;

    [Inject]
    private JobDefinitionService Definitions { get; set; } = default!;

    [Inject]
    private JobQueueService Queues { get; set; } = default!;

    [Inject]
    private NavigationManager Navigation { get; set; } = default!;

    [Inject]
    private ISnackbar Snackbar { get; set; } = default!;

    [SupplyParameterFromQuery(Name = "queue")]
    public string? QueryQueue { get; set; }

    [SupplyParameterFromQuery(Name = "definition")]
    public string? QueryDefinition { get; set; }

    /// <summary>"Clone job": <c>?clone=jobId</c> pre-fills the form from that job as it ran.</summary>
    [SupplyParameterFromQuery(Name = "clone")]
    public string? Clone { get; set; }

    [Inject]
    private BatchPortal.Engine.Storage.JobQueries JobStore { get; set; } = default!;

    internal FormErrors Errors { get; } = new();

    internal string? Name { get; set; }

    internal string? Definition { get; set; }

    internal string? Queue { get; set; }

    internal string? CommandText { get; set; }

    internal List<string> Command { get; private set; } = [];

    internal string? CommandError { get; private set; }

    internal int? Vcpus { get; set; }

    internal int? MemoryMiB { get; set; }

    protected override async Task OnInitializedAsync()
    {
        _definitions = await Definitions.ListAsync();
        _queues = await Queues.ListAsync();
        Queue = _queues.FirstOrDefault(q => q.Name == QueryQueue)?.Name ?? _queues.FirstOrDefault(q => q.State == ResourceState.Enabled)?.Name;
        var definition = _definitions.FirstOrDefault(d => d.Name == QueryDefinition || $"{d.Name}:{d.Revision}" == QueryDefinition) ?? (_definitions.Count > 0 ? _definitions[0] : null);
        if (definition is not null)
        {
            Definition = $"{definition.Name}:{definition.Revision}";
            DefinitionChanged();
        }

        if (Clone is not null)
        {
            await CloneFromAsync(Clone);
        }
    }

    private async Task CloneFromAsync(string jobId)
    {
        var job = await JobStore.GetAsync(jobId);
        if (job is null)
        {
            Snackbar.Add($"Job {jobId} does not exist; nothing to clone.", Severity.Warning);
            return;
        }

        Name = job.Name;
        Queue = job.QueueName;
        var source = $"{job.JobDefinitionName}:{job.JobDefinitionRevision}";
        if (_definitions.Any(d => $"{d.Name}:{d.Revision}" == source))
        {
            Definition = source;
        }
        else
        {
            Snackbar.Add($"Job definition {source} is INACTIVE; pick another revision.", Severity.Warning);
        }

        Command = [.. job.Container.Command];
        CommandText = CommandLine.ToSpaceDelimited(Command);
        Vcpus = (int)Math.Round(job.Vcpus);
        MemoryMiB = job.MemoryMiB;
    }

    internal SubmitJobRequest ToRequest()
    {
        var definition = Selected();
        var commandChanged = definition is null || !Command.SequenceEqual(definition.ContainerProperties.Command);
        var vcpusChanged = definition is null || Vcpus != (int?)Math.Round(definition.ContainerProperties.EffectiveVcpus);
        var memoryChanged = definition is null || MemoryMiB != definition.ContainerProperties.EffectiveMemoryMiB;
        var overrides = new ContainerOverrides();
        if (commandChanged && Command.Count > 0)
        {
            overrides.Command = [.. Command];
        }

        var requirements = new List<ResourceRequirement>();
        if (vcpusChanged && Vcpus is { } v)
        {
            requirements.Add(new ResourceRequirement { Type = "VCPU", Value = v.ToString(System.Globalization.CultureInfo.InvariantCulture) });
        }

        if (memoryChanged && MemoryMiB is { } m)
        {
            requirements.Add(new ResourceRequirement { Type = "MEMORY", Value = m.ToString(System.Globalization.CultureInfo.InvariantCulture) });
        }

        overrides.ResourceRequirements = requirements.Count > 0 ? requirements : null;
        return new SubmitJobRequest
        {
            JobName = Name?.Trim(),
            JobQueue = Queue,
            JobDefinition = Definition,
            ContainerOverrides = overrides.Command is null && overrides.ResourceRequirements is null ? null : overrides,
        };
    }

    private JobDefinition? Selected() => _definitions.FirstOrDefault(d => $"{d.Name}:{d.Revision}" == Definition);

    private void DefinitionChanged()
    {
        if (Selected() is { } d)
        {
            Command = [.. d.ContainerProperties.Command];
            CommandText = CommandLine.ToSpaceDelimited(Command);
            Vcpus = (int)Math.Round(d.ContainerProperties.EffectiveVcpus);
            MemoryMiB = d.ContainerProperties.EffectiveMemoryMiB;
        }

        Revalidate();
    }

    private void CommandChanged()
    {
        var parsed = CommandLine.SplitSpaceDelimited(CommandText);
        CommandError = parsed.Error?.Message;
        if (parsed.Value is { } args)
        {
            Command = args;
        }
    }

    private void Revalidate()
    {
        if (!_submitted)
        {
            return;
        }

        var errors = new List<FieldError>();
        if (Names.CheckJobName(Name) is { } e)
        {
            errors.Add(new("jobName", e));
        }

        if (string.IsNullOrEmpty(Queue))
        {
            errors.Add(new("jobQueue", "Job queue is required."));
        }

        if (string.IsNullOrEmpty(Definition))
        {
            errors.Add(new("jobDefinition", "Job definition is required."));
        }

        Errors.Set(errors);
    }

    private async Task SubmitAsync()
    {
        _submitted = true;
        Revalidate();
        if (Errors.Any || CommandError is not null)
        {
            return;
        }

        _saving = true;
        try
        {
            var result = await Jobs.SubmitAsync(ToRequest(), await Access.ActorAsync());
            if (!Errors.Accept(result, Snackbar))
            {
                return;
            }

            Snackbar.Add($"Job {result.Value!.Name} submitted.", Severity.Success);
            Navigation.NavigateTo($"/jobs/{result.Value.Id}");
        }
        finally
        {
            _saving = false;
        }
    }
}
