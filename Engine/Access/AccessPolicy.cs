using BatchPortal.Engine.Domain;

namespace BatchPortal.Engine.Access;

/// <summary>Who someone is to the portal: each role may do what the one before it may, and more.</summary>
public enum Role
{
    /// <summary>Reads everything: the board, jobs and their logs, resources, the live hub.</summary>
    Viewer,

    /// <summary>Also runs work: submits, cancels, terminates, tags jobs, registers job definitions that are not privileged.</summary>
    Operator,

    /// <summary>Also changes the platform: compute environments, queues, schedules, privileged definitions, endpoints, users and keys.</summary>
    Admin,
}

/// <summary>Everything the console, the API and the hub let someone do, as the policy names it.</summary>
public enum Permission
{
    Read,
    SubmitJob,
    StopJob,
    TagJob,
    RegisterJobDefinition,
    RegisterPrivilegedJobDefinition,
    DeregisterJobDefinition,
    RunSchedule,
    PauseSchedule,
    ManageSchedules,
    ManageComputeEnvironments,
    ManageJobQueues,
    ManageDockerEndpoints,
    ManageUsers,
}

/// <summary>
/// The one decision of who may do what (issue #12's table), used by the API, the console and the hub alike: a caller
/// is allowed a permission when their role is at least the least role that holds it.
/// </summary>
public static class AccessPolicy
{
    /// <summary>The least role that holds each permission.</summary>
    public static Role LeastRoleFor(Permission permission) => permission switch
    {
        Permission.Read => Role.Viewer,
        Permission.SubmitJob or Permission.StopJob or Permission.TagJob => Role.Operator,
        Permission.RegisterJobDefinition or Permission.DeregisterJobDefinition => Role.Operator,
        Permission.RunSchedule or Permission.PauseSchedule => Role.Operator,
        Permission.RegisterPrivilegedJobDefinition => Role.Admin,
        Permission.ManageSchedules or Permission.ManageComputeEnvironments or Permission.ManageJobQueues => Role.Admin,
        Permission.ManageDockerEndpoints or Permission.ManageUsers => Role.Admin,
        _ => throw new ArgumentOutOfRangeException(nameof(permission), permission, "A permission the policy does not know."),
    };

    public static bool Allows(Role role, Permission permission) => role >= LeastRoleFor(permission);

    /// <summary>
    /// The refusal the engine's services answer when <paramref name="by"/> may not do <paramref name="operation"/>; null
    /// when they may, or when nobody is named (the engine's own calls). The API and the console ask before, this is
    /// the last word.
    /// </summary>
    public static AccessDenied? Refuse(Actor? by, Permission permission, string operation) =>
        by is null || Allows(by.Role, permission)
            ? null
            : new AccessDenied($"User: {by.Name} ({by.Role}) is not authorized to perform: batch:{operation}; it takes the {LeastRoleFor(permission)} role.");

    /// <summary>Tagging a resource takes what changing it takes: a job or a definition an Operator's, the rest an Admin's.</summary>
    public static Permission TaggingOf(string arn) =>
        arn.Contains(":job/", StringComparison.Ordinal) ? Permission.TagJob
        : arn.Contains(":job-definition/", StringComparison.Ordinal) ? Permission.RegisterJobDefinition
        : arn.Contains(":job-queue/", StringComparison.Ordinal) ? Permission.ManageJobQueues
        : arn.Contains(":scheduling-policy/", StringComparison.Ordinal) || arn.Contains(":schedule/", StringComparison.Ordinal) ? Permission.ManageSchedules
        : Permission.ManageComputeEnvironments;

    /// <summary>
    /// What a job definition's container asks of the Docker host beyond an ordinary job: each makes its registration an
    /// Admin's. Privileged mode, a host path mounted, or the user root (by name or as uid 0) is root on the host.
    /// </summary>
    public static IReadOnlyList<string> PrivilegesOf(ContainerProperties container)
    {
        var privileges = new List<string>();
        if (container.Privileged == true)
        {
            privileges.Add("privileged: true");
        }

        foreach (var volume in container.Volumes.Where(v => !string.IsNullOrEmpty(v.Host?.SourcePath)))
        {
            privileges.Add($"volume {volume.Name} mounts host path {volume.Host!.SourcePath}");
        }

        if (container.User is { } user && IsRoot(user))
        {
            privileges.Add($"user {user}");
        }

        return privileges;
    }

    private static bool IsRoot(string user)
    {
        var name = user.Split(':', 2)[0].Trim();
        return name is "root" or "0";
    }
}
