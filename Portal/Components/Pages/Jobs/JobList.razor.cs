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

/// <summary>The job list: filters kept in the URL, keyset paging, live updates, and acting on many jobs at once.</summary>
public sealed partial class JobList
{
    private const int PageSize = 50;
    private const int MaxBulk = 10_000;
    private readonly HashSet<string> _selected = new(StringComparer.Ordinal);
    private IReadOnlyList<JobQueue> _queues = [];
    private JobPage _page = new([], null);
    private int _total;
    private string? _queue;
    private IReadOnlyCollection<string> _statuses = new List<string>().AsReadOnly();
    private string? _name;
    private string? _definition;
    private string? _from;
    private string? _to;
    private int? _exitCode;
    private string? _filterError;
    private JobFilter _filter = new();
    private int _filterVersion;
    private int _waiting;
    private int _running;
    private string? _goTo;
    private string _sort = "created";
    private bool _descending = true;
    private DateTimeOffset _now;

    private static readonly JobStatus[] Waiting = [JobStatus.Submitted, JobStatus.Pending, JobStatus.Runnable];
    private static readonly JobStatus[] Running = [JobStatus.Starting, JobStatus.Running];

    /// <summary>The sortable columns, by their key in <c>?sort=</c>.</summary>
    private static readonly (string Key, string Label)[] Columns =
    [
        ("name", "Job name"), ("id", "Job ID"), ("status", "Status"), ("reason", "Status reason"), ("queue", "Job queue"),
        ("definition", "Job definition"), ("created", "Created"), ("duration", "Duration"), ("exit", "Exit code"),
    ];

    [Inject]
    private TimeProvider Time { get; set; } = default!;

    [Inject]
    private JobQueries Jobs { get; set; } = default!;

    [Inject]
    private JobService JobService { get; set; } = default!;

    [Inject]
    private SharedReads Reads { get; set; } = default!;

    [Inject]
    private JobQueueService Queues { get; set; } = default!;

    [Inject]
    private NavigationManager Navigation { get; set; } = default!;

    [Inject]
    private IDialogService Dialogs { get; set; } = default!;

    [Inject]
    private ISnackbar Snackbar { get; set; } = default!;

    [SupplyParameterFromQuery(Name = "queue")]
    public string? Queue { get; set; }

    /// <summary>One or more statuses, comma separated: <c>?status=RUNNABLE,FAILED</c>.</summary>
    [SupplyParameterFromQuery(Name = "status")]
    public string? Status { get; set; }

    [SupplyParameterFromQuery(Name = "name")]
    public string? Name { get; set; }

    [SupplyParameterFromQuery(Name = "definition")]
    public string? Definition { get; set; }

    /// <summary>Created after, ISO 8601 (UTC when no offset is given).</summary>
    [SupplyParameterFromQuery(Name = "from")]
    public string? From { get; set; }

    [SupplyParameterFromQuery(Name = "to")]
    public string? To { get; set; }

    [SupplyParameterFromQuery(Name = "exit")]
    public int? Exit { get; set; }

    /// <summary>The column the page is sorted by (<see cref="Columns"/>); newest first when absent.</summary>
    [SupplyParameterFromQuery(Name = "sort")]
    public string? Sort { get; set; }

    [SupplyParameterFromQuery(Name = "desc")]
    public bool? Descending { get; set; }

    /// <summary>The paging cursor: jobs older than this position.</summary>
    [SupplyParameterFromQuery(Name = "before")]
    public long? Before { get; set; }

    private string SubmitHref => Queue is null ? "/jobs/new" : $"/jobs/new?queue={Uri.EscapeDataString(Queue)}";

    protected override async Task OnInitializedAsync()
    {
        _queues = await Queues.ListAsync();
        await base.OnInitializedAsync();
    }

    protected override async Task OnParametersSetAsync()
    {
        _queue = Queue;
        _statuses = (Status ?? string.Empty).Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToList();
        _name = Name;
        _definition = Definition;
        _from = From;
        _to = To;
        _exitCode = Exit;
        _sort = Columns.Any(c => c.Key == Sort) ? Sort! : "created";
        _descending = Descending ?? (Sort is null || _sort is "created" or "duration");
        _filter = BuildFilter(out _filterError);
        _filterVersion++;
        _selected.Clear();
        await LoadAsync();
    }

