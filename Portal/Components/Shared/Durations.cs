using System.Globalization;
using BatchPortal.Engine.Domain;

namespace BatchPortal.Portal.Components.Shared;

/// <summary>Time spans as people read them: <c>850 ms</c>, <c>42 s</c>, <c>3 min 05 s</c>, <c>2 h 07 min</c>, <c>3 d 4 h</c>.</summary>
public static class Durations
{
    public static string Format(TimeSpan span)
    {
        if (span < TimeSpan.Zero)
        {
            span = TimeSpan.Zero;
        }

        var c = CultureInfo.InvariantCulture;
        return span.TotalSeconds switch
        {
            < 1 => string.Create(c, $"{span.Milliseconds} ms"),
            < 60 => string.Create(c, $"{(int)span.TotalSeconds} s"),
            < 3600 => string.Create(c, $"{span.Minutes} min {span.Seconds:00} s"),
            < 86400 => string.Create(c, $"{span.Hours} h {span.Minutes:00} min"),
            _ => string.Create(c, $"{(int)span.TotalDays} d {span.Hours} h"),
        };
    }

    /// <summary>How long a job ran (or has run, while it runs); null when it never started.</summary>
    public static TimeSpan? RunTime(Job job, DateTimeOffset now) =>
        job.StartedAt is { } started ? (job.StoppedAt ?? now) - started : null;

    /// <summary>How long a job waited from submission to its (last) start, or has waited so far.</summary>
    public static TimeSpan? WaitTime(Job job, DateTimeOffset now) =>
        job.StartedAt is { } started ? started - job.CreatedAt : job.Status.IsFinal() ? null : now - job.CreatedAt;
}
