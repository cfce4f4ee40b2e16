using System.Globalization;
using System.Text.Json;
using BatchPortal.Engine.Domain;
using BatchPortal.Engine.Jobs;
using BatchPortal.Engine.Resources;
using BatchPortal.Engine.Storage;
using BatchPortal.Portal.Components.Shared;
using Microsoft.AspNetCore.Components;
using MudBlazor;

namespace BatchPortal.Portal.Components.Pages.Jobs;

/// <summary>
/// The submit form: every member of SubmitJob a person sets by hand (array size, dependencies picked from recent jobs,
/// overrides, parameters, retries, timeout, tags, scheduling priority), a review of the request as JSON, and "Clone job"
/// (<c>?clone=jobId</c>), which fills all of it in from a job as it was submitted.
/// </summary>
public partial class SubmitJob
{
    private static readonly JsonSerializerOptions ReviewOptions = new(BatchPortal.Portal.Api.AwsJson.Options) { WriteIndented = true };
    private readonly Dictionary<string, JobHit> _picked = new(StringComparer.Ordinal);
    private IReadOnlyList<JobDefinition> _definitions = [];
    private IReadOnlyList<JobQueue> _queues = [];
    private bool _saving;
    private bool _submitted;
    private bool _reviewing;

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

    [Inject]
    private JobQueries JobStore { get; set; } = default!;

    [SupplyParameterFromQuery(Name = "queue")]
    public string? QueryQueue { get; set; }

    [SupplyParameterFromQuery(Name = "definition")]
    public string? QueryDefinition { get; set; }

    /// <summary>"Clone job": <c>?clone=jobId</c> pre-fills the form from that job as it was submitted.</summary>
    [SupplyParameterFromQuery(Name = "clone")]
    public string? Clone { get; set; }

    /// <summary>A job name to start with (the dashboard's sample set-up gives one).</summary>
    [SupplyParameterFromQuery(Name = "name")]
    public string? QueryName { get; set; }

    /// <summary>"Submit a job that depends on this one": <c>?dependsOn=jobId</c>.</summary>
    [SupplyParameterFromQuery(Name = "dependsOn")]
    public string? QueryDependsOn { get; set; }

    internal FormErrors Errors { get; } = new();

    internal string? Name { get; set; }

    internal string? Definition { get; set; }

    internal string? Queue { get; set; }

    internal string? CommandText { get; set; }

    internal List<string> Command { get; private set; } = [];

    internal string? CommandError { get; private set; }

    internal int? Vcpus { get; set; }

    internal int? MemoryMiB { get; set; }

    internal int? ArraySize { get; set; }

    internal List<JobDependency> Dependencies { get; } = [];

    internal List<NameValue> Environment { get; } = [];

    internal List<NameValue> Parameters { get; } = [];

    internal bool OverrideRetry { get; set; }

    internal int? Attempts { get; set; }

    internal List<EvaluateOnExit> RetryConditions { get; } = [];

    internal int? TimeoutSeconds { get; set; }

    internal int? SchedulingPriority { get; set; }

    /// <summary>Null keeps the definition's <c>propagateTags</c>.</summary>
    internal bool? PropagateTags { get; set; }

    internal List<NameValue> Tags { get; } = [];

    private string ReviewJson => JsonSerializer.Serialize(ToRequest(), ReviewOptions);

    private string PropagateLabel => PropagateTags switch
    {
        true => "Propagate tags: the job's and the definition's tags go to its containers",
        false => "Propagate tags: off for this job",
        null => $"Propagate tags: as the definition says ({(Selected()?.PropagateTags == true ? "on" : "off")})",
    };

    private string DefinitionRetryText => Selected()?.RetryStrategy is { } retry
        ? $"The definition's: {retry.Attempts ?? 1} attempt(s){(retry.EvaluateOnExit.Count > 0 ? $", {retry.EvaluateOnExit.Count} condition(s)" : "")}."
        : "The definition has none: one attempt.";

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

        Name = QueryName;
        if (Clone is not null)
        {
            await CloneFromAsync(Clone);
        }

