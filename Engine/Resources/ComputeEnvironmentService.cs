using BatchPortal.Engine.Access;
using BatchPortal.Engine.Domain;
using BatchPortal.Engine.Notifications;
using BatchPortal.Engine.Storage;
using Microsoft.EntityFrameworkCore;

namespace BatchPortal.Engine.Resources;

/// <summary>What a caller asks for when creating a compute environment; AWS's <c>CreateComputeEnvironment</c> members.</summary>
public sealed class CreateComputeEnvironmentRequest
{
    public string? ComputeEnvironmentName { get; set; }

    /// <summary>MANAGED or UNMANAGED.</summary>
    public string? Type { get; set; }

    /// <summary>ENABLED (default) or DISABLED.</summary>
    public string? State { get; set; }

    public string? ServiceRole { get; set; }

    public ComputeResources? ComputeResources { get; set; }

    public int? UnmanagedvCpus { get; set; }

    /// <summary>The Docker engine for this environment; empty for the portal's default.</summary>
    public string? DockerEndpoint { get; set; }

    public Dictionary<string, string>? Tags { get; set; }
}

/// <summary>AWS's <c>UpdateComputeEnvironment</c> members; null members keep their value.</summary>
public sealed class UpdateComputeEnvironmentRequest
{
    public string? ComputeEnvironment { get; set; }

    public string? State { get; set; }

    public int? UnmanagedvCpus { get; set; }

    public ComputeResourceUpdate? ComputeResources { get; set; }

    public string? ServiceRole { get; set; }

    public string? DockerEndpoint { get; set; }
}

/// <summary>AWS's <c>ComputeResourceUpdate</c>: the members an update may change.</summary>
public sealed class ComputeResourceUpdate
{
    public int? MinvCpus { get; set; }

    public int? MaxvCpus { get; set; }

    public int? DesiredvCpus { get; set; }

    public List<string>? InstanceTypes { get; set; }

    public string? AllocationStrategy { get; set; }

    public string? InstanceRole { get; set; }

    public string? Ec2KeyPair { get; set; }

    public int? BidPercentage { get; set; }

    public string? Type { get; set; }
}

