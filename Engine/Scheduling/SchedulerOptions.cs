using System.ComponentModel.DataAnnotations;

namespace BatchPortal.Engine.Scheduling;

/// <summary>Dispatcher settings (section <c>Engine:Scheduler</c>).</summary>
public sealed class SchedulerOptions
{
    public const string Section = "Engine:Scheduler";

    /// <summary>
    /// The safety-net pass when no event woke the dispatcher. Events (submit, finish, Docker coming back) wake it at
    /// once, so this only matters for changes made outside the portal.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:10:00", ErrorMessage = "Engine:Scheduler:PollInterval must be between 100 ms and 10 minutes.")]
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>How many RUNNABLE jobs one pass considers, in dispatch order.</summary>
    [Range(1, 100_000, ErrorMessage = "Engine:Scheduler:MaxJobsPerPass must be between 1 and 100000.")]
    public int MaxJobsPerPass { get; set; } = 1_000;
}
