using System.ComponentModel.DataAnnotations;

namespace BatchPortal.Engine.Storage;

/// <summary>How much of a container's output is kept (section <c>Engine:Logs</c>).</summary>
public sealed class LogOptions
{
    public const string Section = "Engine:Logs";

    /// <summary>
    /// The largest event: a longer line is stored as several events, in order, as the awslogs driver splits one for
    /// CloudWatch (whose events are at most 256 KiB). Bounds the memory one line can take while it is put together.
    /// </summary>
    [Range(1024, 1024 * 1024, ErrorMessage = "Engine:Logs:MaxEventBytes must be between 1024 and 1048576.")]
    public int MaxEventBytes { get; set; } = 256 * 1024;

    /// <summary>The output stored per attempt; what comes after is not stored, and the log ends with a line that says so.</summary>
    [Range(1024L, 1L << 40, ErrorMessage = "Engine:Logs:MaxBytesPerAttempt must be between 1 KiB and 1 TiB.")]
    public long MaxBytesPerAttempt { get; set; } = 1L << 30;
}
