using System.Globalization;
using System.Text.Json;
using BatchPortal.Engine.Domain;
using BatchPortal.Engine.Resources;
using BatchPortal.Portal.Api;
using BatchPortal.Portal.Components.Shared;
using Microsoft.AspNetCore.Components;
using MudBlazor;

namespace BatchPortal.Portal.Components.Pages.JobDefinitions;

/// <summary>
/// The create-job-definition wizard at console depth, with a JSON view of the whole definition in AWS's shape that can
/// be edited and registered as is.
/// </summary>
public partial class CreateJobDefinition
{
    private static readonly JsonSerializerOptions Indented = new(AwsJson.Options) { WriteIndented = true };
    private bool _saving;
    private bool _submitted;
    private JobDefinition? _source;
    private int _editorTab;

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

    internal List<NameValue> Tags { get; } = [];

    internal List<EvaluateOnExit> RetryConditions { get; } = [];

    internal string? User { get; set; }

    internal bool Privileged { get; set; }

    internal bool ReadonlyRootFilesystem { get; set; }

    /// <summary>Volumes as name (Name) and host source path (Value).</summary>
    internal List<NameValue> Volumes { get; } = [];

    internal List<MountRow> MountPoints { get; } = [];

    internal List<Ulimit> Ulimits { get; } = [];

    /// <summary>0: the form; 1: the JSON view.</summary>
    internal int EditorTab
    {
        get => _editorTab;
        set
        {
            if (value == 1 && _editorTab != 1)
            {
                RefreshJson();
            }

            _editorTab = value;
        }
    }

    internal string? Json { get; set; }

