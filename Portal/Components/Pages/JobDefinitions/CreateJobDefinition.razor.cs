using BatchPortal.Engine.Domain;
using BatchPortal.Engine.Resources;
using BatchPortal.Portal.Components.Shared;
using Microsoft.AspNetCore.Components;
using MudBlazor;

namespace BatchPortal.Portal.Components.Pages.JobDefinitions;

public partial class CreateJobDefinition
{
    private bool _saving;
    private bool _submitted;
    private JobDefinition? _source;

    [Inject]
    private JobDefinitionService Definitions { get; set; } = default!;

    [Inject]
    private NavigationManager Navigation { get; set; } = default!;

    [Inject]
    private ISnackbar Snackbar { get; set; } = default!;

    /// <summary>"Create revision": <c>?from=name:revision</c> pre-fills the form from an existing revision.</summary>
    [SupplyParameterFromQuery(Name = "from")]
    public string? From { get; set; }

    internal FormErrors Errors { get; } = new();

    internal string? Name { get; set; }

    internal string? JobRole { get; set; }

    internal string? Image { get; set; } = "amazonlinux";

    internal int CommandTab { get; set; }

    internal string? CommandText { get; set; }

    internal string? CommandJson { get; set; } = "[]";

    internal List<string> Command { get; private set; } = [];

    internal string? CommandError { get; private set; }

    internal int Vcpus { get; set; } = 2;

    internal int MemoryMiB { get; set; } = 2000;

    internal int Attempts { get; set; } = 1;

    internal int? TimeoutSeconds { get; set; }

    internal List<NameValue> Environment { get; } = [];

    internal List<NameValue> Parameters { get; } = [];

    private string CommandPreview => CommandLine.ToJson(Command);

    protected override async Task OnInitializedAsync()
    {
        if (From is null)
        {
            return;
        }

        var source = await Definitions.ResolveAsync(From);
        if (source.Value is not { } d)
        {
            Snackbar.Add(source.Error!.Message, Severity.Warning);
            return;
        }

        _source = d;
        var c = d.ContainerProperties;
        Name = d.Name;
        JobRole = c.JobRoleArn;
        Image = c.Image;
        Command = [.. c.Command];
        CommandText = CommandLine.ToSpaceDelimited(Command);
        CommandJson = CommandLine.ToJson(Command);
        Vcpus = (int)Math.Max(1, Math.Round(c.EffectiveVcpus));
        MemoryMiB = c.EffectiveMemoryMiB;
        Attempts = d.RetryStrategy?.Attempts ?? 1;
        TimeoutSeconds = d.Timeout?.AttemptDurationSeconds;
        Environment.AddRange(c.Environment.Select(e => new NameValue { Name = e.Name, Value = e.Value }));
        Parameters.AddRange(d.Parameters.Select(p => new NameValue { Name = p.Key, Value = p.Value }));
    }

    internal RegisterJobDefinitionRequest ToRequest()
    {
        // A revision keeps what the form does not show (volumes, mount points, user, ulimits, retry conditions, tags) from
        // the revision it started from; the form's fields replace the rest.
        var container = _source?.ContainerProperties.Clone() ?? new ContainerProperties();
        container.Image = Image?.Trim();
        container.Command = [.. Command];
        container.JobRoleArn = string.IsNullOrWhiteSpace(JobRole) ? null : JobRole.Trim();
        container.Environment = [.. Environment.Where(e => !string.IsNullOrWhiteSpace(e.Name) || !string.IsNullOrEmpty(e.Value)).Select(e => new EnvironmentVariable { Name = e.Name?.Trim(), Value = e.Value ?? string.Empty })];
        container.Vcpus = null;
        container.Memory = null;
        container.SetRequirement("VCPU", Vcpus.ToString(System.Globalization.CultureInfo.InvariantCulture));
        container.SetRequirement("MEMORY", MemoryMiB.ToString(System.Globalization.CultureInfo.InvariantCulture));
        return new RegisterJobDefinitionRequest
        {
            JobDefinitionName = Name?.Trim(),
            Type = "container",
            ContainerProperties = container,
            RetryStrategy = new RetryStrategy { Attempts = Attempts, EvaluateOnExit = [.. _source?.RetryStrategy?.EvaluateOnExit ?? []] },
            Timeout = TimeoutSeconds is { } t ? new JobTimeout { AttemptDurationSeconds = t } : null,
            Parameters = Parameters.Where(p => !string.IsNullOrWhiteSpace(p.Name)).GroupBy(p => p.Name!.Trim()).ToDictionary(g => g.Key, g => g.Last().Value ?? string.Empty),
            PropagateTags = _source?.PropagateTags,
            SchedulingPriority = _source?.SchedulingPriority,
            Tags = _source is { Tags.Count: > 0 } ? new Dictionary<string, string>(_source.Tags) : null,
        };
    }

    /// <summary>Both tabs edit one command: whichever changed is parsed, and the other tab is rewritten from the result.</summary>
    private void CommandChanged()
    {
        var parsed = CommandTab == 0 ? CommandLine.SplitSpaceDelimited(CommandText) : CommandLine.ParseJson(CommandJson);
        if (parsed.Value is { } args)
        {
            Command = args;
            CommandError = null;
            if (CommandTab == 0)
            {
                CommandJson = CommandLine.ToJson(args);
            }
            else
            {
                CommandText = CommandLine.ToSpaceDelimited(args);
            }
        }
        else
        {
            CommandError = parsed.Error!.Message;
        }

        Revalidate();
    }

    private void AddEnvironment() => Environment.Add(new NameValue());

    private void RemoveEnvironment(int index)
    {
        Environment.RemoveAt(index);
        Revalidate();
    }

    private void Revalidate()
    {
        if (_submitted)
        {
            Errors.Set(JobDefinitionService.Validate(ToRequest()));
        }
    }

    private async Task CreateAsync()
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
            var result = await Definitions.RegisterAsync(ToRequest());
            if (result.Error is ValidationFailed failed)
            {
                Errors.Set(failed.Errors);
                return;
            }

            if (result.Error is { } error)
            {
                Snackbar.Add(error.Message, Severity.Error);
                return;
            }

            Snackbar.Add($"Job definition {result.Value!.Name}:{result.Value.Revision} registered.", Severity.Success);
            Navigation.NavigateTo($"/job-definitions/{Uri.EscapeDataString(result.Value.Name)}");
        }
        finally
        {
            _saving = false;
        }
    }

    internal sealed class NameValue
    {
        public string? Name { get; set; }

        public string? Value { get; set; }
    }
}