        if (QueryDependsOn is { Length: > 0 } dependsOn)
        {
            Dependencies.Add(new JobDependency { JobId = dependsOn });
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
        var definition = _definitions.FirstOrDefault(d => $"{d.Name}:{d.Revision}" == source);
        if (definition is not null)
        {
            Definition = source;
            DefinitionChanged();
        }
        else
        {
            Snackbar.Add($"Job definition {source} is INACTIVE; pick another revision.", Severity.Warning);
        }

        Command = [.. job.Container.Command];
        CommandText = CommandLine.ToSpaceDelimited(Command);
        Vcpus = (int)Math.Round(job.Vcpus);
        MemoryMiB = job.MemoryMiB;
        ArraySize = job.ArraySize;
        Reset(Dependencies, job.DependsOn.Select(d => new JobDependency { JobId = d.JobId, Type = d.Type?.ToUpperInvariant() }));

        // What the job had beyond its definition: those are what its submission gave.
        var definitionEnvironment = definition?.ContainerProperties.Environment ?? [];
        Reset(Environment, job.Container.Environment
            .Where(e => !definitionEnvironment.Any(d => d.Name == e.Name && d.Value == e.Value))
            .Select(e => new NameValue { Name = e.Name, Value = e.Value }));
        Reset(Parameters, job.Parameters.Select(p => new NameValue { Name = p.Key, Value = p.Value }));
        if (job.RetryStrategy is { } retry && !SameRetry(retry, definition?.RetryStrategy))
        {
            OverrideRetry = true;
            Attempts = retry.Attempts;
            Reset(RetryConditions, retry.EvaluateOnExit.Select(e => new EvaluateOnExit { OnExitCode = e.OnExitCode, OnReason = e.OnReason, OnStatusReason = e.OnStatusReason, Action = e.Action?.ToUpperInvariant() }));
        }

        TimeoutSeconds = job.Timeout?.AttemptDurationSeconds == definition?.Timeout?.AttemptDurationSeconds ? null : job.Timeout?.AttemptDurationSeconds;
        SchedulingPriority = job.SchedulingPriority == definition?.SchedulingPriority ? null : job.SchedulingPriority;
        PropagateTags = definition is not null && job.PropagateTags == definition.PropagateTags ? null : job.PropagateTags;
        var definitionTags = job.PropagateTags && definition is not null ? definition.Tags : new Dictionary<string, string>();
        Reset(Tags, job.Tags.Where(t => !(definitionTags.TryGetValue(t.Key, out var v) && v == t.Value)).Select(t => new NameValue { Name = t.Key, Value = t.Value }));
        foreach (var dep in job.DependsOn.Where(d => d.JobId is not null))
        {
            if ((await JobStore.SearchAsync(dep.JobId, 1)).FirstOrDefault(h => h.Id == dep.JobId) is { } hit)
            {
                _picked[hit.Id] = hit;
            }
        }
    }

    private static bool SameRetry(RetryStrategy a, RetryStrategy? b) =>
        b is not null && JsonSerializer.Serialize(a) == JsonSerializer.Serialize(b);

    private static void Reset<T>(List<T> list, IEnumerable<T> items)
    {
        list.Clear();
        list.AddRange(items);
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
            requirements.Add(new ResourceRequirement { Type = "VCPU", Value = v.ToString(CultureInfo.InvariantCulture) });
        }

        if (memoryChanged && MemoryMiB is { } m)
        {
            requirements.Add(new ResourceRequirement { Type = "MEMORY", Value = m.ToString(CultureInfo.InvariantCulture) });
        }

