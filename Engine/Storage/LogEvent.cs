namespace BatchPortal.Engine.Storage;

/// <summary>One line a job's container wrote, in the order Docker returned it.</summary>
public sealed class LogEvent
{
    public long Id { get; private set; }

    public required string JobId { get; init; }

    public required int Attempt { get; init; }

    /// <summary>stdout or stderr.</summary>
    public required string Stream { get; init; }

    public required DateTimeOffset Timestamp { get; init; }

    /// <summary>Docker's timestamp of the line's first message, in Unix nanoseconds: what a read again is matched on.</summary>
    public long Nanos { get; init; }

    public required string Message { get; init; }
}