    protected override async Task LoadAsync()
    {
        // Every open list with this filter and page shares one read per change.
        var request = new PageRequest(PageSize, Before);
        var key = JsonSerializer.Serialize(new { _filter, request });
        (_page, _total, _waiting, _running) = await Reads.GetAsync(key, async () => (
            await Jobs.FindAsync(_filter, request),
            await Jobs.CountAsync(_filter),
            Only(_filter, Waiting) is { } waiting ? await Jobs.CountAsync(waiting) : 0,
            Only(_filter, Running) is { } running ? await Jobs.CountAsync(running) : 0));
        _now = Time.GetUtcNow();
    }

    /// <summary>The filter narrowed to some statuses (those it already allows, if it names any); null when it allows none of them.</summary>
    private static JobFilter? Only(JobFilter filter, JobStatus[] statuses) =>
        statuses.Where(s => filter.Statuses is null || filter.Statuses.Contains(s)).ToList() is { Count: > 0 } some ? filter with { Statuses = some } : null;

    /// <summary>The page's jobs in the chosen order. Paging stays newest first: sorting orders the page shown.</summary>
    private IEnumerable<Job> Sorted()
    {
        IEnumerable<Job> items = _page.Items;
        if (_sort == "created")
        {
            return _descending ? items : items.Reverse();
        }

        Func<Job, IComparable?> key = _sort switch
        {
            "name" => j => j.Name,
            "id" => j => j.Id,
            "status" => j => (int)j.Status,
            "reason" => j => j.StatusReason ?? string.Empty,
            "queue" => j => j.QueueName,
            "definition" => j => $"{j.JobDefinitionName}:{j.JobDefinitionRevision:D6}",
            "duration" => j => Durations.RunTime(j, _now) ?? TimeSpan.MinValue,
            "exit" => j => j.ExitCode ?? int.MinValue,
            _ => j => j.Seq,
        };
        return _descending ? items.OrderByDescending(key).ThenByDescending(j => j.Seq) : items.OrderBy(key).ThenByDescending(j => j.Seq);
    }

    private void SortBy(string key)
    {
        var descending = _sort == key ? !_descending : key is "created" or "duration";
        Navigation.NavigateTo(Navigation.GetUriWithQueryParameters(new Dictionary<string, object?>
        {
            ["sort"] = key == "created" && descending ? null : key,
            ["desc"] = key == "created" && descending ? null : descending,
        }));
    }

    /// <summary>All of the page selected (true), none (false) or some (null).</summary>
    private bool? PageSelection =>
        _page.Items.Count > 0 && _page.Items.All(j => _selected.Contains(j.Id)) ? true
        : _page.Items.Any(j => _selected.Contains(j.Id)) ? null
        : false;

    private void SelectPage(bool? value)
    {
        // From "some" or "none" a click selects the page; from "all" it clears it.
        if (PageSelection == true)
        {
            _selected.Clear();
        }
        else
        {
            _selected.UnionWith(_page.Items.Select(j => j.Id));
        }
    }

    private async Task GoToJobAsync()
    {
        if (string.IsNullOrWhiteSpace(_goTo))
        {
            return;
        }

        var wanted = Arns.NameFrom(_goTo.Trim(), "job");
        var hits = await Jobs.SearchAsync(wanted, 2);
        var hit = hits.FirstOrDefault(h => h.Id == wanted) ?? (hits.Count == 1 && hits[0].Id.StartsWith(wanted, StringComparison.Ordinal) ? hits[0] : null);
        if (hit is not null)
        {
            Navigation.NavigateTo($"/jobs/{hit.Id}");
            return;
        }

        Snackbar.Add(hits.Count == 0 ? $"No job has the ID {wanted}." : $"More than one job's ID starts with {wanted}; give more of it.", Severity.Warning);
    }

