using System.ComponentModel.DataAnnotations;

namespace BatchPortal.Engine.Dispatch;

/// <summary>Dispatcher settings (section <c>Engine:Scheduler</c>, its name from before the folder was renamed).</summary>
public sealed class DispatchOptions
{
    public const string Section = "Engine:Scheduler";

    /// <summary>
    /// The safety-net pass when no event woke the dispatcher. Events (submit, finish, Docker coming back) wake it at
    /// once, so this only matters for changes made outside the portal.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:10:00", ErrorMessage = "Engine:Scheduler:PollInterval must be between 100 ms and 10 minutes.")]
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// The least time from the start of one pass to the start of the next. An idle engine answers an event at once; under
    /// load (hundreds of submissions a second) each pass then takes every job that arrived meanwhile, instead of one
    /// pass per submission whose fixed cost (a dozen queries) outweighs the work. 0 turns it off.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:00:01", ErrorMessage = "Engine:Scheduler:MinPassInterval must be between 0 and 1 second.")]
    public TimeSpan MinPassInterval { get; set; } = TimeSpan.FromMilliseconds(20);

    /// <summary>How many RUNNABLE jobs one pass considers, in dispatch order.</summary>
    [Range(1, 100_000, ErrorMessage = "Engine:Scheduler:MaxJobsPerPass must be between 1 and 100000.")]
    public int MaxJobsPerPass { get; set; } = 1_000;
}
