using System.Globalization;

namespace BatchPortal.Engine.Domain;

/// <summary>AWS's <c>containerProperties</c>, with the members that mean something on a Docker host.</summary>
public sealed class ContainerProperties
{
    public string? Image { get; set; }

    public List<string> Command { get; set; } = [];

    public List<EnvironmentVariable> Environment { get; set; } = [];

    public List<ResourceRequirement> ResourceRequirements { get; set; } = [];

    /// <summary>Legacy <c>vcpus</c>; <see cref="ResourceRequirements"/> wins when both are given.</summary>
    public int? Vcpus { get; set; }

    /// <summary>Legacy <c>memory</c> in MiB.</summary>
    public int? Memory { get; set; }

    public string? JobRoleArn { get; set; }

    public string? ExecutionRoleArn { get; set; }

    public string? User { get; set; }

    public bool? Privileged { get; set; }

    public bool? ReadonlyRootFilesystem { get; set; }

    public List<Volume> Volumes { get; set; } = [];

    public List<MountPoint> MountPoints { get; set; } = [];

    public List<Ulimit> Ulimits { get; set; } = [];

    [System.Text.Json.Serialization.JsonIgnore]
    public double EffectiveVcpus =>
        ReadRequirement("VCPU") is { } v && double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) ? d : Vcpus ?? 1;

    [System.Text.Json.Serialization.JsonIgnore]
    public int EffectiveMemoryMiB =>
        ReadRequirement("MEMORY") is { } v && int.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out var m) ? m : Memory ?? 0;

    public string? ReadRequirement(string type) =>
        ResourceRequirements.FirstOrDefault(r => string.Equals(r.Type, type, StringComparison.OrdinalIgnoreCase))?.Value;

    public void SetRequirement(string type, string value)
    {
        ResourceRequirements.RemoveAll(r => string.Equals(r.Type, type, StringComparison.OrdinalIgnoreCase));
        ResourceRequirements.Add(new ResourceRequirement { Type = type, Value = value });
    }

    public ContainerProperties Clone() => new()
    {
        Image = Image,
        Command = [.. Command],
        Environment = [.. Environment.Select(e => new EnvironmentVariable { Name = e.Name, Value = e.Value })],
        ResourceRequirements = [.. ResourceRequirements.Select(r => new ResourceRequirement { Type = r.Type, Value = r.Value })],
        Vcpus = Vcpus,
        Memory = Memory,
        JobRoleArn = JobRoleArn,
        ExecutionRoleArn = ExecutionRoleArn,
        User = User,
        Privileged = Privileged,
        ReadonlyRootFilesystem = ReadonlyRootFilesystem,
        Volumes = [.. Volumes.Select(v => new Volume { Name = v.Name, Host = v.Host is null ? null : new Host { SourcePath = v.Host.SourcePath } })],
        MountPoints = [.. MountPoints.Select(m => new MountPoint { SourceVolume = m.SourceVolume, ContainerPath = m.ContainerPath, ReadOnly = m.ReadOnly })],
        Ulimits = [.. Ulimits.Select(u => new Ulimit { Name = u.Name, SoftLimit = u.SoftLimit, HardLimit = u.HardLimit })],
    };
}

public sealed class EnvironmentVariable
{
    public string? Name { get; set; }

    public string? Value { get; set; }
}

public sealed class ResourceRequirement
{
    public string? Type { get; set; }

    public string? Value { get; set; }
}

public sealed class Volume
{
    public string? Name { get; set; }

    public Host? Host { get; set; }
}

public sealed class Host
{
    public string? SourcePath { get; set; }
}

public sealed class MountPoint
{
    public string? SourceVolume { get; set; }

    public string? ContainerPath { get; set; }

    public bool? ReadOnly { get; set; }
}

public sealed class Ulimit
{
    public string? Name { get; set; }

    public int SoftLimit { get; set; }

    public int HardLimit { get; set; }
}

public sealed class RetryStrategy
{
    public int? Attempts { get; set; }

    public List<EvaluateOnExit> EvaluateOnExit { get; set; } = [];
}

public sealed class EvaluateOnExit
{
    public string? OnStatusReason { get; set; }

    public string? OnReason { get; set; }

    public string? OnExitCode { get; set; }

    public string? Action { get; set; }
}

public sealed class JobTimeout
{
    public int? AttemptDurationSeconds { get; set; }
}