        overrides.ResourceRequirements = requirements.Count > 0 ? requirements : null;
        var environment = Environment.Where(e => !string.IsNullOrWhiteSpace(e.Name)).Select(e => new EnvironmentVariable { Name = e.Name!.Trim(), Value = e.Value ?? string.Empty }).ToList();
        overrides.Environment = environment.Count > 0 ? environment : null;
        var parameters = NameValue.ToDictionary(Parameters);
        var definitionParameters = definition?.Parameters ?? new Dictionary<string, string>();
        var changedParameters = parameters.Where(p => !(definitionParameters.TryGetValue(p.Key, out var d) && d == p.Value)).ToDictionary(p => p.Key, p => p.Value);
        var tags = NameValue.ToDictionary(Tags);
        var dependsOn = Dependencies
            .Where(d => d.Type == JobService.Sequential || !string.IsNullOrWhiteSpace(d.JobId))
            .Select(d => new JobDependency { JobId = d.Type == JobService.Sequential ? null : d.JobId!.Trim(), Type = d.Type })
            .ToList();
        return new SubmitJobRequest
        {
            JobName = Name?.Trim(),
            JobQueue = Queue,
            JobDefinition = Definition,
            ArrayProperties = ArraySize is { } size ? new ArrayProperties { Size = size } : null,
            DependsOn = dependsOn.Count > 0 ? dependsOn : null,
            Parameters = changedParameters.Count > 0 ? changedParameters : null,
            ContainerOverrides = overrides.Command is null && overrides.ResourceRequirements is null && overrides.Environment is null ? null : overrides,
            RetryStrategy = OverrideRetry
                ? new RetryStrategy
                {
                    Attempts = Attempts,
                    EvaluateOnExit = RetryConditionRows.ToRequest(RetryConditions),
                }
                : null,
            Timeout = TimeoutSeconds is { } seconds ? new JobTimeout { AttemptDurationSeconds = seconds } : null,
            SchedulingPriorityOverride = SchedulingPriority,
            PropagateTags = PropagateTags,
            Tags = tags.Count > 0 ? tags : null,
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

            // The definition's defaults, to be changed in place; a value the user gave for a name it has is kept.
            var given = NameValue.ToDictionary(Parameters);
            Reset(Parameters, d.Parameters.Select(p => new NameValue { Name = p.Key, Value = given.GetValueOrDefault(p.Key, p.Value) })
                .Concat(given.Where(g => !d.Parameters.ContainsKey(g.Key)).Select(g => new NameValue { Name = g.Key, Value = g.Value })));
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

    private void AddDependency() => Dependencies.Add(new JobDependency());

    private void RemoveDependency(int index)
    {
        Dependencies.RemoveAt(index);
        Revalidate();
    }

    /// <summary>The dependency picker: recent jobs first, then those whose id or name starts with what was typed.</summary>
    private async Task<IEnumerable<string>> SearchJobsAsync(string? text, CancellationToken ct)
    {
        var hits = string.IsNullOrWhiteSpace(text) ? await JobStore.RecentAsync(10, ct) : await JobStore.SearchAsync(text, 10, ct);
        foreach (var hit in hits)
        {
            _picked[hit.Id] = hit;
        }

        return hits.Select(h => h.Id);
    }

    private string DescribePick(string? id) =>
        id is null ? string.Empty
        : _picked.TryGetValue(id, out var hit) ? $"{hit.Name} · {hit.Id} · {hit.Status.ToWire()}{(hit.ArraySize is { } n ? $" · array of {n}" : "")}"
        : id;

    private void Revalidate()
    {
        if (!_submitted)
        {
            return;
        }

        var errors = JobService.Validate(ToRequest()).ToList();
        if (string.IsNullOrEmpty(Queue))
        {
            errors.Add(new("jobQueue", "Job queue is required."));
        }

        if (string.IsNullOrEmpty(Definition))
        {
            errors.Add(new("jobDefinition", "Job definition is required."));
        }

        foreach (var (dep, i) in Dependencies.Select((d, i) => (d, i)))
        {
            if (dep.Type != JobService.Sequential && string.IsNullOrWhiteSpace(dep.JobId))
            {
                errors.Add(new($"dependsOn[{i}].jobId", "Pick the job this one waits for, or remove the row."));
            }
        }

        Errors.Set(errors);
    }

    private void ToggleReview()
    {
        _submitted = true;
        Revalidate();
        _reviewing = !_reviewing && !Errors.Any && CommandError is null;
    }

    private async Task SubmitAsync()
    {
        _submitted = true;
        Revalidate();
        if (Errors.Any || CommandError is not null)
        {
            _reviewing = false;
            return;
        }

        _saving = true;
        try
        {
            var result = await Jobs.SubmitAsync(ToRequest(), await Access.ActorAsync());
            if (!Errors.Accept(result, Snackbar))
            {
                _reviewing = false;
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