/// <summary>Compute environments: the rules, and the writes that follow them.</summary>
public sealed class ComputeEnvironmentService(
    IDbContextFactory<BatchDbContext> dbFactory,
    JobQueries jobs,
    IJobEventPublisher events,
    AuditTrail audit,
    TimeProvider time)
{
    public static readonly string[] ProvisioningModels = ["EC2", "SPOT"];

    public async Task<IReadOnlyList<ComputeEnvironment>> ListAsync(CancellationToken ct = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        return await db.ComputeEnvironments.AsNoTracking().OrderBy(c => c.Name).ToListAsync(ct);
    }

    public async Task<ComputeEnvironment?> GetAsync(string nameOrArn, CancellationToken ct = default)
    {
        var name = Arns.NameFrom(nameOrArn, "compute-environment");
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        return await db.ComputeEnvironments.AsNoTracking().FirstOrDefaultAsync(c => c.Name == name, ct);
    }

    /// <summary>Every rule a new compute environment must meet, by field. Empty when it is valid.</summary>
    public static List<FieldError> Validate(CreateComputeEnvironmentRequest r)
    {
        var errors = new List<FieldError>();
        Add(errors, "computeEnvironmentName", Names.CheckResourceName(r.ComputeEnvironmentName, "Compute environment name"));

        var type = r.Type?.ToUpperInvariant();
        if (type is not ("MANAGED" or "UNMANAGED"))
        {
            errors.Add(new("type", $"Compute environment type must be MANAGED or UNMANAGED{(string.IsNullOrEmpty(r.Type) ? "" : $", not '{r.Type}'")}."));
        }

        if (r.State is not null && !IsState(r.State))
        {
            errors.Add(new("state", $"State must be ENABLED or DISABLED, not '{r.State}'."));
        }

        if (type == "MANAGED")
        {
            if (r.ComputeResources is not { } cr)
            {
                errors.Add(new("computeResources", "A managed compute environment needs its compute resources (at least Maximum vCPUs)."));
            }
            else
            {
                ValidateComputeResources(cr, errors);
            }
        }
        else if (type == "UNMANAGED")
        {
            if (r.UnmanagedvCpus is not > 0)
            {
                errors.Add(new("unmanagedvCpus", $"An unmanaged compute environment needs its capacity: vCPUs must be greater than 0{(r.UnmanagedvCpus is { } given ? $", not {given}" : "")}."));
            }
        }

        Add(errors, "dockerEndpoint", CheckDockerEndpoint(r.DockerEndpoint));
        ValidateTags(r.Tags, errors);
        return errors;
    }

    public async Task<Result<ComputeEnvironment>> CreateAsync(CreateComputeEnvironmentRequest r, Actor? by = null, CancellationToken ct = default)
    {
        if (AccessPolicy.Refuse(by, Permission.ManageComputeEnvironments, "CreateComputeEnvironment") is { } refused)
        {
            return refused;
        }

        var result = await CreateUnauditedAsync(r, ct);
        if (result.IsSuccess)
        {
            await audit.RecordAsync(by, "CreateComputeEnvironment", r.ComputeEnvironmentName ?? string.Empty, null, ct);
        }

        return result;
    }

    private async Task<Result<ComputeEnvironment>> CreateUnauditedAsync(CreateComputeEnvironmentRequest r, CancellationToken ct)
    {
        var errors = Validate(r);
        if (errors.Count > 0)
        {
            return new ValidationFailed(errors);
        }

        var managed = r.Type!.Equals("MANAGED", StringComparison.OrdinalIgnoreCase);
        var resources = managed ? r.ComputeResources : null;
        if (resources is not null)
        {
            resources.Type = resources.Type.ToUpperInvariant();
            resources.MinvCpus ??= 0;
            resources.DesiredvCpus ??= resources.MinvCpus;
            if (resources.InstanceTypes.Count == 0)
            {
                resources.InstanceTypes.Add("optimal");
            }
        }

        var ce = new ComputeEnvironment
        {
            Name = r.ComputeEnvironmentName!,
            Type = managed ? ComputeEnvironmentType.Managed : ComputeEnvironmentType.Unmanaged,
            State = ParseState(r.State) ?? ResourceState.Enabled,
            Status = ResourceStatus.Creating,
            ServiceRole = NullIfEmpty(r.ServiceRole),
            ComputeResources = resources,
            UnmanagedvCpus = managed ? null : r.UnmanagedvCpus,
            DockerEndpoint = NullIfEmpty(r.DockerEndpoint),
            Tags = r.Tags ?? [],
            CreatedAt = time.GetUtcNow(),
        };

        await using var db = await dbFactory.CreateDbContextAsync(ct);
        if (await db.ComputeEnvironments.AnyAsync(c => c.Name == ce.Name, ct))
        {
            return new ValidationFailed("computeEnvironmentName", $"A compute environment named {ce.Name} already exists.");
        }

        db.ComputeEnvironments.Add(ce);
        try
        {
            await db.SaveChangesAsync(ct);
        }
        catch (DbUpdateException)
        {
            // Taken between the check and the insert: the unique index decides.
            return new ValidationFailed("computeEnvironmentName", $"A compute environment named {ce.Name} already exists.");
        }

        // CREATING → VALID, as AWS reports it; here there is nothing to provision, so the second step follows at once.
        await ChangedAsync(ce.Name);
        ce.Status = ResourceStatus.Valid;
        ce.StatusReason = "ComputeEnvironment Healthy";
        await db.SaveChangesAsync(ct);
        await ChangedAsync(ce.Name);
        return ce;
    }

    /// <summary>Changes what the request names and keeps the rest; the result must meet the same rules as a new one.</summary>
    public async Task<Result<ComputeEnvironment>> UpdateAsync(UpdateComputeEnvironmentRequest r, Actor? by = null, CancellationToken ct = default)
    {
        if (AccessPolicy.Refuse(by, Permission.ManageComputeEnvironments, "UpdateComputeEnvironment") is { } refused)
        {
            return refused;
        }

        var result = await UpdateUnauditedAsync(r, ct);
        if (result.IsSuccess)
        {
            await audit.RecordAsync(by, "UpdateComputeEnvironment", r.ComputeEnvironment ?? string.Empty, null, ct);
        }

        return result;
    }

    private Task<Result<ComputeEnvironment>> UpdateUnauditedAsync(UpdateComputeEnvironmentRequest r, CancellationToken ct) =>
        OnConflict.RetryAsync(() => UpdateOnceAsync(r, ct));

    /// <summary>
    /// The dispatcher's write of desired vCPUs, on the version it read: nothing is written when the environment was edited
    /// since (the edit stands; the next pass follows again). Only that member changes.
    /// </summary>
    public async Task<bool> TrySetDesiredvCpusAsync(string name, long version, int desired, CancellationToken ct = default)
    {
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var ce = await db.ComputeEnvironments.FirstOrDefaultAsync(c => c.Name == name && c.Version == version, ct);
        if (ce?.ComputeResources is not { } cr || cr.DesiredvCpus == desired)
        {
            return false;
        }

        ce.ComputeResources = CopyWithDesired(cr, desired);
        try
        {
            await db.SaveChangesAsync(ct);
        }
        catch (DbUpdateConcurrencyException)
        {
            return false;
        }

        await events.PublishAsync(new ResourceChanged("compute-environment", name));
        return true;
    }

    private static ComputeResources CopyWithDesired(ComputeResources cr, int desired) => new()
    {
        Type = cr.Type,
        MinvCpus = cr.MinvCpus,
        MaxvCpus = cr.MaxvCpus,
        DesiredvCpus = desired,
        InstanceTypes = cr.InstanceTypes,
        AllocationStrategy = cr.AllocationStrategy,
        InstanceRole = cr.InstanceRole,
        Ec2KeyPair = cr.Ec2KeyPair,
        BidPercentage = cr.BidPercentage,
        SpotIamFleetRole = cr.SpotIamFleetRole,
        Subnets = cr.Subnets,
        SecurityGroupIds = cr.SecurityGroupIds,
        Tags = cr.Tags,
    };

    private async Task<Result<ComputeEnvironment>> UpdateOnceAsync(UpdateComputeEnvironmentRequest r, CancellationToken ct)
    {
        if (string.IsNullOrWhiteSpace(r.ComputeEnvironment))
        {
            return new ValidationFailed("computeEnvironment", "Compute environment (name or ARN) is required.");
        }

        var name = Arns.NameFrom(r.ComputeEnvironment, "compute-environment");
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var ce = await db.ComputeEnvironments.FirstOrDefaultAsync(c => c.Name == name, ct);
        if (ce is null)
        {
            return new ResourceNotFound("Compute environment", name);
        }

        var errors = new List<FieldError>();
        if (r.State is not null && !IsState(r.State))
        {
            errors.Add(new("state", $"State must be ENABLED or DISABLED, not '{r.State}'."));
        }

        if (r.ComputeResources is not null && ce.Type == ComputeEnvironmentType.Unmanaged)
        {
            errors.Add(new("computeResources", $"Compute environment {name} is UNMANAGED; it has no compute resources to update."));
        }

        if (r.UnmanagedvCpus is not null && ce.Type == ComputeEnvironmentType.Managed)
        {
            errors.Add(new("unmanagedvCpus", $"Compute environment {name} is MANAGED; set computeResources.maxvCpus instead."));
        }
        else if (r.UnmanagedvCpus is <= 0)
        {
            errors.Add(new("unmanagedvCpus", "An unmanaged compute environment needs its capacity: vCPUs must be greater than 0."));
        }

        Add(errors, "dockerEndpoint", CheckDockerEndpoint(r.DockerEndpoint));

        var resources = ce.ComputeResources;
        if (r.ComputeResources is { } u && resources is not null)
        {
            resources = new ComputeResources
            {
                Type = u.Type?.ToUpperInvariant() ?? resources.Type,
                MinvCpus = u.MinvCpus ?? resources.MinvCpus,
                MaxvCpus = u.MaxvCpus ?? resources.MaxvCpus,
                DesiredvCpus = u.DesiredvCpus ?? resources.DesiredvCpus,
                InstanceTypes = u.InstanceTypes ?? resources.InstanceTypes,
                AllocationStrategy = u.AllocationStrategy ?? resources.AllocationStrategy,
                InstanceRole = u.InstanceRole ?? resources.InstanceRole,
                Ec2KeyPair = u.Ec2KeyPair ?? resources.Ec2KeyPair,
                BidPercentage = u.BidPercentage ?? resources.BidPercentage,
                SpotIamFleetRole = resources.SpotIamFleetRole,
                Subnets = resources.Subnets,
                SecurityGroupIds = resources.SecurityGroupIds,
                Tags = resources.Tags,
            };

            // Desired follows the jobs that run; an update that moves min or max keeps it inside the new range.
            if (u.DesiredvCpus is null)
            {
                resources.DesiredvCpus = Math.Clamp(resources.DesiredvCpus ?? 0, resources.MinvCpus ?? 0, Math.Max(resources.MinvCpus ?? 0, resources.MaxvCpus));
            }

            ValidateComputeResources(resources, errors);
        }

        if (errors.Count > 0)
        {
            return new ValidationFailed(errors);
        }

        ce.State = ParseState(r.State) ?? ce.State;
        ce.ComputeResources = resources;
        ce.UnmanagedvCpus = r.UnmanagedvCpus ?? ce.UnmanagedvCpus;
        ce.ServiceRole = r.ServiceRole ?? ce.ServiceRole;
        if (r.DockerEndpoint is not null)
        {
            ce.DockerEndpoint = NullIfEmpty(r.DockerEndpoint);
        }

        await db.SaveChangesAsync(ct);
        await ChangedAsync(ce.Name);
        return ce;
    }

    public async Task<Result<ComputeEnvironment>> SetStateAsync(string nameOrArn, ResourceState state, Actor? by = null, CancellationToken ct = default)
    {
        if (AccessPolicy.Refuse(by, Permission.ManageComputeEnvironments, "UpdateComputeEnvironment") is { } refused)
        {
            return refused;
        }

        var result = await SetStateUnauditedAsync(nameOrArn, state, ct);
        if (result.IsSuccess)
        {
            await audit.RecordAsync(by, "UpdateComputeEnvironment", nameOrArn, $"state {state}", ct);
        }

        return result;
    }

    private Task<Result<ComputeEnvironment>> SetStateUnauditedAsync(string nameOrArn, ResourceState state, CancellationToken ct) =>
        OnConflict.RetryAsync(() => SetStateOnceAsync(nameOrArn, state, ct));

    private async Task<Result<ComputeEnvironment>> SetStateOnceAsync(string nameOrArn, ResourceState state, CancellationToken ct)
    {
        var name = Arns.NameFrom(nameOrArn, "compute-environment");
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var ce = await db.ComputeEnvironments.FirstOrDefaultAsync(c => c.Name == name, ct);
        if (ce is null)
        {
            return new ResourceNotFound("Compute environment", name);
        }

        ce.State = state;
        await db.SaveChangesAsync(ct);
        await ChangedAsync(ce.Name);
        return ce;
    }

    /// <summary>AWS's rule: only a DISABLED environment that no job queue uses can be deleted.</summary>
    public async Task<Result<bool>> DeleteAsync(string nameOrArn, Actor? by = null, CancellationToken ct = default)
    {
        if (AccessPolicy.Refuse(by, Permission.ManageComputeEnvironments, "DeleteComputeEnvironment") is { } refused)
        {
            return refused;
        }

        var result = await DeleteUnauditedAsync(nameOrArn, ct);
        if (result.IsSuccess)
        {
            await audit.RecordAsync(by, "DeleteComputeEnvironment", nameOrArn, null, ct);
        }

        return result;
    }

    private Task<Result<bool>> DeleteUnauditedAsync(string nameOrArn, CancellationToken ct) =>
        OnConflict.RetryAsync(() => DeleteOnceAsync(nameOrArn, ct));

    private async Task<Result<bool>> DeleteOnceAsync(string nameOrArn, CancellationToken ct)
    {
        var name = Arns.NameFrom(nameOrArn, "compute-environment");
        await using var db = await dbFactory.CreateDbContextAsync(ct);
        var ce = await db.ComputeEnvironments.FirstOrDefaultAsync(c => c.Name == name, ct);
        if (ce is null)
        {
            return new ResourceNotFound("Compute environment", name);
        }

        if (ce.State != ResourceState.Disabled)
        {
            return new ResourceConflict($"Cannot delete compute environment {name}: disable it first.");
        }

        var queues = (await db.JobQueues.AsNoTracking().ToListAsync(ct))
            .Where(q => q.ComputeEnvironmentOrder.Any(o => o.ComputeEnvironment == name))
            .Select(q => q.Name)
            .ToList();
        if (queues.Count > 0)
        {
            return new ResourceConflict($"Cannot delete, found existing JobQueue relationship: compute environment {name} is used by job queue {string.Join(", ", queues)}.");
        }

        var busy = await jobs.CountHoldingCapacityAsync(name, ct);
        if (busy > 0)
        {
            return new ResourceConflict($"Cannot delete compute environment {name}: {busy} job(s) still run on it.");
        }

        // DELETING → gone, as AWS reports it.
        ce.Status = ResourceStatus.Deleting;
        ce.StatusReason = "Deleting";
        await db.SaveChangesAsync(ct);
        await ChangedAsync(name);
        db.ComputeEnvironments.Remove(ce);
        await db.SaveChangesAsync(ct);
        await ChangedAsync(name);
        return true;
    }

    internal static void ValidateComputeResources(ComputeResources cr, List<FieldError> errors)
    {
        if (!ProvisioningModels.Contains(cr.Type?.ToUpperInvariant()))
        {
            errors.Add(new("computeResources.type", $"Provisioning model must be EC2 (On-Demand) or SPOT, not '{cr.Type}'."));
        }

        if (cr.MaxvCpus <= 0)
        {
            errors.Add(new("computeResources.maxvCpus", $"Maximum vCPUs must be greater than 0, not {cr.MaxvCpus}."));
        }

        if (cr.MinvCpus is < 0)
        {
            errors.Add(new("computeResources.minvCpus", $"Minimum vCPUs cannot be negative ({cr.MinvCpus})."));
        }

        var min = cr.MinvCpus ?? 0;
        if (min > cr.MaxvCpus && cr.MaxvCpus > 0)
        {
            errors.Add(new("computeResources.minvCpus", $"Minimum vCPUs ({min}) cannot be more than Maximum vCPUs ({cr.MaxvCpus})."));
        }

        if (cr.DesiredvCpus is { } desired)
        {
            if (desired < min)
            {
                errors.Add(new("computeResources.desiredvCpus", $"Desired vCPUs ({desired}) cannot be less than Minimum vCPUs ({min})."));
            }
            else if (desired > cr.MaxvCpus && cr.MaxvCpus > 0)
            {
                errors.Add(new("computeResources.desiredvCpus", $"Desired vCPUs ({desired}) cannot be more than Maximum vCPUs ({cr.MaxvCpus})."));
            }
        }

        foreach (var type in cr.InstanceTypes.Where(t => !InstanceTypes.IsKnown(t)))
        {
            errors.Add(new("computeResources.instanceTypes", $"Instance type '{type}' is not offered: use optimal, a family (m4, c4, r4) or a size such as m4.large."));
        }

        if (cr.AllocationStrategy is { } strategy && !InstanceTypes.AllocationStrategies.Contains(strategy))
        {
            errors.Add(new("computeResources.allocationStrategy", $"Allocation strategy must be one of {string.Join(", ", InstanceTypes.AllocationStrategies)}, not '{strategy}'."));
        }
        else if (cr.AllocationStrategy?.StartsWith("SPOT_", StringComparison.Ordinal) == true && !string.Equals(cr.Type, "SPOT", StringComparison.OrdinalIgnoreCase))
        {
            errors.Add(new("computeResources.allocationStrategy", $"Allocation strategy {cr.AllocationStrategy} is for Spot; On-Demand uses BEST_FIT or BEST_FIT_PROGRESSIVE."));
        }

        if (cr.BidPercentage is < 0 or > 100)
        {
            errors.Add(new("computeResources.bidPercentage", $"Maximum price must be a percentage from 0 to 100, not {cr.BidPercentage}."));
        }
    }

    internal static string? CheckDockerEndpoint(string? endpoint)
    {
        if (string.IsNullOrWhiteSpace(endpoint))
        {
            return null;
        }

        return Uri.TryCreate(endpoint, UriKind.Absolute, out var uri) && uri.Scheme is "unix" or "tcp" or "http" or "https" or "npipe"
            ? null
            : $"Docker endpoint '{endpoint}' must be a unix:///path/to/docker.sock or tcp://host:port address.";
    }

    internal static void ValidateTags(Dictionary<string, string>? tags, List<FieldError> errors)
    {
        if (tags is null)
        {
            return;
        }

        if (tags.Count > 50)
        {
            errors.Add(new("tags", $"At most 50 tags are allowed ({tags.Count} given)."));
        }

        foreach (var (key, value) in tags)
        {
            if (key.Length is < 1 or > 128)
            {
                errors.Add(new("tags", $"Tag key '{key}' must be 1 to 128 characters."));
            }
            else if (key.StartsWith("aws:", StringComparison.OrdinalIgnoreCase))
            {
                errors.Add(new("tags", $"Tag key '{key}' may not start with 'aws:', which AWS reserves."));
            }

            if (value?.Length > 256)
            {
                errors.Add(new("tags", $"The value of tag '{key}' must be at most 256 characters."));
            }
        }
    }

    internal static bool IsState(string? s) => ParseState(s) is not null;

    internal static ResourceState? ParseState(string? s) => s?.ToUpperInvariant() switch
    {
        "ENABLED" => ResourceState.Enabled,
        "DISABLED" => ResourceState.Disabled,
        _ => null,
    };

    private static void Add(List<FieldError> errors, string field, string? message)
    {
        if (message is not null)
        {
            errors.Add(new FieldError(field, message));
        }
    }

    private static string? NullIfEmpty(string? s) => string.IsNullOrWhiteSpace(s) ? null : s.Trim();

    private async Task ChangedAsync(string name)
    {
        await events.PublishAsync(new ResourceChanged("compute-environment", name));
    }
}