    internal string? JsonError { get; private set; }

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
        Fill(new RegisterJobDefinitionRequest
        {
            JobDefinitionName = d.Name,
            Type = d.Type,
            ContainerProperties = d.ContainerProperties,
            Parameters = d.Parameters,
            RetryStrategy = d.RetryStrategy,
            Timeout = d.Timeout,
            PropagateTags = d.PropagateTags,
            SchedulingPriority = d.SchedulingPriority,
            Tags = d.Tags,
        });
    }

    /// <summary>Puts a definition's values into the form's fields.</summary>
    private void Fill(RegisterJobDefinitionRequest r)
    {
        var c = r.ContainerProperties ?? new ContainerProperties();
        Name = r.JobDefinitionName;
        JobRole = c.JobRoleArn;
        Image = c.Image;
        Command = [.. c.Command];
        CommandText = CommandLine.ToSpaceDelimited(Command);
        CommandJson = CommandLine.ToJson(Command);
        Vcpus = (int)Math.Max(1, Math.Round(c.EffectiveVcpus));
        MemoryMiB = c.EffectiveMemoryMiB;
        Attempts = r.RetryStrategy?.Attempts ?? 1;
        TimeoutSeconds = r.Timeout?.AttemptDurationSeconds;
        User = c.User;
        Privileged = c.Privileged == true;
        ReadonlyRootFilesystem = c.ReadonlyRootFilesystem == true;
        Reset(Environment, c.Environment.Select(e => new NameValue { Name = e.Name, Value = e.Value }));
        Reset(Parameters, NameValue.From(r.Parameters ?? []));
        Reset(Tags, NameValue.From(r.Tags ?? []));
        Reset(RetryConditions, (r.RetryStrategy?.EvaluateOnExit ?? []).Select(e => new EvaluateOnExit { OnExitCode = e.OnExitCode, OnReason = e.OnReason, OnStatusReason = e.OnStatusReason, Action = e.Action?.ToUpperInvariant() }));
        Reset(Volumes, c.Volumes.Select(v => new NameValue { Name = v.Name, Value = v.Host?.SourcePath }));
        Reset(MountPoints, c.MountPoints.Select(m => new MountRow { ContainerPath = m.ContainerPath, SourceVolume = m.SourceVolume, ReadOnly = m.ReadOnly == true }));
        Reset(Ulimits, c.Ulimits.Select(u => new Ulimit { Name = u.Name, SoftLimit = u.SoftLimit, HardLimit = u.HardLimit }));
    }

    private static void Reset<T>(List<T> list, IEnumerable<T> items)
    {
        list.Clear();
        list.AddRange(items);
    }

    internal RegisterJobDefinitionRequest ToRequest()
    {
        // A revision keeps what the form does not show (execution role, other resource requirements, ...) from the
        // revision it started from; the form's fields replace the rest.
        var container = _source?.ContainerProperties.Clone() ?? new ContainerProperties();
        container.Image = Image?.Trim();
        container.Command = [.. Command];
        container.JobRoleArn = string.IsNullOrWhiteSpace(JobRole) ? null : JobRole.Trim();
        container.Environment = [.. Environment.Where(e => !string.IsNullOrWhiteSpace(e.Name) || !string.IsNullOrEmpty(e.Value)).Select(e => new EnvironmentVariable { Name = e.Name?.Trim(), Value = e.Value ?? string.Empty })];
        container.Vcpus = null;
        container.Memory = null;
        container.SetRequirement("VCPU", Vcpus.ToString(CultureInfo.InvariantCulture));
        container.SetRequirement("MEMORY", MemoryMiB.ToString(CultureInfo.InvariantCulture));
        container.User = string.IsNullOrWhiteSpace(User) ? null : User.Trim();
        container.Privileged = Privileged ? true : _source?.ContainerProperties.Privileged is null ? null : false;
        container.ReadonlyRootFilesystem = ReadonlyRootFilesystem ? true : _source?.ContainerProperties.ReadonlyRootFilesystem is null ? null : false;
        container.Volumes = [.. Volumes.Where(v => !string.IsNullOrWhiteSpace(v.Name) || !string.IsNullOrWhiteSpace(v.Value)).Select(v => new Volume { Name = v.Name?.Trim(), Host = string.IsNullOrWhiteSpace(v.Value) ? null : new BatchPortal.Engine.Domain.Host { SourcePath = v.Value.Trim() } })];
        container.MountPoints = [.. MountPoints.Where(m => !string.IsNullOrWhiteSpace(m.ContainerPath) || m.SourceVolume is not null).Select(m => new MountPoint { ContainerPath = m.ContainerPath?.Trim(), SourceVolume = m.SourceVolume, ReadOnly = m.ReadOnly })];
        container.Ulimits = [.. Ulimits.Select(u => new Ulimit { Name = u.Name, SoftLimit = u.SoftLimit, HardLimit = u.HardLimit })];
        return new RegisterJobDefinitionRequest
        {
            JobDefinitionName = Name?.Trim(),
            Type = "container",
            ContainerProperties = container,
            RetryStrategy = new RetryStrategy
            {
                Attempts = Attempts,
                EvaluateOnExit = RetryConditionRows.ToRequest(RetryConditions),
            },
            Timeout = TimeoutSeconds is { } t ? new JobTimeout { AttemptDurationSeconds = t } : null,
            Parameters = NameValue.ToDictionary(Parameters),
            PropagateTags = _source?.PropagateTags,
            SchedulingPriority = _source?.SchedulingPriority,
            Tags = Tags.Count > 0 ? NameValue.ToDictionary(Tags) : null,
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

    private void AddVolume() => Volumes.Add(new NameValue());

    private void RemoveVolume(int index)
    {
        Volumes.RemoveAt(index);
        Revalidate();
    }

    private void AddMount() => MountPoints.Add(new MountRow());

    private void RemoveMount(int index)
    {
        MountPoints.RemoveAt(index);
        Revalidate();
    }

    private void AddUlimit() => Ulimits.Add(new Ulimit { Name = "nofile", SoftLimit = 1024, HardLimit = 4096 });

    private void RemoveUlimit(int index)
    {
        Ulimits.RemoveAt(index);
        Revalidate();
    }

    internal void RefreshJson()
    {
        Json = JsonSerializer.Serialize(ToRequest(), Indented);
        JsonError = null;
    }

    internal RegisterJobDefinitionRequest? ParseJson()
    {
        try
        {
            var request = JsonSerializer.Deserialize<RegisterJobDefinitionRequest>(Json ?? "{}", AwsJson.Options);
            JsonError = request is null ? "The JSON is empty." : null;
            return request;
        }
        catch (JsonException ex)
        {
            var member = string.IsNullOrEmpty(ex.Path) || ex.Path == "$" ? "the definition" : ex.Path.TrimStart('$', '.');
            JsonError = $"The JSON cannot be read at {member}: {ex.Message.Split(" Path:")[0]}";
            return null;
        }
    }

    private void LoadJsonIntoForm()
    {
        if (ParseJson() is { } request)
        {
            _source = null;
            Fill(request);
            EditorTab = 0;
            Revalidate();
        }
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
        RegisterJobDefinitionRequest request;
        if (EditorTab == 1)
        {
            if (ParseJson() is not { } fromJson)
            {
                return;
            }

            request = fromJson;
            Errors.Set(JobDefinitionService.Validate(request));
        }
        else
        {
            Revalidate();
            if (CommandError is not null)
            {
                return;
            }

            request = ToRequest();
        }

        if (Errors.Any)
        {
            return;
        }

        _saving = true;
        try
        {
            var result = await Definitions.RegisterAsync(request, await Access.ActorAsync());
            if (!Errors.Accept(result, Snackbar))
            {
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

    internal sealed class MountRow
    {
        public string? ContainerPath { get; set; }

        public string? SourceVolume { get; set; }

        public bool ReadOnly { get; set; }
    }
}
