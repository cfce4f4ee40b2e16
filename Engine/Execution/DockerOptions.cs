using System.ComponentModel.DataAnnotations;

namespace BatchPortal.Engine.Execution;

/// <summary>How the engine reaches Docker (section <c>Engine:Docker</c>).</summary>
public sealed class DockerOptions
{
    public const string Section = "Engine:Docker";

    /// <summary>The default engine, used by compute environments that name none: <c>unix:///...</c> or <c>tcp://host:port</c>.</summary>
    [Required(AllowEmptyStrings = false, ErrorMessage = "Engine:Docker:Endpoint is required, e.g. unix:///var/run/docker.sock.")]
    public string Endpoint { get; set; } = "unix:///var/run/docker.sock";

    /// <summary>The container network mode; empty for the engine's default.</summary>
    public string? NetworkMode { get; set; }

    /// <summary>Pull an image that is not present locally before starting the container.</summary>
    public bool PullMissingImages { get; set; } = true;

    [Range(typeof(TimeSpan), "00:00:01", "01:00:00", ErrorMessage = "Engine:Docker:PullTimeout must be between 1 second and 1 hour.")]
    public TimeSpan PullTimeout { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>How long a call may wait for the engine before it counts as unreachable.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:05:00", ErrorMessage = "Engine:Docker:RequestTimeout must be between 100 ms and 5 minutes.")]
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How often each endpoint's health is checked.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:10:00", ErrorMessage = "Engine:Docker:HealthCheckInterval must be between 100 ms and 10 minutes.")]
    public TimeSpan HealthCheckInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Between SIGTERM and SIGKILL when a container is stopped (AWS waits 30 s).</summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:10:00", ErrorMessage = "Engine:Docker:StopGracePeriod must be between 0 and 10 minutes.")]
    public TimeSpan StopGracePeriod { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// How often the engine's own Docker calls are tried again when the engine does not answer (after 0.2, 0.4, 0.8,
    /// 1.6 s ...). A call that blips is the engine's problem, never the job's. 0 turns retries off.
    /// </summary>
    [Range(0, 10, ErrorMessage = "Engine:Docker:Retries must be between 0 and 10.")]
    public int Retries { get; set; } = 4;

    /// <summary>How often every running job is checked against what its Docker engine has (and leftovers removed).</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:10:00", ErrorMessage = "Engine:Docker:ReconcileInterval must be between 100 ms and 10 minutes.")]
    public TimeSpan ReconcileInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Keep exited containers instead of removing them once their logs are stored (for debugging).</summary>
    public bool KeepContainers { get; set; }

    /// <summary>
    /// Containers start with <c>no-new-privileges</c>: a process in them cannot gain privileges through a setuid binary
    /// (sudo, su). A definition that needs that is for a host set to <c>false</c>.
    /// </summary>
    public bool NoNewPrivileges { get; set; } = true;

    /// <summary>The most processes a job's container may run at once (a fork bomb stops there, not at the host's limit); 0 for no limit.</summary>
    [Range(0, 4_194_304, ErrorMessage = "Engine:Docker:PidsLimit must be between 0 (no limit) and 4194304.")]
    public long PidsLimit { get; set; } = 4096;
}
