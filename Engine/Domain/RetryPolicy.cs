namespace BatchPortal.Engine.Domain;

/// <summary>AWS's retry rules: <c>retryStrategy.attempts</c> and the first matching <c>evaluateOnExit</c> entry.</summary>
public static class RetryPolicy
{
    /// <summary>
    /// Whether a failed attempt gets another: only while attempts remain, and then as the first <c>evaluateOnExit</c> entry
    /// whose conditions all match says; with no match the job is retried.
    /// </summary>
    public static bool ShouldRetry(Job job, int attempt, int? exitCode, string? reason, string? statusReason)
    {
        if (attempt >= job.MaxAttempts)
        {
            return false;
        }

        foreach (var rule in job.RetryStrategy?.EvaluateOnExit ?? [])
        {
            if (Matches(rule.OnExitCode, exitCode?.ToString(System.Globalization.CultureInfo.InvariantCulture))
                && Matches(rule.OnReason, reason)
                && Matches(rule.OnStatusReason, statusReason))
            {
                return string.Equals(rule.Action, "RETRY", StringComparison.OrdinalIgnoreCase);
            }
        }

        return true;
    }

    /// <summary>A pattern matches the whole value, or its start when it ends with <c>*</c>. A missing pattern matches anything.</summary>
    public static bool Matches(string? pattern, string? value)
    {
        if (pattern is null)
        {
            return true;
        }

        value ??= string.Empty;
        return pattern.EndsWith('*')
            ? value.StartsWith(pattern[..^1], StringComparison.Ordinal)
            : string.Equals(pattern, value, StringComparison.Ordinal);
    }
}