    private JobFilter BuildFilter(out string? error)
    {
        error = null;
        var statuses = new List<JobStatus>();
        foreach (var s in _statuses)
        {
            if (JobStatusExtensions.TryParseWire(s, out var parsed))
            {
                statuses.Add(parsed);
            }
            else
            {
                error = $"Status '{s}' is not a job status.";
            }
        }

        return new JobFilter
        {
            Queue = string.IsNullOrWhiteSpace(_queue) ? null : _queue,
            Statuses = statuses.Count > 0 ? statuses : null,
            NamePrefix = string.IsNullOrWhiteSpace(_name) ? null : _name.Trim(),
            JobDefinition = string.IsNullOrWhiteSpace(_definition) ? null : Arns.NameFrom(_definition.Trim(), "job-definition"),
            CreatedAfter = ParseTime(_from, "Created after", ref error),
            CreatedBefore = ParseTime(_to, "Created before", ref error),
            ExitCode = _exitCode,
            TopLevelOnly = true,
        };
    }

    private static DateTimeOffset? ParseTime(string? value, string label, ref string? error)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            return null;
        }

        if (DateTimeOffset.TryParse(value, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var t))
        {
            return t;
        }

        error = $"{label} '{value}' is not a date and time.";
        return null;
    }

    private void ApplyFilter() => NavigateTo(before: null);

    private void ClearFilter()
    {
        _queue = null;
        _statuses = [];
        _name = _definition = _from = _to = null;
        _exitCode = null;
        _filterVersion++;
        NavigateTo(before: null);
    }

    private void NextPage() => NavigateTo(_page.NextBeforeSeq);

    private void FirstPage() => NavigateTo(before: null);

    private void NavigateTo(long? before) =>
        Navigation.NavigateTo(Navigation.GetUriWithQueryParameters(new Dictionary<string, object?>
        {
            ["queue"] = string.IsNullOrWhiteSpace(_queue) ? null : _queue,
            ["status"] = _statuses.Count > 0 ? string.Join(',', _statuses) : null,
            ["name"] = string.IsNullOrWhiteSpace(_name) ? null : _name,
            ["definition"] = string.IsNullOrWhiteSpace(_definition) ? null : _definition,
            ["from"] = string.IsNullOrWhiteSpace(_from) ? null : _from,
            ["to"] = string.IsNullOrWhiteSpace(_to) ? null : _to,
            ["exit"] = _exitCode,
            ["before"] = before,
        }));

    private void Toggle(string jobId, bool selected)
    {
        if (selected)
        {
            _selected.Add(jobId);
        }
        else
        {
            _selected.Remove(jobId);
        }
    }

    private async Task ActOnSelectedAsync(bool terminate) => await ActAsync([.. _selected], terminate);

    private async Task ActOnAllAsync(bool terminate)
    {
        // Cancel reaches the jobs that wait, terminate the ones that run: each button says how many.
        var ids = Only(_filter, terminate ? Running : Waiting) is { } matching ? await Jobs.FindIdsAsync(matching, MaxBulk) : [];
        await ActAsync(ids, terminate);
    }

    private async Task ActAsync(IReadOnlyList<string> ids, bool terminate)
    {
        var verb = terminate ? "Terminate" : "Cancel";
        var reason = await Dialogs.ConfirmAsync(
            $"{verb} {ids.Count} job(s)?",
            terminate
                ? "Jobs that have not started fail at once; running containers are stopped (SIGTERM, then SIGKILL). Finished jobs are left as they are."
                : "Jobs that have not started (SUBMITTED, PENDING, RUNNABLE) fail with your reason; jobs already starting or running go on.",
            $"{verb} {ids.Count}",
            ids,
            reason: terminate ? "Terminated from the console" : "Cancelled from the console");
        if (reason is null)
        {
            return;
        }

        var changed = 0;
        var by = await Access.ActorAsync();
        string? refused = null;
        foreach (var id in ids)
        {
            var result = terminate ? await JobService.TerminateAsync(id, reason, by) : await JobService.CancelAsync(id, reason, by);
            changed += result.Value ? 1 : 0;
            refused ??= result.Error is AccessDenied denied ? denied.Message : null;
        }

        _selected.Clear();
        Snackbar.Add(refused ?? $"{verb}: {changed} of {ids.Count} job(s) affected.", refused is null ? Severity.Info : Severity.Error);
        await LoadAsync();
    }
}
